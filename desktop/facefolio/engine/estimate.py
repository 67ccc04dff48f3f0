"""An estimated age and gender: what both age/gender models answer (agegender.py, the dlib
networks; genderage_insightface.py, an insightface pack's own)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Estimate:
    age: float  # years, the expectation of the network's distribution (NaN: not asked)
    age_low: float  # INTERVAL of that distribution: "about 30 (24-37)"
    age_high: float
    gender: str | None  # "female" or "male" (None: not asked)
    gender_confidence: float  # 0.5..1, the network's probability of ``gender``
    source: str  # which model made it: never compare estimates of different sources
