"""Face names in XMP: Metadata Working Group regions, read and written the way digiKam does.

A region is `Xmp.mwg-rs.Regions/mwg-rs:RegionList[i]` with `mwg-rs:Name`, `mwg-rs:Type` = Face
and `mwg-rs:Area` (stArea x, y = the box CENTRE, w, h, all normalised 0..1, unit normalized),
beside `mwg-rs:AppliedToDimensions` (stDim w, h, unit pixel). Like digiKam we also write the
Microsoft layout (`Xmp.MP.RegionInfo/MPRI:Regions[i]`, top-left rectangle) and read it when a
file has no MWG regions. Boxes are in the oriented image's pixels, Facefolio's face-box frame
(digiKam also places regions on the image as displayed).

exiv2 (through pyexiv2, which bundles it) does the XMP parsing and writing; its XMP toolkit
keeps global state, so every call takes `_EXIV2_LOCK`. Sidecars are edited on a copy that then
replaces the original, so a crash never leaves half a file. The photo itself is only rewritten
with `embed=True`.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...engine.exiv2 import EXIV2_LOCK, utf8_path
from ...engine.formats import RAW_EXTENSIONS
from ...engine.boxes import iou
from ..storage import privacy
from ..storage.store import display_path
from ..storage.text import clean_name
from .pairs import shot_sidecars, sidecar_targets

log = logging.getLogger(__name__)

MIN_IOU = 0.3  # a region names the detected face it overlaps at least this much
_SAME_REGION_IOU = 0.5  # an old region this close to a new one is replaced by it

_RS = "Xmp.mwg-rs.Regions"
_LIST = f"{_RS}/mwg-rs:RegionList"
_DIMS = f"{_RS}/mwg-rs:AppliedToDimensions"
_MP = "Xmp.MP.RegionInfo"
_MP_LIST = f"{_MP}/MPRI:Regions"
_ITEM = re.compile(r"^(?P<list>.+?)\[(?P<i>\d+)\](?:/(?P<rest>.+))?$")
_EXIV2_LOCK = EXIV2_LOCK  # one lock for every pyexiv2 call of the process (engine/exiv2.py)
_EMPTY_PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n'
    '</x:xmpmeta>\n<?xpacket end="w"?>\n')


class XmpError(Exception):
    """A sidecar or photo whose XMP cannot be read or written; the message is one line."""


@dataclass(frozen=True)
class Region:
    name: str
    box: tuple[float, float, float, float]  # x, y, w, h in oriented image pixels


def _exiv2():
    """pyexiv2, imported on first use so a missing wheel only disables XMP."""
    try:
        import pyexiv2  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the platform's wheel
        raise XmpError(f"XMP support is not available: {exc}") from exc
    pyexiv2.set_log_level(3)  # errors raise; warnings would only clutter stderr
    return pyexiv2








def _utf8_packet(data: bytes) -> bytes:
    """exiv2 reads XMP files in UTF-8 only: a UTF-16 or UTF-32 one (Lightroom writes UTF-16)
    is handed over, and written back, as UTF-8, which every tool reads."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] == b"\x00\x00\xfe\xff" or (
            len(data) > 1 and (data[0] == 0) != (data[1] == 0)):
        from ...engine.dates import decode_xmp  # noqa: PLC0415

        text = decode_xmp(data).lstrip("\ufeff")
        # The packet header names the encoding only through its BOM character: keep it.
        return text.encode("utf-8")
    return data


def _read_xmp(path: Path, what: str) -> dict[str, object]:
    pyexiv2 = _exiv2()
    try:
        if utf8_path(path) and path.suffix.lower() != ".xmp":
            with _EXIV2_LOCK, pyexiv2.Image(str(path)) as image:
                return image.read_xmp()
        # exiv2 wants a UTF-8 file name and a UTF-8 sidecar: hand it the bytes.
        data = path.read_bytes()
        if path.suffix.lower() == ".xmp":
            data = _utf8_packet(data)
        with _EXIV2_LOCK, pyexiv2.ImageData(data) as image:
            return image.read_xmp()
    except (RuntimeError, UnicodeDecodeError, ValueError) as exc:
        raise XmpError(f"{what} {display_path(path.name)}: unreadable XMP "
                       f"({_reason(exc, path)})") from exc
    except OSError as exc:
        raise XmpError(f"{what} {display_path(path.name)}: cannot read "
                       f"({exc.strerror or exc})") from exc


