"""Per-library preferences: one typed object saved as settings.json in the library folder."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

SETTINGS_NAME = "settings.json"
SETTINGS_VERSION = 1


@dataclass
class Settings:
    schema_version: int = SETTINGS_VERSION
    pack: str = "yunet-sface"
    det_threshold: float = 0.6
    min_face: int = 20  # pixels in the original photo
    min_cluster_faces: int = 3
    write_xmp: bool = False
    scan_workers: int = 0  # 0: as many as the cores this process may use allow

    def analysis_key(self) -> str:
        """What makes a photo's faces: pack, detection threshold, minimum face size. A photo
        analysed under another key is re-analysed by the next scan (decisions carried)."""
        return f"{self.pack}|{self.det_threshold:g}|{int(self.min_face)}"

    @classmethod
    def load(cls, library_dir: Path) -> Settings:
        path = library_dir / SETTINGS_NAME
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["schema_version"] = SETTINGS_VERSION
        try:
            return cls(**values)
        except TypeError:
            return cls()

    def save(self, library_dir: Path) -> None:
        from .privacy import write_private  # noqa: PLC0415

        write_private(library_dir / SETTINGS_NAME,
                      json.dumps(asdict(self), indent=2).encode("utf-8"))
