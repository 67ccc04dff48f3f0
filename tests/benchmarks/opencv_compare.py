"""What an OpenCV upgrade changes: run the same code under two OpenCV builds and compare.

Run each step with the Python of the environment holding the OpenCV to measure (PYTHONPATH
pointing at this checkout's desktop/); every step prints ONE JSON line.

    python tests/benchmarks/opencv_compare.py scan OUT.npz FOLDER...   # scan, dump the faces
    python tests/benchmarks/opencv_compare.py compare A.npz B.npz     # faces matched by box
    python tests/benchmarks/opencv_compare.py calibration [UPSCALED]  # test_engine's figures
    python tests/benchmarks/opencv_compare.py prepare WORK [CELEBRITY_PHOTOS]  # mixed, step 1
    python tests/benchmarks/opencv_compare.py rescan WORK unchanged|reanalyse|changed

`scan` runs the real pipeline (Library + Scanner, whose after_scan clusters) over the folders
and saves every face: photo path, box, detector score, quality, embedding, person.

`compare` pairs the faces of one photo across two dumps by box (IoU > 0.5, greedy, best first)
and reports the cosine between the two embeddings of a face, box and score changes, and the
faces only one dump holds.

Mixed versions: `prepare` copies deepface-unit's photos into WORK/photos (and bench_people's
celebrity photos, when given, into WORK/photos/celebrity), scans them into
WORK/lib and names every person found after the identity most of its labelled faces have (what
a user naming people does). `rescan KIND` copies WORK/lib to WORK/lib-KIND and scans it again,
with the photos
  - unchanged: as they are (does an OpenCV change alone make the scanner do anything?);
  - reanalyse: every photo marked as analysed under another key (Scanner's 'reanalyse' jobs:
    same image, analysed again, decisions carried);
  - changed: every JPEG rewritten with its first quantisation table given twice (a change of
    the file's image data that decodes to the same pixels, so the scanner sees a changed
    image: 'changed' jobs, decisions carried by identity.match_faces).
and reports BCubed on the labelled faces, names carried, people split or merged.
"""
from __future__ import annotations

import csv
import json
import shutil
import struct
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from facefolio.library import Library, Scanner
from facefolio.library.people.people import People

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clustering_reference import bcubed  # noqa: E402

DATASETS = Path("/work/shared/datasets")
UNIT = DATASETS / "deepface-unit"
ALIASES = {"person02": "Jennifer_Aniston"}  # the same woman in both sets (bench_people.py)


def _scan(lib: Library) -> dict:
    started = time.monotonic()
    last = None
    for last in Scanner(lib).scan():
        pass
    return {"seconds": round(time.monotonic() - started, 1), "jobs": last.total,
            "skipped": last.skipped, "moved": last.moved,
            "new_faces": len(last.new_face_ids)}


def _faces(lib: Library) -> list:
    return lib.con.execute(
        "SELECT f.id, p.path, f.x, f.y, f.w, f.h, f.score, f.quality, f.embedding, "
        "f.person_id, pe.name FROM faces f JOIN photos p ON p.id = f.photo_id "
        "LEFT JOIN people pe ON pe.id = f.person_id ORDER BY f.id").fetchall()


def scan(out: Path, folders: list[Path]) -> dict:
    work = out.with_suffix(".lib")
    shutil.rmtree(work, ignore_errors=True)
    with Library(work) as lib:
        for folder in folders:
            lib.add_folder(folder)
        info = _scan(lib)
        rows = _faces(lib)
    np.savez(out, path=np.array([r["path"] for r in rows]),
             box=np.array([[r["x"], r["y"], r["w"], r["h"]] for r in rows], np.float64),
             score=np.array([r["score"] for r in rows]),
             quality=np.array([r["quality"] for r in rows]),
             emb=np.stack([np.frombuffer(r["embedding"], np.float32) for r in rows]),
             cv2=cv2.__version__)
    shutil.rmtree(work, ignore_errors=True)
    return {"cv2": cv2.__version__, "faces": len(rows), **info}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def pair_faces(a_box, b_box) -> list[tuple[int, int]]:
    """Greedy IoU matching (> 0.5) of two lists of boxes of one photo."""
    cand = sorted(((iou(x, y), i, j) for i, x in enumerate(a_box) for j, y in enumerate(b_box)),
                  reverse=True)
    used_a, used_b, pairs = set(), set(), []
    for v, i, j in cand:
        if v > 0.5 and i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return pairs


def _q(x) -> dict:
    x = np.asarray(x, float)
    if not len(x):
        return {}
    return {"min": round(float(x.min()), 6), "median": round(float(np.median(x)), 6),
            "p99": round(float(np.quantile(x, 0.99)), 6), "max": round(float(x.max()), 6)}