def _reason(exc: Exception, path: Path) -> str:
    text = " ".join(str(exc).split()).replace(str(path) + ": ", "")
    return display_path(text[:160]) or type(exc).__name__


# -- reading --------------------------------------------------------------------------------
def read_regions(photo: Path, width: int, height: int) -> list[Region]:
    """Named face regions from the photo's sidecar and its embedded XMP (sidecar first).

    A file without regions gives []; a corrupt file raises XmpError naming it.
    """

    photo = Path(photo)
    found: list[Region] = []
    for sidecar in shot_sidecars(photo):
        for region in regions_from_xmp(_read_xmp(sidecar, "sidecar"), width, height,
                                       sidecar.name):
            if not any(r.name == region.name and iou(r.box, region.box) >= _SAME_REGION_IOU
                       for r in found):
                found.append(region)
    try:
        embedded = regions_from_xmp(_read_xmp(photo, "photo"), width, height, photo.name)
    except XmpError:
        # The pixels were readable (the scan decoded them); a bad XMP block inside a photo is
        # only worth an error when there is no sidecar to go by.
        if not found:
            raise
        embedded = []
    for region in embedded:
        if not any(r.name == region.name and iou(r.box, region.box) >= _SAME_REGION_IOU
                   for r in found):
            found.append(region)
    return found


def regions_from_xmp(xmp: dict[str, object], width: int, height: int, source: str = "XMP"
                     ) -> list[Region]:
    """Named face regions in a flat exiv2 XMP dict (MWG, else Microsoft's)."""
    if width <= 0 or height <= 0:
        raise XmpError(f"{source}: image size unknown")
    regions = []
    for i, fields in sorted(_items(xmp, _LIST).items()):
        kind = str(fields.get("mwg-rs:Type", "Face")).strip()
        name = clean_name(fields.get("mwg-rs:Name", ""))  # a file's text: see text.py
        if kind != "Face" or not name:
            continue
        try:
            cx, cy, w, h = (float(str(fields[f"mwg-rs:Area/stArea:{k}"]).strip())
                            for k in "xywh")
        except (KeyError, ValueError) as exc:
            raise XmpError(f"{source}: face region {i} ({name!r}) has no valid area") from exc
        unit = str(fields.get("mwg-rs:Area/stArea:unit", "normalized")).strip()
        if unit == "pixel":  # not MWG, but seen in the wild: relative to AppliedToDimensions
            dw, dh = _applied_dims(xmp) or (width, height)
            cx, cy, w, h = cx / dw, cy / dh, w / dw, h / dh
        regions.append(Region(name, _to_pixels(cx - w / 2, cy - h / 2, w, h, width, height)))
    if regions:
        return regions
    for i, fields in sorted(_items(xmp, _MP_LIST).items()):
        name = clean_name(fields.get("MPReg:PersonDisplayName", ""))
        rect = str(fields.get("MPReg:Rectangle", ""))
        if not name or not rect:
            continue
        try:
            x, y, w, h = (float(v) for v in rect.split(","))
        except ValueError as exc:
            raise XmpError(f"{source}: Microsoft face region {i} ({name!r}) has a bad "
                           f"rectangle {rect!r}") from exc
        regions.append(Region(name, _to_pixels(x, y, w, h, width, height)))
    return regions


def _items(xmp: dict[str, object], prefix: str) -> dict[int, dict[str, object]]:
    """{index: {sub-key: value}} for the array items below prefix."""
    items: dict[int, dict[str, object]] = {}
    for key, value in xmp.items():
        match = _ITEM.match(key)
        if match and match["list"] == prefix:
            items.setdefault(int(match["i"]), {})[match["rest"] or ""] = value
    return items


def _applied_dims(xmp: dict[str, object]) -> tuple[float, float] | None:
    try:
        w, h = float(xmp[f"{_DIMS}/stDim:w"]), float(xmp[f"{_DIMS}/stDim:h"])
    except (KeyError, ValueError, TypeError):
        return None
    return (w, h) if w > 0 and h > 0 else None


