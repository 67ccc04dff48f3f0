#!/usr/bin/env python
"""A group-photo set with ground truth, built from shared/datasets/celebrity-dev crops.

Each group photo is a 12 MP canvas (4000x3000, JPEG quality 90) holding 6-16 people in one to
three rows, back rows smaller, on a textured background (colour gradients, blotches, straight
edges like furniture and windows, sensor grain). A person is a torso blob with an aligned face
crop on top, pasted with a feathered elliptical edge, a little roll (+-8 degrees) and a little
exposure change. Face widths run 32-280 px, log-uniform per photo so every size range is well
represented.

People: the 8 celebrity-dev people, each at most once per photo (a photo never shows one person
twice, which grouping relies on). Photos with more than 8 faces are filled with "extras": the
main faces of deepface-unit (12 of its 13 labelled people; person02 is Jennifer Aniston, already
one of the 8, and is left out), cut out and aligned to the same 112x112 template, labelled
``extra:personNN``. Of each celebrity's 40 crops, 10 are held out of the group photos and
written as portraits (the crop upscaled 3x, 336x336 JPEG), so a library can hold portraits of
the same people and a benchmark can ask whether a face found in a group joins its right person.

    from groupset import build
    truth = build(out_dir, seed=0, n_photos=40)      # list[FaceTruth]; cached, deterministic

    python tests/benchmarks/groupset.py [--out DIR] [--seed 0] [--photos 40]   # build, summary
    python tests/benchmarks/groupset.py --calibrate  # re-measure FACE_BOX (needs the engine)

A face's ``box`` follows the detector's convention (what YuNet draws around that face), so
"width" means the width a detector reports, not the pasted square (``crop_box``); `match` pairs
detections with truth by IoU.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

VERSION = "g1"  # bump when the generator's output changes, so caches are rebuilt
W, H = 4000, 3000
QUALITY = 90
MIN_FACE, MAX_FACE = 32, 280  # detector-box widths, px
HELD_OUT = 10  # crops per celebrity kept out of group photos, written as portraits
PORTRAIT_SCALE = 3
# Where YuNet puts its box on an aligned 112x112 crop, as fractions of the crop (x, y, w, h):
# mean over 120 celebrity-dev crops upscaled 3x (`python tests/benchmarks/groupset.py
# --calibrate` -> 0.139 0.086 0.694 0.948, std 0.07 0.04 0.04 0.05).
FACE_BOX = (0.139, 0.086, 0.694, 0.948)
# The 112x112 ArcFace template (insightface face_align.arcface_dst): where an aligned crop's
# eyes, nose and mouth corners sit.
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)
EXCLUDED_EXTRAS = {"person02"}  # Jennifer Aniston, also in celebrity-dev


@dataclass(frozen=True)
class FaceTruth:
    photo: str  # absolute path of the JPEG
    kind: str  # 'group' or 'portrait'
    person: str  # celebrity-dev folder name, or 'extra:personNN' (deepface-unit identities)
    crop: str  # source, relative to the data sets folder: 'celebrity-dev/Tom_Hanks/12.png'
    box: tuple[int, int, int, int]  # x, y, w, h: the face as a detector would box it
    crop_box: tuple[int, int, int, int]  # the pasted square
    landmarks: tuple[tuple[float, float], ...]  # 5 template points in photo pixels (no roll)

    @property
    def width(self) -> int:
        return self.box[2]


def datasets_dir() -> Path:
    env = os.environ.get("FACEFOLIO_DATASETS")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for base in (here.parents[3], Path("/work")):  # the repository beside shared/
        if (base / "shared" / "datasets").is_dir():
            return base / "shared" / "datasets"
    return here.parents[3] / "shared" / "datasets"


def default_dir(seed: int = 0, n_photos: int = 40) -> Path:
    return Path(tempfile.gettempdir()) / "facefolio-groupset" / f"{VERSION}-s{seed}-n{n_photos}"


# -- sources ---------------------------------------------------------------------------------
def _celebrity_crops(seed: int) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """(crops for group photos, held-out crops) per person, split by a seeded shuffle."""
    root = datasets_dir() / "celebrity-dev"
    people = sorted(p for p in root.iterdir() if p.is_dir())
    if not people:
        raise SystemExit(f"no celebrity-dev people in {root}")
    rng = np.random.default_rng([seed, 1])
    groups, held = {}, {}
    for person in people:
        crops = sorted(person.glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit()
                       else p.stem)
        order = rng.permutation(len(crops))
        held[person.name] = [crops[i] for i in order[:HELD_OUT]]
        groups[person.name] = [crops[i] for i in order[HELD_OUT:]]
    return groups, held


def _extra_crops(cache: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """deepface-unit's labelled main faces, aligned to the template (cached as PNGs)."""
    unit = datasets_dir() / "deepface-unit"
    rows = [r for r in csv.DictReader(open(unit / "identities.csv", newline=""))
            if r["person"] not in EXCLUDED_EXTRAS]
    folder = cache / "extras"
    out: dict[str, list[tuple[str, np.ndarray]]] = {}
    engine = None
    for r in rows:
        png = folder / f"{Path(r['file']).stem}.png"
        if not png.is_file():
            if engine is None:  # only when the cache is cold: the detector finds landmarks
                from facefolio.engine import FaceEngine, load_image  # noqa: PLC0415
                engine = FaceEngine()
            image = load_image(unit / r["file"])
            faces = engine.analyze(image)
            if not faces:
                continue
            src = faces[0].landmarks / image.scale  # largest face, decoded pixels
            m, _ = cv2.estimateAffinePartial2D(src, TEMPLATE, method=cv2.LMEDS)
            crop = cv2.warpAffine(image.pixels, m, (112, 112), borderMode=cv2.BORDER_REPLICATE)
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(png), crop)
        out.setdefault(f"extra:{r['person']}", []).append(
            (f"deepface-unit/{r['file']}", cv2.imread(str(png))))
    return out