def compare(a_file: Path, b_file: Path) -> dict:
    a, b = np.load(a_file), np.load(b_file)
    paths = sorted(set(a["path"]) | set(b["path"]))
    cos, shift, centre, dscore, dqual, only_a, only_b = [], [], [], [], [], [], []
    for p in paths:
        ia, ib = np.flatnonzero(a["path"] == p), np.flatnonzero(b["path"] == p)
        pairs = pair_faces(a["box"][ia], b["box"][ib])
        for i, j in pairs:
            fa, fb = ia[i], ib[j]
            cos.append(float(a["emb"][fa] @ b["emb"][fb]))
            d = a["box"][fa] - b["box"][fb]
            shift.append(float(np.abs(d).max()))
            centre.append(float(np.hypot(d[0] + d[2] / 2, d[1] + d[3] / 2)))
            dscore.append(float(b["score"][fb] - a["score"][fa]))
            dqual.append(float(b["quality"][fb] - a["quality"][fa]))
        paired_a, paired_b = {i for i, _ in pairs}, {j for _, j in pairs}
        only_a += [(Path(p).name, [round(v) for v in a["box"][ia[i]]],
                    round(float(a["score"][ia[i]]), 3))
                   for i in range(len(ia)) if i not in paired_a]
        only_b += [(Path(p).name, [round(v) for v in b["box"][ib[j]]],
                    round(float(b["score"][ib[j]]), 3))
                   for j in range(len(ib)) if j not in paired_b]
    cos_arr = np.array(cos)
    return {"a": str(a["cv2"]), "b": str(b["cv2"]), "photos": len(paths),
            "faces_a": len(a["path"]), "faces_b": len(b["path"]), "matched": len(cos),
            "cosine": _q(cos), "cosine_below_0.99": int((cos_arr < 0.99).sum()),
            "cosine_below_0.999": int((cos_arr < 0.999).sum()),
            "box_max_coord_shift_px": _q(shift), "box_centre_shift_px": _q(centre),
            "score_change": _q(dscore), "abs_score_change": _q(np.abs(dscore)),
            "quality_change": _q(dqual), "only_a": only_a, "only_b": only_b}


def calibration(upscaled: Path | None = None) -> dict:
    """The figures of tests/test_engine.py::test_match_threshold_calibrated_on_celebrities_
    checked_on_master, computed the same way, with more digits. With `upscaled`, the 3x crops
    are read from there (written as PNG by the first run that finds none): one OpenCV's
    upscaling fed to another's engine."""
    from facefolio.engine import DEFAULT_PACK, FaceEngine, LoadedImage, load_image

    engine = FaceEngine(DEFAULT_PACK)
    embs, labels = [], []
    for person in sorted(p for p in (DATASETS / "celebrity-dev").iterdir() if p.is_dir()):
        for crop in sorted(person.glob("*.png")):
            saved = upscaled / person.name / crop.name if upscaled else None
            if saved is not None and saved.exists():
                up = cv2.imread(str(saved))
            else:
                up = cv2.resize(cv2.imread(str(crop)), None, fx=3, fy=3,
                                interpolation=cv2.INTER_CUBIC)
                if saved is not None:
                    saved.parent.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(saved), up)
            faces = engine.analyze(LoadedImage(up, 1.0, up.shape[1], up.shape[0]))
            if faces:
                embs.append(faces[0].embedding)
                labels.append(person.name)
    e, lab = np.array(embs), np.array(labels)
    iu = np.triu_indices(len(e), 1)
    sims, same = (e @ e.T)[iu], (lab[:, None] == lab[None, :])[iu]
    impostors = np.sort(sims[~same])[::-1]
    t4 = float(impostors[int(np.floor(1e-4 * len(impostors)))])
    t3 = float(impostors[int(np.floor(1e-3 * len(impostors)))])
    shipped = engine.info.match_threshold
    rows = list(csv.DictReader(open(UNIT / "master.csv", newline="")))
    emb = {}
    for name in sorted({r["file_x"] for r in rows} | {r["file_y"] for r in rows}):
        emb[name] = engine.analyze(load_image(UNIT / name))[0].embedding
    yes = np.array([r["Decision"] == "Yes" for r in rows])
    ps = np.array([float(emb[r["file_x"]] @ emb[r["file_y"]]) for r in rows])
    return {"cv2": cv2.__version__, "crops_found": len(e), "same_pairs": int(same.sum()),
            "diff_pairs": int((~same).sum()), "fmr_1e-4_point": round(t4, 4),
            "fmr_1e-3_point": round(t3, 4), "shipped": shipped,
            "impostors_above_shipped": int((sims[~same] > shipped).sum()),
            "tmr_at_shipped": round(float((sims[same] > shipped).mean()), 4),
            "genuine_above_shipped": int((sims[same] > shipped).sum()),
            "master_right_at_t4": int(((ps > t4) == yes).sum()),
            "master_right_at_shipped": int(((ps > shipped) == yes).sum()),
            "master_hardest_genuine": round(float(ps[yes].min()), 4),
            "master_hardest_impostor": round(float(ps[~yes].max()), 4)}


