"""Per-library preferences: one typed object saved as settings.json in the library folder.

settings.json is the user's to edit, so what is read from it is checked against `SCHEMA`: a
value of the wrong type or out of its range is replaced by the default with a warning (shown
by `facefolio status` and the app), keys this version does not know are kept as they are and
written back, and a file that is not a JSON object is replaced by defaults (with a warning).
The number of scan workers is clamped to the cores this process may use.
"""
from __future__ import annotations

import errno
import json
import math
import os
import stat
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

# Where the library lives when no --library is given.
ENV_LIBRARY = "FACEFOLIO_LIBRARY"


def default_library_dir() -> Path:
    env = os.environ.get(ENV_LIBRARY)
    if env:
        return Path(env).expanduser()
    import platformdirs  # noqa: PLC0415
    return Path(platformdirs.user_data_dir("Facefolio", appauthor=False)) / "library"

SETTINGS_NAME = "settings.json"
SETTINGS_VERSION = 1
OLD_DEFAULT_DET_THRESHOLD = 0.6  # the default until December 2026


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Settings:
    schema_version: int = SETTINGS_VERSION
    pack: str = "yunet-sface"
    # engine.DEFAULT_DET_THRESHOLD (why 0.70). Libraries analysed under the old default
    # keep it (`pin_old_default`): raising it drops faces, which the user decides.
    det_threshold: float = 0.7
    min_face: int = 20  # pixels in the original photo
    min_cluster_faces: int = 3
    write_xmp: bool = False
    scan_workers: int = 0  # 0: as many as the cores this process may use allow
    # Estimated ages and genders (people/ages.py): False estimates none and shows, exports
    # and searches by none (those already made stay in the library, hidden).
    age_gender: bool = True
    # Keys of settings.json this version does not know (a newer Facefolio's): kept verbatim.
    extra: dict = field(default_factory=dict, compare=False, repr=False)
    # What was wrong with settings.json when it was read (one line each); not saved.
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)
    # False when there was no settings.json: every value is this version's default.
    saved: bool = field(default=True, compare=False, repr=False)

    def analysis_key(self) -> str:
        """What makes a photo's faces: pack, detection threshold, minimum face size. A photo
        analysed under another key is re-analysed by the next scan (decisions carried)."""
        return f"{self.pack}|{self.det_threshold:g}|{int(self.min_face)}"

    @classmethod
    def load(cls, library_dir: Path) -> Settings:
        path = library_dir / SETTINGS_NAME
        try:
            text = _read_own(path)
        except FileNotFoundError:
            return cls(saved=False)
        except _NotOwn as exc:
            return cls(warnings=[f"{SETTINGS_NAME} {exc}: it was not read; using the default "
                                 "settings"])
        except (OSError, UnicodeError) as exc:
            return cls(warnings=[f"{SETTINGS_NAME} cannot be read ({_why(exc)}): "
                                 "using the default settings"])
        try:
            raw = json.loads(text)
        except ValueError as exc:
            return cls(warnings=[f"{SETTINGS_NAME} is not valid JSON ({exc}): using the "
                                 "default settings"])
        return cls.from_json(raw)

    @classmethod
    def from_json(cls, raw: object) -> Settings:
        """Settings from parsed JSON: every value checked against SCHEMA."""
        if not isinstance(raw, dict):
            return cls(warnings=[f"{SETTINGS_NAME} holds {type(raw).__name__} "
                                 f"{_short(raw)}, not an object of settings: using the "
                                 "default settings"])
        settings = cls()
        known = {f.name for f in fields(cls)} - {"extra", "warnings", "saved", "schema_version"}
        for key, value in raw.items():
            if key == "schema_version":
                continue
            if key not in known:
                settings.extra[key] = value
                continue
            checked, problem = _check(key, value, getattr(settings, key))
            setattr(settings, key, checked)
            if problem:
                settings.warnings.append(f"{SETTINGS_NAME}: {key} {problem}")
        cores = available_cores()
        if settings.scan_workers > cores:
            settings.warnings.append(
                f"{SETTINGS_NAME}: scan_workers {settings.scan_workers} is more than the "
                f"{cores} cores available: using {cores}")
            settings.scan_workers = cores
        return settings

    def pin_old_default(self, old_keys: set[str]) -> bool:
        """Without a settings.json, keep the detection threshold of an older version's
        default when photos were analysed under it (`old_keys`: their analysis keys), so an
        upgrade drops no face. True when it did: the caller saves the settings."""
        if self.saved:
            return False
        old = replace(self, det_threshold=OLD_DEFAULT_DET_THRESHOLD)
        if old.analysis_key() not in old_keys or self.analysis_key() in old_keys:
            return False
        self.det_threshold = OLD_DEFAULT_DET_THRESHOLD
        return True

    def to_json(self) -> dict:
        values = {k: v for k, v in asdict(self).items()
                  if k not in ("extra", "warnings", "saved")}
        return {**self.extra, **values}

    def save(self, library_dir: Path) -> None:
        from .privacy import write_private  # noqa: PLC0415

        write_private(library_dir / SETTINGS_NAME,
                      json.dumps(self.to_json(), indent=2).encode("utf-8"))


# key -> (type, lowest, highest); None: no bound.
SCHEMA: dict[str, tuple[type, float | None, float | None]] = {
    "pack": (str, None, None),
    "det_threshold": (float, 0.05, 0.99),
    "min_face": (int, 1, 10_000),
    "min_cluster_faces": (int, 2, 10_000),
    "write_xmp": (bool, None, None),
    "scan_workers": (int, 0, None),  # then clamped to the cores available
    "age_gender": (bool, None, None),
}


def _check(key: str, value: object, default: object) -> tuple[object, str | None]:
    """(value to use, what was wrong or None)."""
    kind, low, high = SCHEMA[key]
    fallback = f"using the default {default!r}"
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:  # bool is an int in Python, not in settings.json
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str) and bool(value.strip()) and len(value) <= 100
    if not ok:
        return default, f"should be {_kind_word(kind)}, not {_short(value)}: {fallback}"
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        return default, f"{value!r} should be {bounds}: {fallback}"
    return value, None


def _kind_word(kind: type) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number",
            str: "a short text"}[kind]


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


MAX_SETTINGS_BYTES = 1 << 20


class _NotOwn(Exception):
    """settings.json is not a plain file of the library's own."""


def _read_own(path: Path) -> str:
    """The text of `path`, never followed out of the library through a link, never a pipe
    or a device (which could block the open for ever), never more than a megabyte."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise _NotOwn("is a link to another place") from exc
        raise
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise _NotOwn("is not a plain file")
        data = fh.read(MAX_SETTINGS_BYTES + 1)
    if len(data) > MAX_SETTINGS_BYTES:
        raise _NotOwn(f"is larger than {MAX_SETTINGS_BYTES >> 20} MB")
    return data.decode("utf-8")


def _why(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)
