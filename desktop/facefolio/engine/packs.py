"""The model packs Facefolio knows about; embeddings of different packs never mix."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PACK = "yunet-sface"


@dataclass(frozen=True)
class PackInfo:
    name: str
    dim: int
    match_threshold: float  # cosine similarity above which two faces are the same person
    licence: str
    description: str


_INSIGHTFACE_LICENCE = (
    "non-commercial research only (insightface model licence); not for commercial use"
)
# insightface ArcFace models: 0.4 is a widely used verification cut-off for the 512-d
# embeddings (not measured here: the packs are not installed in tests).
_ARCFACE_THRESHOLD = 0.4

PACKS: dict[str, PackInfo] = {
    "yunet-sface": PackInfo(
        name="yunet-sface",
        dim=128,
        # Upstream recommends 0.363. Calibrated on celebrity-dev (316 crops upscaled 3x,
        # 43,685 different-person pairs): 1 in 1,000 of them match above 0.3605, 1 in
        # 10,000 above 0.4209; 0.40 lets 7 through (0.016%) and keeps 84% of same-person
        # pairs, since merging two people is worse than splitting one when a whole library
        # is grouped. Checked on deepface-unit/master.csv: all 300 pairs right (hardest
        # genuine 0.496, hardest impostor 0.346). Both measured by
        # `pytest tests/test_engine.py -s -k calibrated`.
        match_threshold=0.40,
        licence="YuNet: MIT; SFace: Apache-2.0",
        description="YuNet detector + SFace 128-d recogniser (OpenCV Zoo). Fast, offline, "
        "free to use; ships with Facefolio.",
    ),
    "buffalo_l": PackInfo(
        "buffalo_l", 512, _ARCFACE_THRESHOLD, _INSIGHTFACE_LICENCE,
        "insightface SCRFD-10G + ArcFace R50 (WebFace600K). Most accurate; ~330 MB.",
    ),
    "buffalo_s": PackInfo(
        "buffalo_s", 512, _ARCFACE_THRESHOLD, _INSIGHTFACE_LICENCE,
        "insightface SCRFD-500M + MobileFaceNet (WebFace600K). Small and fast.",
    ),
    "buffalo_sc": PackInfo(
        "buffalo_sc", 512, _ARCFACE_THRESHOLD, _INSIGHTFACE_LICENCE,
        "insightface SCRFD-500M + MobileFaceNet, detection and recognition only. Smallest.",
    ),
    "antelopev2": PackInfo(
        "antelopev2", 512, _ARCFACE_THRESHOLD, _INSIGHTFACE_LICENCE,
        "insightface SCRFD-10G + ArcFace R100 (Glint360K). Large and accurate.",
    ),
}


def insightface_root() -> Path:
    """insightface's own model root (it honours INSIGHTFACE_HOME, else ~/.insightface)."""
    return Path(os.environ.get("INSIGHTFACE_HOME", "~/.insightface")).expanduser()


def match_threshold(pack: str) -> float:
    """The pack's cosine similarity above which two faces are one person (0.4 for a pack this
    version does not know: the ArcFace cut-off)."""
    return PACKS[pack].match_threshold if pack in PACKS else _ARCFACE_THRESHOLD
