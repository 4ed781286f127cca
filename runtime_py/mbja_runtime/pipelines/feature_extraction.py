"""Feature extraction: one vector per text, by [CLS] or mean pooling, optionally L2-normalised.

Mean pooling averages the hidden states of the real tokens ([CLS] and [SEP] included, as
sentence-transformers does with the attention mask). Texts longer than the model's length are
truncated, as sentence-transformers does at its ``max_seq_length``.
"""
from __future__ import annotations

import numpy as np

from ..errors import MbjaError
from .base import Pipeline

POOLINGS = ("cls", "mean")


def pool(hidden: np.ndarray, pooling: str = "cls", normalize: bool = False) -> np.ndarray:
    """(seq, hidden) -> (hidden,) float32."""
    if hidden.ndim != 2 or hidden.shape[0] == 0:
        raise MbjaError(f"hidden states must be (seq, hidden), not {hidden.shape}")
    if pooling == "cls":
        v = np.asarray(hidden[0], dtype=np.float64)
    elif pooling == "mean":
        v = np.asarray(hidden, dtype=np.float64).mean(axis=0)
    else:
        raise MbjaError(f"unknown pooling {pooling!r}; choose one of: {', '.join(POOLINGS)}")
    if normalize:
        norm = np.linalg.norm(v)
        v = v / norm if norm > 0 else v
    return v.astype(np.float32)


class FeatureExtractionPipeline(Pipeline):
    """``m(text, pooling="cls", normalize=False)`` -> a float32 vector of the hidden size."""

    task = "feature-extraction"

    def preprocess(self, text: str) -> dict:
        return {"text": text, "encoding": self.tokenizer.encode(text, max_length=self.max_length)}

    def postprocess(self, outputs: dict, pooling: str = "cls", normalize: bool = False) -> np.ndarray:
        return pool(outputs["logits"], pooling, normalize)

    def _check_options(self, options: dict) -> None:
        pooling = options.get("pooling")
        if "pooling" in options and pooling not in POOLINGS:                 # (the default is valid)
            raise MbjaError(f"unknown pooling {pooling!r}; choose one of: {', '.join(POOLINGS)}")