# -- drawing ---------------------------------------------------------------------------------
def _background(rng: np.random.Generator) -> np.ndarray:
    """A textured 12 MP backdrop: gradient, blotches, edges, grain (no faces)."""
    base = rng.uniform(40, 220, size=(3, 4, 3)).astype(np.float32)
    img = cv2.resize(base, (W, H), interpolation=cv2.INTER_CUBIC)
    for cell, sigma in ((150, 22.0), (30, 10.0)):  # blotches of light, mostly colourless
        blotch = rng.normal(0, sigma, size=(H // cell, W // cell, 1)).astype(np.float32)
        blotch = blotch + rng.normal(0, sigma / 4, size=(H // cell, W // cell, 3))
        img += cv2.resize(blotch.astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(6, 14))):  # shelves, window frames, door edges
        colour = tuple(float(c) for c in rng.uniform(20, 235, 3))
        x0, y0 = int(rng.integers(0, W)), int(rng.integers(0, H))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x0, y0), (x0 + int(rng.integers(100, 1500)),
                                          y0 + int(rng.integers(100, 1200))), colour,
                          int(rng.integers(4, 40)))
        else:
            cv2.line(img, (x0, y0), (int(rng.integers(0, W)), int(rng.integers(0, H))), colour,
                     int(rng.integers(3, 25)))
    img = cv2.GaussianBlur(img, (0, 0), 2.0)
    img += rng.normal(0, 4, size=(H, W, 1)).astype(np.float32)  # grain, shared by channels
    return img


def _feather_mask(size: int) -> np.ndarray:
    """An ellipse over the crop with soft edges, so no hard square edge shows."""
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, (size // 2, size // 2), (int(size * 0.47), int(size * 0.52)), 0, 0, 360,
                1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, size * 0.05))[:, :, None]