# -- mixed versions ------------------------------------------------------------------------

def _truth(lib: Library) -> dict[int, str]:
    """face id -> identity for the largest face of each photo in identities.csv (as
    bench_people.labels does)."""
    listed = dict(csv.reader(open(UNIT / "identities.csv")))
    largest: dict[int, tuple[float, int, str]] = {}
    for r in lib.con.execute("SELECT f.id, f.photo_id, f.w * f.h AS area, p.path FROM faces f "
                             "JOIN photos p ON p.id = f.photo_id"):
        path = Path(r["path"])
        label = path.parent.name if path.parent.parent.name == "celebrity" else \
            ALIASES.get(listed.get(path.name), listed.get(path.name))
        if label and (r["photo_id"] not in largest or largest[r["photo_id"]][0] < r["area"]):
            largest[r["photo_id"]] = (r["area"], r["id"], label)
    return {f: lab for _, f, lab in largest.values()}


def _key(path: str) -> str:
    """A photo's name and its folder's: celebrity crops of different people share names."""
    return "/".join(Path(path).parts[-2:])


def _state(lib: Library) -> dict:
    truth = _truth(lib)
    rows = _faces(lib)
    by_id = {r["id"]: r for r in rows}
    ids = sorted(truth)
    p, r, f = bcubed([truth[i] for i in ids], [by_id[i]["person_id"] for i in ids])
    people = lib.people()
    # per labelled photo: the name its main face carries
    names = {_key(by_id[i]["path"]): by_id[i]["name"] for i in ids}
    persons_per_identity = {lab: len({by_id[i]["person_id"] for i in ids if truth[i] == lab})
                            for lab in sorted(set(truth.values()))}
    return {"cv2": cv2.__version__, "faces": len(rows), "labelled": len(ids),
            "bcubed": {"precision": round(p, 4), "recall": round(r, 4), "f": round(f, 4)},
            "people": len(people), "named_people": sum(1 for x in people if x.name),
            "faces_in_named": sum(x.face_count for x in people if x.name),
            "identities_split": {k: v for k, v in persons_per_identity.items() if v > 1},
            "names": names,
            "face_rows": [[r["id"], _key(r["path"]), r["x"], r["y"], r["w"], r["h"],
                           r["person_id"], r["name"]] for r in rows],
            "embeddings": {r["id"]: np.frombuffer(r["embedding"], np.float32).tolist()
                           for r in rows}}


