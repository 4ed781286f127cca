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
from ..errors import BundleError, MbjaError
from ..opened import Bundle


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax in float64 (stable for the large logits MobileBERT's NoNorm produces)."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def check_positive(name: str, value, none_ok: bool = True) -> None:
    """Refuse an option that must be a positive int (or None, when ``none_ok``)."""
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MbjaError(f"{name} must be a positive int{' or None' if none_ok else ''}, not {value!r}")


def _or_error(step):
    """``step()``, or the MbjaError it raised for its one text; a BundleError (the bundle cannot
    serve any text) propagates instead of becoming every text's error."""
    try:
        return step()
    except BundleError:
        raise
    except MbjaError as e:
        return e


def _check_batch_size(batch_size) -> None:
    check_positive("batch_size", batch_size)


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
        self._check_bundle()

    def _check_bundle(self) -> None:
        """Read now what the task needs besides the model (a task overrides it), so a bundle with a
        malformed labels.json fails at load as an unusable bundle, not at every text. A labels.json
        the manifest names is checked for every task, as the Kotlin and TypeScript readers do."""
        self.id2label

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

    def __call__(self, inputs: str | Sequence[str], batch_size: int | None = None, **options):
        """``batch_size``: for a list, run the model on up to that many texts at once (texts of
        similar length together; see ``forward_batch``); results stay in input order and equal
        one-at-a-time results (fp32: to float rounding). None or 1: one text per model call."""
        _check_batch_size(batch_size)
        steps = self._split(options)             # a bad option: one clear error, before any work
        if isinstance(inputs, str):
            return self._run(inputs, *steps)
        if not isinstance(inputs, (list, tuple)):
            raise MbjaError(f"input must be a str or a list of str, not {type(inputs).__name__}")
        if not batch_size or batch_size == 1:
            return [self._run(self._text(t), *steps) for t in inputs]
        pre, fwd, post = steps
        prepared = [self.preprocess(self._text(t), **pre) for t in inputs]
        return [self.postprocess(o, **post) for o in self.forward_batch(prepared, batch_size, **fwd)]

    def check_options(self, batch_size: int | None = None, **options) -> None:
        """Raise the ``MbjaError`` a call with these options would raise, without running anything:
        a CLI or a corpus job checks once up front instead of failing every text."""
        _check_batch_size(batch_size)
        self._split(options)

    def process(self, texts: Sequence, batch_size: int | None = None, **options) -> list:
        """For corpus jobs: ``m(texts, batch_size=...)``, except that a text that cannot be processed
        (not a str, invalid UTF-8, a window MeCab would cut) gives its ``MbjaError`` in its place,
        so one bad line does not cost the batch. A bad option still raises before any work, and a
        ``BundleError`` (the bundle cannot serve any text) raises rather than fail every line."""
        _check_batch_size(batch_size)
        pre, fwd, post = self._split(options)
        out: list = [_or_error(lambda t=t: self.preprocess(self._text(t), **pre)) for t in texts]
        order = [i for i, x in enumerate(out) if not isinstance(x, MbjaError)]
        try:
            if batch_size and batch_size > 1:
                forwarded = self.forward_batch([out[i] for i in order], batch_size, **fwd)
            else:
                forwarded = [self.forward(out[i], **fwd) for i in order]
        except BundleError:
            raise
        except MbjaError:                      # find the text that failed; the others still run
            forwarded = [_or_error(lambda i=i: self.forward(out[i], **fwd)) for i in order]
        for i, f in zip(order, forwarded):
            out[i] = f if isinstance(f, MbjaError) else _or_error(lambda f=f: self.postprocess(f, **post))
        return out

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

    def forward_batch(self, inputs: list[dict], batch_size: int, **options) -> list[dict]:
        """``forward`` for many preprocessed inputs, in their order. Those the model takes whole
        are sorted by token count and run ``batch_size`` at a time, each batch padded to its
        longest (sorting keeps the padding small); longer ones (NER windows) go one by one."""
        out: list = [None] * len(inputs)
        whole = sorted((i for i, x in enumerate(inputs) if len(x["encoding"]) <= self.max_length),
                       key=lambda i: len(inputs[i]["encoding"]))
        for i in set(range(len(inputs))) - set(whole):
            out[i] = self.forward(inputs[i], **options)
        for c in range(0, len(whole), batch_size):
            chunk = whole[c:c + batch_size]
            for i, logits in zip(chunk, self.bundle.run_batch([inputs[i]["encoding"] for i in chunk])):
                out[i] = {**inputs[i], "logits": logits}
        return out

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
            raise BundleError(f"bundle {self.path} has no labels.json; a {self.task} bundle needs one")
        return labels
