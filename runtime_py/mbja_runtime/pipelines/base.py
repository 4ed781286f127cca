"""One base class for every task, built on an opened bundle (``opened.Bundle``: manifest checked,
tokenizer, backend, labels), as transformers' pipelines are built on a model and a tokenizer.

Postprocessing is a pure function of NumPy logits and the ``Encoding``, so the Kotlin SDK's
decoders can be tested against it through shared vectors.
"""
from __future__ import annotations

import functools
import inspect
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


@functools.cache
def _step_options(cls) -> tuple[set, set, set]:
    """The option names preprocess, forward and postprocess of ``cls`` take."""
    steps = (cls.preprocess, cls.forward, cls.postprocess)
    return tuple(set(inspect.signature(f).parameters) - {"self", "text", "inputs", "outputs"} for f in steps)


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
        steps = self._split(options)             # a bad option: one clear error, before any work
        if isinstance(inputs, str):
            return self._run(inputs, *steps)
        if isinstance(inputs, (list, tuple)):
            return [self._run(self._text(t), *steps) for t in inputs]
        raise MbjaError(f"input must be a str or a list of str, not {type(inputs).__name__}")

    @staticmethod
    def _text(text) -> str:
        if not isinstance(text, str):
            raise MbjaError(f"every input must be a str, not {type(text).__name__}")
        return text

    def run_one(self, text: str, **options):
        """preprocess -> forward -> postprocess, each taking the options named in its signature
        (``_split``), as transformers' pipelines do; a batching caller can run ``forward`` on
        many preprocessed inputs at once."""
        return self._run(self._text(text), *self._split(options))

    def _run(self, text: str, pre: dict, fwd: dict, post: dict):
        return self.postprocess(self.forward(self.preprocess(text, **pre), **fwd), **post)

    def preprocess(self, text: str, **options) -> dict:
        """Text -> model inputs (at least ``"text"`` and ``"encoding"``)."""
        raise NotImplementedError

    def forward(self, inputs: dict, **options) -> dict:
        """Model inputs -> the same dict with ``"logits"`` (the backend's output for the encoding)."""
        return {**inputs, "logits": self.bundle.run(inputs["encoding"])}

    def postprocess(self, outputs: dict, **options):
        """Logits -> the task's result."""
        raise NotImplementedError

    def _split(self, options: dict) -> tuple[dict, dict, dict]:
        """The caller's options by the step whose signature names them; an unknown one is an error."""
        names = _step_options(type(self))
        unknown = set(options) - set().union(*names)
        if unknown:
            known = ", ".join(sorted(set().union(*names)))
            raise MbjaError(f"unknown option(s) {', '.join(sorted(unknown))} for {self.task}; "
                            f"known: {known or 'none'}")
        self._check_options(options)
        return tuple({k: v for k, v in options.items() if k in n} for n in names)

    def _check_options(self, options: dict) -> None:
        """Refuse option values a step would only reject after inference (a task overrides it)."""

    def _labels(self) -> dict[int, str]:
        labels = self.id2label
        if not labels:
            raise MbjaError(f"bundle {self.path} has no labels.json; a {self.task} bundle needs one")
        return labels