def _paste_face(canvas: np.ndarray, crop: np.ndarray, x: int, y: int, size: int,
                rng: np.random.Generator) -> None:
    roll = float(rng.uniform(-8, 8))
    m = cv2.getRotationMatrix2D((55.5, 55.5), roll, size / 112.0)
    m[:, 2] += (size - 112) / 2.0  # rotate and scale about the crop's centre
    face = cv2.warpAffine(crop, m, (size, size), flags=cv2.INTER_CUBIC if size > 112
                          else cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    face = face.astype(np.float32) * float(rng.uniform(0.85, 1.15))
    alpha = _feather_mask(size)
    region = canvas[y:y + size, x:x + size]
    region[:] = region * (1 - alpha) + face * alpha


def _draw_person(canvas: np.ndarray, crop: np.ndarray, cx: int, top: int, crop_size: int,
                 rng: np.random.Generator) -> tuple[int, int]:
    """A torso blob, then the face on top; returns the crop square's top-left corner."""
    colour = tuple(float(c) for c in rng.uniform(15, 240, 3))
    body_w, body_h = int(crop_size * 0.95), int(crop_size * 1.3)
    cv2.ellipse(canvas, (cx, top + crop_size + body_h // 2), (body_w, body_h // 2 + 4), 0, 0,
                360, colour, -1)
    x, y = cx - crop_size // 2, top
    _paste_face(canvas, crop, x, y, crop_size, rng)
    return x, y


def _layout(rng: np.random.Generator, n: int) -> list[tuple[int, int, int]]:
    """(centre x, top y, crop size) per face: rows from back (small) to front (big)."""
    rows = 1 if n <= 7 else (2 if n <= 12 else 3)
    per_row = [n // rows + (1 if i < n % rows else 0) for i in range(rows)]
    lo, hi = math.log(MIN_FACE), math.log(MAX_FACE)
    front = math.exp(rng.uniform(lo, hi))  # the front row's face width
    shrink = float(rng.uniform(0.8, 0.95))  # each row further back is smaller
    slots = []
    widths = [front * shrink ** (rows - 1 - r) for r in range(rows)]  # back row first
    heights = [w / FACE_BOX[2] for w in widths]  # crop sizes
    total_h = sum(h * 1.25 for h in heights)
    y = int(rng.uniform(80, max(81, H - total_h - heights[-1] * 1.4 - 80)))
    for r in range(rows):
        k = per_row[r]
        crop = heights[r]
        pitch = crop * float(rng.uniform(1.4, 2.6))
        if k > 1:  # a wide front row of big faces must still fit side by side
            pitch = max(crop * 1.1, min(pitch, (W - 2.4 * crop) / (k - 1)))
        span = pitch * (k - 1)
        x0 = rng.uniform(crop, max(crop + 1, W - crop - span))
        for i in range(k):
            width = float(np.clip(widths[r] * rng.uniform(0.9, 1.1), MIN_FACE, MAX_FACE))
            size = int(round(width / FACE_BOX[2]))
            cx = int(x0 + i * pitch + rng.uniform(-0.1, 0.1) * crop)
            top = int(y + rng.uniform(-0.08, 0.08) * crop)
            slots.append((int(np.clip(cx, size, W - size)),
                          int(np.clip(top, 0, H - size - 1)), size))
        y += int(crop * 1.25)
    return slots


# -- the set ---------------------------------------------------------------------------------
def _truth(photo: Path, kind: str, person: str, crop: str, x: int, y: int, size: int
           ) -> FaceTruth:
    fx, fy, fw, fh = FACE_BOX
    box = (round(x + fx * size), round(y + fy * size), round(fw * size), round(fh * size))
    lm = tuple((round(x + px * size / 112, 1), round(y + py * size / 112, 1))
               for px, py in TEMPLATE.tolist())
    return FaceTruth(str(photo), kind, person, crop, box, (x, y, size, size), lm)


def _group_photo(path: Path, index: int, seed: int, groups: dict, extras: dict
                 ) -> list[FaceTruth]:
    rng = np.random.default_rng([seed, 2, index])
    n = int(rng.integers(6, 17))
    slots = _layout(rng, n)
    celebs = list(groups)
    n_celeb = min(len(celebs), n)
    cast = [celebs[i] for i in rng.permutation(len(celebs))[:n_celeb]]
    extra_names = sorted(extras)
    cast += [extra_names[i] for i in rng.permutation(len(extra_names))[:n - n_celeb]]
    cast = [cast[i] for i in rng.permutation(len(cast))]
    canvas = _background(rng)
    faces = []
    for (cx, top, size), person in zip(slots, cast):
        if person in groups:
            src = groups[person][int(rng.integers(len(groups[person])))]
            crop, name = cv2.imread(str(src)), f"celebrity-dev/{person}/{src.name}"
        else:
            name, crop = extras[person][int(rng.integers(len(extras[person])))]
        x, y = _draw_person(canvas, crop, cx, top, size, rng)
        faces.append(_truth(path, "group", person, name, x, y, size))
    _write_jpeg(path, canvas)
    return faces


def group_photo(path: str | os.PathLike, index: int, seed: int = 0, extras: bool = False
                ) -> list[FaceTruth]:
    """Photo ``index`` of a seed's layout on its own (for tests): with ``extras`` False only
    the (up to 8) celebrities are drawn, so no deepface-unit faces need cutting out first."""
    groups, _ = _celebrity_crops(seed)
    pool = _extra_crops(Path(tempfile.gettempdir()) / "facefolio-groupset" / VERSION) \
        if extras else {}
    return _group_photo(Path(path).resolve(), index, seed, groups, pool)


def empty_photo(path: str | os.PathLike, index: int, seed: int = 0) -> Path:
    """A backdrop like the group photos' with nobody in it (for false detections and for
    what looking for small faces costs on a photo without any); cached by path."""
    path = Path(path)
    if not path.is_file():
        _write_jpeg(path, _background(np.random.default_rng([seed, 3, index])))
    return path


def _write_jpeg(path: Path, img: np.ndarray) -> None:
    tmp = path.with_suffix(".tmp.jpg")
    if not cv2.imwrite(str(tmp), np.clip(img, 0, 255).astype(np.uint8),
                       [cv2.IMWRITE_JPEG_QUALITY, QUALITY]):
        raise OSError(f"cannot write {tmp}")
    os.replace(tmp, path)  # a killed build never leaves a half photo under the real name


def build(out_dir: str | os.PathLike | None = None, seed: int = 0, n_photos: int = 40
          ) -> list[FaceTruth]:
    """Group photos in ``out_dir/group``, portraits in ``out_dir/portraits``; ground truth.

    Deterministic for (seed, n_photos); a finished build (``truth.json`` written last) is
    reused as is.
    """
    out = (Path(out_dir) if out_dir else default_dir(seed, n_photos)).resolve()
    manifest = out / "truth.json"
    params = {"version": VERSION, "seed": seed, "n_photos": n_photos}
    if manifest.is_file():
        data = json.loads(manifest.read_text())
        if data.get("params") == params:
            truth = [FaceTruth(**{**f, "box": tuple(f["box"]), "crop_box": tuple(f["crop_box"]),
                                  "landmarks": tuple(map(tuple, f["landmarks"]))})
                     for f in data["faces"]]
            if all(os.path.exists(t.photo) for t in truth):
                return truth
    (out / "group").mkdir(parents=True, exist_ok=True)
    (out / "portraits").mkdir(parents=True, exist_ok=True)
    groups, held = _celebrity_crops(seed)
    extras = _extra_crops(Path(tempfile.gettempdir()) / "facefolio-groupset" / VERSION)
    truth: list[FaceTruth] = []
    for i in range(n_photos):
        truth += _group_photo(out / "group" / f"group_{i:04d}.jpg", i, seed, groups, extras)
    for person, crops in held.items():
        for src in crops:
            path = out / "portraits" / f"{person}_{src.stem}.jpg"
            img = cv2.imread(str(src))
            up = cv2.resize(img, None, fx=PORTRAIT_SCALE, fy=PORTRAIT_SCALE,
                            interpolation=cv2.INTER_CUBIC)
            _write_jpeg(path, up.astype(np.float32))
            truth.append(_truth(path, "portrait", person,
                                f"celebrity-dev/{person}/{src.name}", 0, 0, up.shape[0]))
    manifest.write_text(json.dumps({"params": params, "faces": [asdict(t) for t in truth]}))
    return truth


# -- scoring helpers for benchmarks ----------------------------------------------------------
def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def match(truth: list[FaceTruth], boxes: list, min_iou: float = 0.3
          ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Greedy one-to-one pairing of one photo's truth faces and detected boxes by IoU.

    Returns (pairs of (truth index, box index), unmatched truth, unmatched boxes).
    """
    cand = sorted(((iou(t.box, b), i, j) for i, t in enumerate(truth)
                   for j, b in enumerate(boxes)), reverse=True)
    used_t, used_b, pairs = set(), set(), []
    for score, i, j in cand:
        if score < min_iou:
            break
        if i not in used_t and j not in used_b:
            used_t.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return (pairs, [i for i in range(len(truth)) if i not in used_t],
            [j for j in range(len(boxes)) if j not in used_b])


def by_photo(truth: list[FaceTruth]) -> dict[str, list[FaceTruth]]:
    out: dict[str, list[FaceTruth]] = {}
    for t in truth:
        out.setdefault(t.photo, []).append(t)
    return out


WIDTH_BINS = ((32, 48), (48, 64), (64, 96), (96, 160), (160, 281))


def width_bin(width: float) -> str:
    for lo, hi in WIDTH_BINS:
        if lo <= width < hi:
            return f"{lo}-{hi - 1}" if hi == 281 else f"{lo}-{hi}"
    return "other"


def _calibrate() -> None:
    from facefolio.engine import FaceEngine, LoadedImage  # noqa: PLC0415

    engine = FaceEngine()
    rel = []
    for person in sorted((datasets_dir() / "celebrity-dev").iterdir()):
        for src in sorted(person.glob("*.png"))[:15]:
            canvas = np.full((900, 900, 3), 128, np.uint8)
            canvas[300:636, 300:636] = cv2.resize(cv2.imread(str(src)), None, fx=3, fy=3,
                                                  interpolation=cv2.INTER_CUBIC)
            dets = engine.detect(LoadedImage(canvas, 1.0, 900, 900, None))
            if dets:
                b = dets[0][0]
                rel.append(((b[0] - 300) / 336, (b[1] - 300) / 336, b[2] / 336, b[3] / 336))
    rel_a = np.array(rel)
    print(json.dumps({"crops": len(rel), "face_box_mean": rel_a.mean(0).round(3).tolist(),
                      "face_box_std": rel_a.std(0).round(3).tolist()}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output folder (default: a cache under $TMPDIR)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--photos", type=int, default=40, help="group photos (default 40)")
    ap.add_argument("--calibrate", action="store_true",
                    help="measure where the detector boxes an aligned crop (FACE_BOX)")
    args = ap.parse_args(argv)
    if args.calibrate:
        _calibrate()
        return 0
    t0 = time.perf_counter()
    truth = build(args.out, args.seed, args.photos)
    group = [t for t in truth if t.kind == "group"]
    bins: dict[str, int] = {}
    for t in group:
        bins[width_bin(t.width)] = bins.get(width_bin(t.width), 0) + 1
    print(json.dumps({
        "folder": str(Path(truth[0].photo).parents[1]), "seconds": round(time.perf_counter() - t0, 1),
        "group_photos": len({t.photo for t in group}), "group_faces": len(group),
        "portraits": sum(t.kind == "portrait" for t in truth),
        "faces_by_width": dict(sorted(bins.items(), key=lambda kv: int(kv[0].split("-")[0]))),
        "people": sorted({t.person for t in truth}),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
