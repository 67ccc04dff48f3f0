"""Qt item models over frozen library records. They hold ids and records, never connections;
records arrive from read tasks and are applied here on the GUI thread."""
from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)

from ..library import FaceRecord, Library, PersonRecord, PhotoRecord, PhotoStatus, SearchResult
from ..library.photos.browse import PhotoState
from . import words
from .roles import (
    PERSON_MIME,
    DimmedRole,
    FaceIdRole,
    HiddenRole,
    NameRole,
    PersonIdRole,
    PhotoIdRole,
    PhotoPathRole,
    RecordRole,
    SimilarityRole,
    SubtitleRole,
    VideoRole,
)
from .thumbnails import Key, ThumbnailProvider

Index = QModelIndex | QPersistentModelIndex
_DEC = Qt.ItemDataRole.DecorationRole


@dataclass(frozen=True)
class FaceItem:
    """One face tile: a library face, maybe with the similarity of a search, and what the
    tile says about its photo (date, offline)."""

    face_id: int
    photo_path: str
    box: tuple[float, float, float, float]
    person_id: int | None
    person_name: str | None
    similarity: float | None = None
    photo_id: int | None = None
    taken_at: str | None = None
    date_source: str | None = None
    offline: bool = False
    missing: bool = False
    frame_ms: float | None = None  # a face from a video: the time of its frame
    age: str = ""  # '4 years, 2 months old' (a date of birth), 'looks about 30 (an estimate)'

    @classmethod
    def from_record(cls, r: FaceRecord, state: PhotoState | None = None,
                    similarity: float | None = None) -> FaceItem:
        if state is None:
            return cls(r.id, r.photo_path, r.box, r.person_id, r.person_name, similarity,
                       r.photo_id, frame_ms=r.frame_ms)
        return cls(r.id, r.photo_path, r.box, r.person_id, r.person_name, similarity,
                   r.photo_id, state.taken_at, state.taken_at_source, state.offline,
                   state.missing, r.frame_ms)

    @property
    def who(self) -> str:
        if self.person_name:
            return self.person_name
        return "Unnamed" if self.person_id is not None else "Unknown"

    @property
    def photo_note(self) -> str:
        """"offline" / "missing" when the photo cannot be opened now, else its date."""
        if self.offline:
            return "offline"
        if self.missing:
            return "missing"
        return words.day(self.taken_at, self.date_source)


def face_items(library: Library, records: list[FaceRecord],
               similarity: dict[int, float] | None = None) -> list[FaceItem]:
    """Tiles for these faces with their photos' dates and state (run in a read task).
    Faces the user set aside ("not a face") are left out: they are hidden everywhere."""
    from ..library.photos.browse import photo_states  # noqa: PLC0415
    from ..library.photos.by_age import face_ages  # noqa: PLC0415
    kept = [r for r in records if not r.ignored]
    states = photo_states(library, [r.photo_id for r in kept])
    ages = face_ages(library, [r.id for r in kept])
    similarity = similarity or {}
    return [replace(FaceItem.from_record(r, states.get(r.photo_id), similarity.get(r.id)),
                    age=ages[r.id].phrase if r.id in ages else "") for r in kept]


def result_items(library: Library, results: list[SearchResult]) -> list[FaceItem]:
    """Search results as tiles, in their order, with the photos' state (offline marked)."""
    records = library.faces_by_ids([r.face_id for r in results])
    found = [records[r.face_id] for r in results if r.face_id in records]
    return face_items(library, found, {r.face_id: r.similarity for r in results})