def _to_pixels(x: float, y: float, w: float, h: float, width: int, height: int
               ) -> tuple[float, float, float, float]:
    x0, y0 = max(0.0, x) * width, max(0.0, y) * height
    x1, y1 = min(1.0, x + w) * width, min(1.0, y + h) * height
    return (x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))


# -- writing --------------------------------------------------------------------------------
def write_regions(photo: Path, regions: list[Region], width: int, height: int, *,
                  embed: bool = False) -> Path:
    """Put these named faces in the photo's sidecar (and in the photo too with embed).

    Everything else in the sidecar stays: other XMP, regions of other types (pets, focus),
    and face regions that overlap none of ours. One of ours replaces an old face region it
    overlaps. Returns the sidecar path.
    """
    photo = Path(photo)
    if width <= 0 or height <= 0:
        raise XmpError(f"{photo.name}: image size unknown")
    targets = sidecar_targets(photo)
    for sidecar in targets:
        rewrite(sidecar, regions, width, height, template=_EMPTY_PACKET)
    if embed:
        rewrite(photo, regions, width, height, template=None)
    return targets[0]


def rewrite(target: Path, regions: list[Region], width: int, height: int,
             template: str | None) -> None:
    """Edit the XMP of a sidecar (template: what a new one starts from) or of the photo itself
    (template None) in memory, then replace the file durably: a temp file beside it, fsync,
    rename, the old file's mode kept. A photo that is a symbolic link is written through the
    link (the link stays); one with other hard links is refused (a rename would split them)."""
    pyexiv2 = _exiv2()
    what = "sidecar" if template is not None else "photo"
    shown = display_path(target)
    if template is None and target.suffix.lower() in RAW_EXTENSIONS:
        # A camera's own file is the negative: Lightroom and digiKam never write into one.
        raise XmpError(f"{display_path(target.name)} is a camera RAW file, which Facefolio "
                       "never writes into")
    try:
        if template is None:
            target = _real_photo(target)
        if target.exists():
            data = target.read_bytes()
            if template is not None:
                data = _utf8_packet(data)
        elif template is not None:
            data = template.encode("utf-8")
        else:
            raise XmpError(f"{shown}: no such file")
        with _EXIV2_LOCK, pyexiv2.ImageData(data) as image:
            old = image.read_xmp()
            stale = {k: None for k in old if k.startswith((_RS, _MP))}
            if stale:
                image.modify_xmp(stale)
            image.modify_xmp(_region_keys(_merge(old, regions, width, height), width, height,
                                          _foreign_mp(old, width, height)))
            out = image.get_bytes()
        _replace_durably(target, out)
    except OSError as exc:
        raise XmpError(f"cannot write {what} {shown}: {exc.strerror or exc}") from exc
    except (RuntimeError, UnicodeError, ValueError) as exc:
        raise XmpError(f"cannot write XMP to {what} {display_path(target.name)}: "
                       f"{_reason(exc, target)}") from exc


def _real_photo(photo: Path) -> Path:
    """The file to rewrite for `photo`: the target of a symlink; never a hard-linked file."""
    real = Path(os.path.realpath(photo)) if photo.is_symlink() else photo
    if real.exists() and os.stat(real).st_nlink > 1:
        raise XmpError(f"{display_path(photo)} has other hard links: writing into it would "
                       "split them; names were written to its sidecar only")
    return real


def _replace_durably(target: Path, data: bytes) -> None:
    """privacy.write_private with the file's own mode (0644 for a new sidecar: the user's
    file, not the library's); first the temp files of a write that was killed."""
    mode = os.stat(target).st_mode & 0o7777 if target.exists() else 0o644
    privacy.remove_stale_temps(target.parent, target.name)
    privacy.write_private(target, data, mode=mode)


