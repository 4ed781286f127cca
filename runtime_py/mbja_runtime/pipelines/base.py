"""One base class for every task, built on an opened bundle (``opened.Bundle``: manifest checked,
tokenizer, backend, labels), as transformers' pipelines are built on a model and a tokenizer.

Postprocessing is a pure function of NumPy logits and the ``Encoding``, so the Kotlin SDK's
decoders can be tested against it through shared vectors.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..backends import Backend
from ..errors import MbjaError
from ..opened import Bundle


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax in float64 (stable for the large logits MobileBERT's NoNorm produces)."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class Pipeline:
    """``m(text)`` -> the task's result; ``m([t1, t2])`` -> a list of results, one per text.

    ``Pipeline(bundle)``: an ``opened.Bundle``, or a bundle directory opened with ``backend``,
    ``num_threads`` and ``verify`` as ``opened.Bundle`` takes them. ``close()`` / ``with``
    release the model. Safe to call from several threads (see ``backends``).
    """

    task: str = ""

    def __init__(self, bundle: Bundle | str | Path, backend: str | None = None, num_threads: int | None = None,
                 verify: bool = True):
        self.bundle = bundle if isinstance(bundle, Bundle) else Bundle(bundle, backend, num_threads, verify)
        if self.bundle.task != self.task:
            raise MbjaError(f"bundle {self.bundle.path} is a {self.bundle.task} bundle, not {self.task}")

    # the opened bundle, as the pipeline's users reach it
    @property
    def path(self) -> Path:
        return self.bundle.path

    @property
    def manifest(self) -> dict:
        return self.bundle.manifest

    @property
    def tokenizer(self):
        return self.bundle.tokenizer

    @property
    def backend(self) -> Backend:
        return self.bundle.backend

    @property
    def backend_choice(self) -> dict:
        return self.bundle.backend_choice

    @property
    def id2label(self) -> dict[int, str] | None:
        return self.bundle.id2label

    @property
    def max_length(self) -> int:
        return self.bundle.max_length

    def logits(self, text: str, pair: str | None = None) -> np.ndarray:
        """Raw model output for one text (truncated to the model's length), without padding."""
        return self.bundle.logits(text, pair)

    def close(self) -> None:
        self.bundle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

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