class _TileListModel(QAbstractListModel):
    """Rows of records with a thumbnail; subclasses say which key and text a row has."""

    def __init__(self, thumbnails: ThumbnailProvider | None, parent=None) -> None:
        super().__init__(parent)
        self.rows: list = []
        self._row_of_key: dict[Key, list[int]] = {}
        self.thumbnails = thumbnails
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnails_ready)

    def key(self, record) -> Key | None:
        raise NotImplementedError

    def identity(self, record) -> int:
        raise NotImplementedError

    def set_rows(self, rows: list) -> None:
        """Replace the rows: a cheap dataChanged when only the contents moved on."""
        if [self.identity(r) for r in rows] == [self.identity(r) for r in self.rows]:
            changed = [i for i, (a, b) in enumerate(zip(self.rows, rows)) if a != b]
            self.rows = list(rows)
            self._reindex()
            if changed:
                self.dataChanged.emit(self.index(min(changed)), self.index(max(changed)))
            return
        self.beginResetModel()
        self.rows = list(rows)
        self._reindex()
        self.endResetModel()

    def merge_rows(self, rows: list) -> None:
        """Like `set_rows`, but rows already shown keep their places (their contents are
        updated), rows that went are removed and new ones added at the end: a view that
        updates while the user looks at it (a scan running) does not reorder under the
        cursor, and its selection and scroll position stay."""
        fresh = {self.identity(r): r for r in rows}
        gone = [i for i, r in enumerate(self.rows) if self.identity(r) not in fresh]
        for i in reversed(gone):
            self.beginRemoveRows(QModelIndex(), i, i)
            del self.rows[i]
            self.endRemoveRows()
        shown = {self.identity(r) for r in self.rows}
        changed = []
        for i, r in enumerate(self.rows):
            new = fresh[self.identity(r)]
            if new != r:
                self.rows[i] = new
                changed.append(i)
        added = [r for r in rows if self.identity(r) not in shown]
        if added:
            start = len(self.rows)
            self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
            self.rows.extend(added)
            self.endInsertRows()
        self._reindex()
        if changed:
            self.dataChanged.emit(self.index(min(changed)), self.index(max(changed)))

    def _reindex(self) -> None:
        self._row_of_key = {}
        for i, record in enumerate(self.rows):
            key = self.key(record)
            if key is not None:
                self._row_of_key.setdefault(key, []).append(i)

    def _thumbnails_ready(self, keys: list[Key]) -> None:
        rows = [i for k in keys for i in self._row_of_key.get(k, ())]
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)), [_DEC])

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        record = self.rows[index.row()]
        if role == _DEC:
            key = self.key(record)
            if key is None or self.thumbnails is None:
                return None
            return self.thumbnails.pixmap(key)  # None until the worker made it
        if role == RecordRole:
            return record
        return self.record_data(record, role)

    def record_data(self, record, role: int):
        return None


