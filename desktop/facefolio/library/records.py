"""Plain records the library hands out: rows as frozen dataclasses, never live cursors."""
from __future__ import annotations

from dataclasses import dataclass

Box = tuple[float, float, float, float]  # x, y, w, h in original-image pixels


@dataclass(frozen=True)
class FolderRecord:
    id: int
    path: str
    added_at: float
    last_scan_at: float | None
    scan_error: str | None
    photo_count: int
    face_count: int
    error_count: int


@dataclass(frozen=True)
class PhotoRecord:
    id: int
    folder_id: int
    path: str
    width: int | None
    height: int | None
    taken_at: str | None
    status: str  # 'done' or 'error'
    error: str | None
    face_count: int


@dataclass(frozen=True)
class FaceRecord:
    id: int
    photo_id: int
    photo_path: str
    box: Box
    score: float
    quality: float
    pack: str
    person_id: int | None
    person_name: str | None
    assigned_by: str | None  # 'user', 'suggestion', 'auto', 'cluster' or None


@dataclass(frozen=True)
class PersonRecord:
    id: int
    name: str | None
    hidden: bool
    cover_face_id: int | None
    face_count: int

    @property
    def display_name(self) -> str:
        return self.name or "Unnamed"


@dataclass(frozen=True)
class SearchResult:
    face_id: int
    photo: str
    box: Box
    similarity: float
    person_id: int | None
    person_name: str | None

    def to_json(self) -> dict:
        return {"face_id": self.face_id, "photo": self.photo, "box": list(self.box),
                "similarity": round(self.similarity, 6), "person_id": self.person_id,
                "person_name": self.person_name}