def prepare(work: Path, celebrity: Path | None = None) -> dict:
    """deepface-unit's photos (and with `celebrity`, bench_people's celebrity photos, in
    WORK/photos/celebrity/NAME/) scanned, clustered and named."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "photos").mkdir(parents=True)
    for src in sorted(UNIT.glob("*.jpg")):
        shutil.copy2(src, work / "photos" / src.name)
    if celebrity is not None:
        shutil.copytree(celebrity, work / "photos" / "celebrity")
    with Library(work / "lib") as lib:
        lib.add_folder(work / "photos")
        info = _scan(lib)
        truth = _truth(lib)
        people = People(lib)
        votes: dict[int, Counter] = {}
        for face_id, label in truth.items():
            pid = lib.con.execute("SELECT person_id FROM faces WHERE id = ?",
                                  (face_id,)).fetchone()[0]
            if pid is not None:
                votes.setdefault(pid, Counter())[label] += 1
        for pid, c in votes.items():
            people.name(pid, c.most_common(1)[0][0])
        state = _state(lib)
    (work / "before.json").write_text(json.dumps(state))
    return {"scan": info, **{k: v for k, v in state.items()
                             if k not in ("names", "face_rows", "embeddings")}}


def _double_dqt(path: Path) -> bool:
    """Give the first DQT segment twice: other bytes, the same tables, the same pixels.
    False for a file that is not a JPEG (deepface-unit has a WebP named .jpg): left as is."""
    data = path.read_bytes()
    if data[:2] != b"\xff\xd8":
        return False
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xDB:
            seg = data[i:i + 2 + length]
            path.write_bytes(data[:i + 2 + length] + seg + data[i + 2 + length:])
            return True
        i += 2 + length
    raise ValueError(f"no DQT in {path}")


def rescan(work: Path, kind: str) -> dict:
    from PIL import Image

    from facefolio.library.scan.identity import fingerprint

    before = json.loads((work / "before.json").read_text())
    lib_dir = work / f"lib-{kind}-{cv2.__version__}"
    shutil.rmtree(lib_dir, ignore_errors=True)
    shutil.copytree(work / "lib", lib_dir)
    # The copy points at the same WORK/photos: the folder row holds its path.
    extra = {}
    if kind == "changed" and not (work / "photos.changed").exists():
        same_pixels = 0
        for p in sorted((work / "photos").rglob("*.jpg")):
            old_px, old_fp = np.asarray(Image.open(p).convert("RGB")), fingerprint(p)
            if not _double_dqt(p):
                continue
            same_pixels += int(np.array_equal(old_px, np.asarray(Image.open(p).convert("RGB")))
                               and fingerprint(p) != old_fp)
        (work / "photos.changed").write_text(str(same_pixels))
    if kind == "changed":
        extra["photos_rewritten_same_pixels_new_fingerprint"] = int(
            (work / "photos.changed").read_text())
    with Library(lib_dir) as lib:
        if kind == "reanalyse":
            lib.con.execute("UPDATE photos SET analysis = 'another-key'")
        info = _scan(lib)
        after = _state(lib)
        notes = lib.con.execute("SELECT COUNT(*) FROM scan_notes").fetchone()[0]
    carried = sum(1 for k, v in before["names"].items() if after["names"].get(k) == v)
    lost = {k: (v, after["names"].get(k)) for k, v in before["names"].items()
            if after["names"].get(k) != v}
    # Faces kept by id, and how their boxes / embeddings moved.
    b_rows = {r[0]: r for r in before["face_rows"]}
    a_rows = {r[0]: r for r in after["face_rows"]}
    kept = sorted(set(b_rows) & set(a_rows))
    cos = [float(np.dot(before["embeddings"][str(i)], after["embeddings"][i]))
           for i in kept]
    person_changed = sum(1 for i in kept if b_rows[i][7] != a_rows[i][7])
    # Every face before paired with its face after by photo and box (ids change on re-analysis).
    paired, same_person, same_name, pair_cos = 0, 0, 0, []
    photos = {r[1] for r in before["face_rows"]} | {r[1] for r in after["face_rows"]}
    for name in photos:
        bs = [r for r in before["face_rows"] if r[1] == name]
        as_ = [r for r in after["face_rows"] if r[1] == name]
        for i, j in pair_faces(np.array([r[2:6] for r in bs], float).reshape(-1, 4),
                               np.array([r[2:6] for r in as_], float).reshape(-1, 4)):
            paired += 1
            same_person += bs[i][6] == as_[j][6]
            same_name += bs[i][7] == as_[j][7]
            pair_cos.append(float(np.dot(before["embeddings"][str(bs[i][0])],
                                         after["embeddings"][as_[j][0]])))
    return {"kind": kind, "scan": info, "scan_notes": notes, **extra,
            "before": {k: before[k] for k in ("cv2", "faces", "bcubed", "people",
                                              "named_people", "faces_in_named",
                                              "identities_split")},
            "after": {k: after[k] for k in ("cv2", "faces", "bcubed", "people",
                                            "named_people", "faces_in_named",
                                            "identities_split")},
            "labelled_names_carried": f"{carried}/{len(before['names'])}", "names_lost": lost,
            "face_ids_kept": len(kept), "face_ids_gone": len(set(b_rows) - set(a_rows)),
            "face_ids_new": len(set(a_rows) - set(b_rows)),
            "kept_faces_name_changed": person_changed,
            "kept_faces_embedding_cosine": _q(cos),
            "faces_paired_by_box": paired, "paired_same_person_id": same_person,
            "paired_same_name": same_name, "paired_embedding_cosine": _q(pair_cos)}


def main(argv: list[str]) -> int:
    cmd = argv[0]
    if cmd == "scan":
        out = scan(Path(argv[1]), [Path(f) for f in argv[2:]])
    elif cmd == "compare":
        out = compare(Path(argv[1]), Path(argv[2]))
    elif cmd == "calibration":
        out = calibration(Path(argv[1]) if len(argv) > 1 else None)
    elif cmd == "prepare":
        out = prepare(Path(argv[1]), Path(argv[2]) if len(argv) > 2 else None)
    elif cmd == "rescan":
        out = rescan(Path(argv[1]), argv[2])
    else:
        raise SystemExit(__doc__)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