class PeopleListModel(_TileListModel):
    """People in library order (named A-Z, then unnamed by size). Drop people on a person
    to merge them: the model only reports the wish; the session does the merge."""

    mergeRequested = Signal(int, list)  # target person id, source person ids

    def key(self, record: PersonRecord) -> Key | None:
        return ("face", record.cover_face_id) if record.cover_face_id else None

    def identity(self, record: PersonRecord) -> int:
        return record.id

    def record_data(self, r: PersonRecord, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return r.display_name
        if role == SubtitleRole:
            n = r.face_count
            return f"{n} photo{'s' if n != 1 else ''}" + (" · hidden" if r.hidden else "")
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{r.display_name}: {r.face_count} faces"
        if role == PersonIdRole:
            return r.id
        if role == FaceIdRole:
            return r.cover_face_id
        if role == HiddenRole:
            return r.hidden
        if role == NameRole:
            return r.name
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base
        return base | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [PERSON_MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        data = QMimeData()
        ids = sorted({self.rows[i.row()].id for i in indexes if i.isValid()})
        data.setData(PERSON_MIME, QByteArray(",".join(map(str, ids)).encode()))
        return data

    def canDropMimeData(self, data, action, row, column, parent: Index) -> bool:
        return data.hasFormat(PERSON_MIME) and parent.isValid()

    def dropMimeData(self, data, action, row, column, parent: Index) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        target = self.rows[parent.row()].id
        raw = bytes(data.data(PERSON_MIME).data()).decode()
        sources = [int(t) for t in raw.split(",") if t and int(t) != target]
        if sources:
            self.mergeRequested.emit(target, sources)
        return False  # nothing moves in this model; a reload shows the merge


class PeopleFilterProxy(QSortFilterProxyModel):
    """Filter by name and hide hidden people; keeps the library's order."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.show_hidden = False
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def set_show_hidden(self, show: bool) -> None:
        _refilter(self, lambda: setattr(self, "show_hidden", show))

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        index = self.sourceModel().index(row, 0, parent)
        if not self.show_hidden and index.data(HiddenRole):
            return False
        text = self.filterRegularExpression().pattern()
        return not text or super().filterAcceptsRow(row, parent)


class FaceListModel(_TileListModel):
    """Face tiles: a person's faces, unknown faces or search results (with similarity).
    On a person's own page the name would repeat on every tile: `by_photo` titles tiles
    with the photo's file name instead."""

    def __init__(self, thumbnails: ThumbnailProvider | None, parent=None,
                 by_photo: bool = False) -> None:
        super().__init__(thumbnails, parent)
        self.by_photo = by_photo

    def key(self, record: FaceItem) -> Key:
        return ("face", record.face_id)

    def identity(self, record: FaceItem) -> int:
        return record.face_id

    def record_data(self, r: FaceItem, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            if r.similarity is not None:
                return f"{r.similarity:.0%} similar"
            return words.file_name(r.photo_path) if self.by_photo else r.who
        if role == SubtitleRole:
            if r.similarity is not None:
                # Search results: who it is and which photo (the file name tells the user
                # whether two hits are one photo), and whether it can be opened now.
                state = "offline" if r.offline else "missing" if r.missing else ""
                return " · ".join(t for t in (r.who, words.file_name(r.photo_path), state) if t)
            note = r.photo_note
            if r.frame_ms is not None:  # which moment of the video: "12 May 2024 · 0:03"
                note = " · ".join(t for t in (note, words.clock(r.frame_ms)) if t)
            if self.by_photo:
                return note or words.folder_name(r.photo_path)
            return " · ".join(t for t in (words.file_name(r.photo_path), note) if t)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [r.who, words.shown_path(r.photo_path)]
            if r.frame_ms is not None:
                lines.append(f"From a video, at {words.clock(r.frame_ms)}")
            if r.taken_at:
                lines.append(words.moment(r.taken_at, r.date_source))
            if r.age:
                lines.append(r.age[0].upper() + r.age[1:])
            if r.offline:
                lines.append("Offline: its drive or folder cannot be read now (kept)")
            elif r.missing:
                lines.append("Missing: the file is no longer in its folder")
            return "\n".join(lines)
        if role == FaceIdRole:
            return r.face_id
        if role == PersonIdRole:
            return r.person_id
        if role == SimilarityRole:
            return r.similarity
        if role == PhotoPathRole:
            return r.photo_path
        if role == NameRole:
            return r.person_name
        if role == DimmedRole:
            return r.offline or r.missing
        if role == VideoRole:
            return r.frame_ms is not None
        return None


class SimilarityFilterProxy(QSortFilterProxyModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.min_similarity = 0.0

    def set_min_similarity(self, value: float) -> None:
        _refilter(self, lambda: setattr(self, "min_similarity", value))

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        value = self.sourceModel().index(row, 0, parent).data(SimilarityRole)
        return value is None or value >= self.min_similarity


class PhotoListModel(_TileListModel):
    def key(self, record: PhotoRecord) -> Key:
        return ("photo", record.id)

    def identity(self, record: PhotoRecord) -> int:
        return record.id

    def record_data(self, r: PhotoRecord, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return words.file_name(r.path)
        if role == SubtitleRole:
            if r.status is PhotoStatus.ERROR:
                return "could not read"
            state = "offline" if r.offline else "missing" if r.missing else ""
            return " · ".join(t for t in (state or words.day(r.taken_at, r.taken_at_source),
                                          words.plural(r.face_count, "face")) if t)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [words.shown_path(r.path), words.moment(r.taken_at, r.taken_at_source)]
            if r.is_video:
                lines.append(f"Video, {words.clock(r.duration_ms)}")
            if r.offline:
                lines.append("Offline: its drive or folder cannot be read now (kept)")
            elif r.missing:
                lines.append("Missing: the file is no longer in its folder")
            if r.error:
                lines.append(r.error)
            return "\n".join(lines)
        if role == PhotoIdRole:
            return r.id
        if role == PhotoPathRole:
            return r.path
        if role == DimmedRole:
            return r.offline or r.missing
        if role == VideoRole:
            return r.is_video
        return None


def _refilter(proxy: QSortFilterProxyModel, change) -> None:
    """Change a filter setting and re-filter rows (Qt 6.9's API; pyproject asks >= 6.11)."""
    proxy.beginFilterChange()
    change()
    proxy.endFilterChange(QSortFilterProxyModel.Direction.Rows)
