"""One base class for every task: preprocess -> forward -> postprocess, as transformers' pipelines.

A pipeline IS the opened bundle (``Bundle``: manifest checked, tokenizer, backend, labels) plus
the task's call. Postprocessing is a pure function of NumPy logits and the ``Encoding``, so the
Kotlin SDK's decoders can be tested against it through shared vectors.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..api import Bundle
from ..errors import MbjaError


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax in float64 (stable for the large logits MobileBERT's NoNorm produces)."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class Pipeline(Bundle):
    """``m(text)`` -> the task's result; ``m([t1, t2])`` -> a list of results, one per text."""

    task: str = ""

    def __call__(self, inputs: str | Sequence[str], **options):
        if isinstance(inputs, str):
            return self.run_one(inputs, **options)
        if isinstance(inputs, (list, tuple)):
            return [self.run_one(self._text(t), **options) for t in inputs]
        raise MbjaError(f"input must be a str or a list of str, not {type(inputs).__name__}")

    @staticmethod
    def _text(text) -> str:
        if not isinstance(text, str):
            raise MbjaError(f"every input must be a str, not {type(text).__name__}")
        return text

    def run_one(self, text: str, **options):
        raise NotImplementedError

    def _labels(self) -> dict[int, str]:
        labels = self.id2label
        if not labels:
            raise MbjaError(f"bundle {self.path} has no labels.json; a {self.task} bundle needs one")
        return labels
