"""SFace recogniser run directly through ONNX Runtime: aligned crops in, 128-d embeddings out."""
from __future__ import annotations

import numpy as np


class SFaceEmbedder:
    """Embeds aligned 112x112 BGR crops. One instance per thread (see FaceEngine)."""

    def __init__(self, session, max_batch: int = 16) -> None:
        self.session = session
        inp = session.get_inputs()[0]
        self.input_name = inp.name
        self.output_name = session.get_outputs()[0].name
        self.dim = int(session.get_outputs()[0].shape[-1])
        # The converted graph takes any batch (models.py); a graph with a fixed batch of 1
        # (an older cache, another converter) is run one crop at a time.
        self.dynamic_batch = not isinstance(inp.shape[0], int) or inp.shape[0] != 1
        self.max_batch = max_batch if self.dynamic_batch else 1

    def embed_batch(self, crops: np.ndarray) -> np.ndarray:
        """N aligned BGR crops -> N x dim L2-normalised float32 embeddings."""
        crops = np.asarray(crops, np.uint8).reshape(-1, 112, 112, 3)
        if not len(crops):
            return np.zeros((0, self.dim), np.float32)
        # The graph normalises internally (Sub 127.5, Mul 1/128): it wants raw 0-255 RGB.
        blob = np.ascontiguousarray(crops[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32)
        feats = [self.session.run([self.output_name], {self.input_name: blob[i:i + self.max_batch]})[0]
                 for i in range(0, len(blob), self.max_batch)]
        return l2_normalise(np.concatenate(feats))


def l2_normalise(feats: np.ndarray) -> np.ndarray:
    feats = np.asarray(feats, np.float32).reshape(len(feats), -1)
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    return (feats / np.maximum(norms, 1e-12)).astype(np.float32)
