"""Plain records the library hands out: rows as frozen dataclasses, never live cursors.

Records are built with keywords only (`FolderRecord(id=..., path=...)`): a row of fourteen
columns read by position is one swapped pair away from a wrong count on screen. States stored
as text in SQLite travel as enums whose values are that text (`AssignedBy.USER == "user"`, so
SQL parameters and old comparisons keep working).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

Box = tuple[float, float, float, float]  # x, y, w, h in original-image pixels


class AssignedBy(StrEnum):
    """How a face came to its person (faces.assigned_by)."""

    USER = "user"  # the user put it there: nothing automatic moves it
    SUGGESTION = "suggestion"  # the user said yes to a suggestion: as firm as USER
    AUTO = "auto"  # auto-assigned to a named person it clearly matches
    CLUSTER = "cluster"  # grouped by clustering

    @property
    def by_user(self) -> bool:
        """A decision of the user's (kept through every rescan and regrouping)."""
        return self in (AssignedBy.USER, AssignedBy.SUGGESTION)


class PhotoStatus(StrEnum):
    """A photo's scan outcome (photos.status)."""

    DONE = "done"  # analysed (it may have no face)
    ERROR = "error"  # could not be read: `error` says why


@dataclass(frozen=True, kw_only=True)
class FolderRecord:
    id: int
    path: str  # usable with open(); may hold undecodable bytes (show store.display_path)
    added_at: float
    last_scan_at: float | None
    scan_error: str | None
    photo_count: int  # analysed photos (stills); videos apart:
    face_count: int
    error_count: int
    offline_since: float | None = None  # the folder could not be read: its data is kept
    offline_count: int = 0  # photos in it (or in unreadable sub-folders) now offline
    missing_count: int = 0  # photos whose file is gone from a readable folder (prune them)
    pending_count: int = 0  # photos waiting for (re-)analysis
    scan_started_at: float | None = None
    listed_files: int | None = None  # image files found by the last listing
    unread_files: dict[str, int] = field(default_factory=dict)  # not read, by type: {'.psd': 10}
    video_count: int = 0  # analysed videos

    @property
    def scanned_count(self) -> int:
        """Files the scans went through: photos and videos, analysed or failed."""
        return self.photo_count + self.video_count + self.error_count

    @property
    def unread_summary(self) -> str:
        """'12 files Facefolio does not read: .psd x10, .xcf x2', or '' when none."""
        return unread_summary(self.unread_files)

    @property
    def offline(self) -> bool:
        return self.offline_since is not None

    @property
    def scan_incomplete(self) -> bool:
        """A scan started and did not finish (cancelled, crashed, app quit)."""
        return self.scan_started_at is not None and (
            self.last_scan_at is None or self.last_scan_at < self.scan_started_at)

    @property
    def has_new_photos(self) -> bool:
        """Never scanned, or a scan left unfinished: its next scan has photos to analyse,
        so the workers start while it is listed."""
        return self.last_scan_at is None or self.scan_incomplete


def unread_summary(counts: dict[str, int]) -> str:
    """'12 files Facefolio does not read: .psd x10, .xcf x2' (most common first)."""
    total = sum(counts.values())
    if not total:
        return ""
    kinds = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    files = "1 file" if total == 1 else f"{total} files"
    return f"{files} Facefolio does not read: " + ", ".join(f"{k} x{n}" for k, n in kinds)


@dataclass(frozen=True, kw_only=True)
class PhotoRecord:
    id: int
    folder_id: int
    path: str  # usable with open(); may hold undecodable bytes (show store.display_path)
    width: int | None
    height: int | None
    taken_at: str | None  # ISO 8601
    status: PhotoStatus
    error: str | None
    face_count: int
    offline: bool = False  # its folder (or a sub-folder) cannot be read right now
    missing: bool = False  # its folder was read and the file is not there (see prune)
    taken_at_source: str | None = None  # 'exif' or 'file' (file time: a guess)
    media: str = "photo"  # 'photo' or 'video' (by the file's extension)
    duration_ms: float | None = None  # a video's length (0: its file does not say)

    @property
    def is_video(self) -> bool:
        return self.media == "video"


@dataclass(frozen=True, kw_only=True)
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
    assigned_by: AssignedBy | None  # None: in no person
    source: str = "detector"  # 'detector', or 'user' for a face the user drew
    ignored: bool = False  # "not a face" / "ignore": hidden everywhere, kept for rescans
    time_ms: float | None = None  # a face of a video: its frame's time from the start
    in_video: bool = False  # the face is from a video (a drawn one may have no time)

    @property
    def frame_ms(self) -> float | None:
        """Which frame of its video shows this face (None: a photo's face)."""
        return (self.time_ms or 0.0) if self.in_video else None


@dataclass(frozen=True, kw_only=True)
class PersonRecord:
    id: int
    name: str | None
    hidden: bool
    cover_face_id: int | None
    face_count: int
    birth_date: str | None = None  # 'YYYY-MM-DD', the user's (people/birthdays.py)

    @property
    def display_name(self) -> str:
        return self.name or "Unnamed"


@dataclass(frozen=True, kw_only=True)
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
