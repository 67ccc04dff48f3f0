"""Item-data roles shared by the models and the delegate."""
from __future__ import annotations

from PySide6.QtCore import Qt

FaceIdRole = Qt.ItemDataRole.UserRole + 1  # the face whose crop the tile shows
PersonIdRole = Qt.ItemDataRole.UserRole + 2
SubtitleRole = Qt.ItemDataRole.UserRole + 3  # the tile's second line
SimilarityRole = Qt.ItemDataRole.UserRole + 4
PhotoPathRole = Qt.ItemDataRole.UserRole + 5
PhotoIdRole = Qt.ItemDataRole.UserRole + 6
HiddenRole = Qt.ItemDataRole.UserRole + 7
NameRole = Qt.ItemDataRole.UserRole + 8  # the real name, or None when unnamed
RecordRole = Qt.ItemDataRole.UserRole + 9  # the frozen record behind the row
DimmedRole = Qt.ItemDataRole.UserRole + 10  # the photo cannot be opened now (offline, missing)
VideoRole = Qt.ItemDataRole.UserRole + 11  # a video, or a face from one: a play badge

PERSON_MIME = "application/x-facefolio-person-ids"