def _merge(old: dict[str, object], regions: list[Region], width: int, height: int
           ) -> list[dict[str, object]]:
    """The new region list: the old items we keep (sub-keys verbatim), then ours."""
    kept = []
    for _, fields in sorted(_items(old, _LIST).items()):
        kind = str(fields.get("mwg-rs:Type", "Face"))
        box = _old_box(fields, width, height)
        if kind == "Face" and box is not None and any(
                iou(box, r.box) >= _SAME_REGION_IOU for r in regions):
            continue
        kept.append({k: v for k, v in fields.items() if k})
    for r in regions:
        x, y, w, h = r.box
        kept.append({
            "mwg-rs:Name": r.name, "mwg-rs:Type": "Face", "mwg-rs:Area": 'type="Struct"',
            "mwg-rs:Area/stArea:x": _num((x + w / 2) / width),
            "mwg-rs:Area/stArea:y": _num((y + h / 2) / height),
            "mwg-rs:Area/stArea:w": _num(w / width), "mwg-rs:Area/stArea:h": _num(h / height),
            "mwg-rs:Area/stArea:unit": "normalized"})
    return kept


def _old_box(fields: dict[str, object], width: int, height: int):
    try:
        cx, cy, w, h = (float(str(fields[f"mwg-rs:Area/stArea:{k}"])) for k in "xywh")
    except (KeyError, ValueError):
        return None
    return _to_pixels(cx - w / 2, cy - h / 2, w, h, width, height)


def _foreign_mp(old: dict[str, object], width: int, height: int) -> list[dict[str, object]]:
    """Microsoft-layout regions with no MWG twin (another tool wrote only those): kept."""
    mwg = [(str(f.get("mwg-rs:Name", "")), _old_box(f, 1, 1))
           for f in _items(old, _LIST).values()]
    kept = []
    for fields in _items(old, _MP_LIST).values():
        name = str(fields.get("MPReg:PersonDisplayName", ""))
        try:
            box = tuple(float(v) for v in str(fields.get("MPReg:Rectangle", "")).split(","))
        except ValueError:
            box = ()
        twin = len(box) == 4 and any(
            n == name and b is not None and iou(b, box) >= _SAME_REGION_IOU for n, b in mwg)
        if not twin:
            kept.append({k: v for k, v in fields.items() if k})
    return kept


def _region_keys(items: list[dict[str, object]], width: int, height: int,
                 foreign_mp: list[dict[str, object]] = ()) -> dict[str, object]:
    """Flat exiv2 keys, parents before children (exiv2 needs the containers first)."""
    keys = {_RS: "type=Struct", _DIMS: "type=Struct", f"{_DIMS}/stDim:w": str(width),
            f"{_DIMS}/stDim:h": str(height), f"{_DIMS}/stDim:unit": "pixel",
            _LIST: "type=Bag"}
    faces = []
    for i, fields in enumerate(items, start=1):
        keys[f"{_LIST}[{i}]"] = "type=Struct"
        for sub in sorted(fields, key=lambda k: k.count("/")):  # stable: parents first
            value = fields[sub]
            if isinstance(value, str) and value.startswith('type="'):
                value = "type=" + value[6:].rstrip('"')  # exiv2 reads back 'type="Struct"'
            keys[f"{_LIST}[{i}]/{sub}"] = value
        name = fields.get("mwg-rs:Name")
        if fields.get("mwg-rs:Type", "Face") == "Face" and name:
            box = _old_box(fields, 1, 1)
            if box is not None:
                faces.append((name, box))
    if faces or foreign_mp:  # Microsoft's layout, as digiKam writes it beside MWG
        keys[_MP] = "type=Struct"
        keys[_MP_LIST] = "type=Bag"
        i = 0
        for i, (name, (x, y, w, h)) in enumerate(faces, start=1):
            keys[f"{_MP_LIST}[{i}]"] = "type=Struct"
            keys[f"{_MP_LIST}[{i}]/MPReg:PersonDisplayName"] = name
            keys[f"{_MP_LIST}[{i}]/MPReg:Rectangle"] = ", ".join(map(_num, (x, y, w, h)))
        for i, fields in enumerate(foreign_mp, start=i + 1):  # other tools' regions, verbatim
            keys[f"{_MP_LIST}[{i}]"] = "type=Struct"
            for sub in sorted(fields, key=lambda k: k.count("/")):
                keys[f"{_MP_LIST}[{i}]/{sub}"] = fields[sub]
    return keys


def _num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def iou_matrix(boxes_a: list, boxes_b: list) -> np.ndarray:
    return np.array([[iou(a, b) for b in boxes_b] for a in boxes_a], dtype=np.float64
                    ).reshape(len(boxes_a), len(boxes_b))


















