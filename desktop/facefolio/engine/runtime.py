"""ONNX Runtime, imported once with its telemetry off; execution providers and sessions.

Every engine module gets ONNX Runtime from `ort()`, never by importing it directly, so the
telemetry switch runs before the first session exists, whichever code path comes first.
"""
from __future__ import annotations

import threading
from pathlib import Path

from .errors import ModelError

# Accelerators both models run on when ONNX Runtime offers them, best first. TensorRT and
# OpenVINO are left out on purpose: they compile per input shape (minutes on first use).
GPU_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider")
CPU = "CPUExecutionProvider"

_lock = threading.Lock()
_module = None


def ort():
    """The onnxruntime module, with telemetry events disabled and quiet logging."""
    global _module
    if _module is None:
        with _lock:
            if _module is None:
                import onnxruntime  # noqa: PLC0415 - ~0.1 s, only when a model is needed

                # ORT_DISABLE_TELEMETRY (set by facefolio/__init__) keeps the client from
                # starting; this call also covers a process that imported us some other way.
                if hasattr(onnxruntime, "disable_telemetry_events"):
                    onnxruntime.disable_telemetry_events()
                onnxruntime.set_default_logger_severity(3)
                _module = onnxruntime
    return _module


def available_providers() -> list[str]:
    return list(ort().get_available_providers())


def choose_providers(available: list[str] | None = None) -> list[str]:
    """The accelerator ORT offers (if any), then the CPU as the fallback for every node."""
    available = available_providers() if available is None else available
    gpu = [p for p in GPU_PROVIDERS if p in available]
    return gpu[:1] + [CPU]


def on_gpu(providers: list[str]) -> bool:
    return any(p in GPU_PROVIDERS for p in providers)


def session_options(threads: int = 0, providers: list[str] | None = None):
    so = ort().SessionOptions()
    if threads > 0:
        so.intra_op_num_threads = threads
    # ORT's worker threads spin-wait between runs by default; between a scan's inferences
    # there is decoding and hashing, so spinning only burns the CPU the other workers need.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    if providers and "DmlExecutionProvider" in providers:
        # DirectML's documented requirements: no memory patterns, sequential execution.
        so.enable_mem_pattern = False
        so.execution_mode = ort().ExecutionMode.ORT_SEQUENTIAL
    return so


def make_session(path: str | Path, threads: int = 0, providers: list[str] | None = None):
    """An InferenceSession, or ModelError naming the file and the first line of the cause."""
    providers = providers or [CPU]
    try:
        return ort().InferenceSession(str(path), sess_options=session_options(threads, providers),
                                      providers=providers)
    except Exception as exc:
        raise ModelError(f"cannot load model {path}: {str(exc).splitlines()[0]}") from None


_sessions: dict[tuple, object] = {}


def shared_session(path: str | Path, threads: int = 0, providers: list[str] | None = None):
    """One session per (model file, threads, providers) for the whole process.

    ``InferenceSession.run`` is thread-safe, and with one intra-op thread a run computes on
    its caller's thread, so N scan workers can share a session: one 39 MB SFace in memory
    (and one load) instead of N.
    """
    key = (str(path), threads, tuple(providers or [CPU]))
    with _lock:
        session = _sessions.get(key)
    if session is None:
        session = make_session(path, threads, providers)
        with _lock:
            session = _sessions.setdefault(key, session)
    return session


def models_ready(pack: str) -> bool:
    """Whether the pack's models are ready to load without the one-time preparation (the
    conversion of the default pack, models.converted_model): a first run says so."""
    if pack != "yunet-sface":
        return True  # insightface packs load as they are
    from .models import CONVERSION, SFACE_FILE, SFACE_SHA, YUNET_FILE, YUNET_SHA, cache_dir

    for name, sha in ((YUNET_FILE, YUNET_SHA), (SFACE_FILE, SFACE_SHA)):
        out = cache_dir() / "models" / sha / f"{Path(name).stem}.{CONVERSION}.onnx"
        if not (out.is_file() and out.with_name(out.name + ".sha256").is_file()):
            return False
    return True
