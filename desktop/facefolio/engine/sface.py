"""SFace recogniser: 5-point alignment to the ArcFace template, 128-d embedding."""
from __future__ import annotations

import warnings

import numpy as np
from insightface.model_zoo.arcface_onnx import ArcFaceONNX
from insightface.utils import face_align

ALIGNED_SIZE = 112
# insightface 0.7.3 calls scikit-image's deprecated SimilarityTransform.estimate once per
# face; the warning is noise for our users, so silence exactly that one.
warnings.filterwarnings("ignore", message="`estimate` is deprecated", category=FutureWarning)


def align(bgr: np.ndarray, kps: np.ndarray) -> np.ndarray:
    """Similarity-warp a face onto the 112x112 ArcFace template (YuNet's landmark order)."""
    return face_align.norm_crop(bgr, landmark=np.asarray(kps, np.float32), image_size=ALIGNED_SIZE)


class SFaceEmbedder:
    def __init__(self, model_file: str, session) -> None:
        self.model = ArcFaceONNX(model_file=model_file, session=session)
        # The graph normalises internally (Sub 127.5, Mul 1/128) and wants raw 0-255 RGB;
        # ArcFaceONNX's node-name heuristic misses that, so set it explicitly.
        self.model.input_mean = 0.0
        self.model.input_std = 1.0
        # The exported graph has a fixed batch of 1, so a batch is run one crop at a time.
        batch = session.get_inputs()[0].shape[0]
        self.dynamic_batch = not isinstance(batch, int) or batch != 1

    def embed_batch(self, crops: np.ndarray) -> np.ndarray:
        """N aligned BGR 112x112 crops -> N x 128 L2-normalised float32 embeddings."""
        crops = list(crops)
        if not crops:
            return np.zeros((0, 128), np.float32)
        if self.dynamic_batch:
            feats = self.model.get_feat(crops)  # swaps BGR->RGB itself (swapRB=True)
        else:
            feats = np.concatenate([self.model.get_feat([c]) for c in crops])
        return l2_normalise(feats)


def l2_normalise(feats: np.ndarray) -> np.ndarray:
    feats = np.asarray(feats, np.float32).reshape(len(feats), -1)
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    return (feats / np.maximum(norms, 1e-12)).astype(np.float32)
