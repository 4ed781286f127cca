"""An opened bundle: the manifest (sha256-checked at open), its tokenizer, labels and one backend.

Pipelines (``pipelines/``) are built from one, not derived from it, so the runtime has no import
cycle: ``api.load`` imports both, neither imports ``api``.
"""
from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np

from .backends import Backend, choose_backend
from .bundle import max_input_length, read_json_object, read_manifest
from .errors import BundleError, MbjaError

#: The tasks whose model scores labels.json's labels on its output's last axis.
LABELLED_TASKS = frozenset({"token-classification", "sequence-classification"})


class Bundle:
    """``Bundle(dir)``: manifest checked now, tokenizer and model opened on first use.

    Safe to share between threads (see ``backends``); ``close()`` or ``with Bundle(dir) as b:``
    lets go of the model's session / interpreter at once instead of at garbage collection.
    """

    def __init__(self, bundle_dir: str | Path, backend: str | None = None, num_threads: int | None = None,
                 verify: bool = True):
        if not isinstance(bundle_dir, (str, os.PathLike)):
            raise MbjaError(f"a bundle is a directory path (str or Path), not {type(bundle_dir).__name__}")
        self.path = Path(bundle_dir)
        self.manifest = read_manifest(self.path, verify=verify)
        self.task = self.manifest["task"]
        self._backend_name = backend
        self._num_threads = num_threads

    @cached_property
    def tokenizer(self):
        from .tokenize import Tokenizer

        # The manifest check at open already proved every file's sha256; skip the CRC pass.
        return Tokenizer.from_bundle(self.path, verify=False)

    @cached_property
    def _chosen(self) -> tuple[Backend, dict]:
        chosen = choose_backend(self.path, self.manifest, self._backend_name, self._num_threads)
        if chosen[0].output_width is not None and self.task in LABELLED_TASKS:
            try:                # where the model declares its width, a wrong one fails at open
                self.check_scored(chosen[0].output_width)
            except BaseException:
                chosen[0].close()
                raise
        return chosen

    @property
    def backend(self) -> Backend:
        return self._chosen[0]

    @property
    def backend_choice(self) -> dict:
        """Which model runs and why: {"backend", "reason", "cpu_features"[, "ms", "failed"]}."""
        return self._chosen[1]

    @cached_property
    def id2label(self) -> dict[int, str] | None:
        """labels.json as {id: label}, ids 0..n-1 (BundleError if it is anything else)."""
        name = self.manifest.get("labels")
        if not name:
            return None
        path = self.path / name
        raw = read_json_object(path, "labels file")
        labels = {int(k): v for k, v in raw.items() if k.isascii() and k.isdigit()}   # not int("+1"), int(" 1")
        if not raw or sorted(labels) != list(range(len(raw))) or not all(isinstance(v, str) for v in labels.values()):
            raise BundleError(f"{path} must map the ids 0..n-1 (decimal strings) to label names, "
                              f"as {{\"0\": \"O\", \"1\": \"B-人名\"}}")
        return labels

    def check_scored(self, scored: int) -> None:
        """A model may score fewer labels than labels.json names (the rest are never chosen), not
        more: those would have no name. Checked at open where the model declares its output's
        width, else on the first output."""
        labels = self.id2label
        if labels is not None and scored > len(labels):
            raise BundleError(f"the model scores {scored} labels, {self.manifest['labels']} names {len(labels)}")

    @cached_property
    def config(self) -> dict:
        """The source checkpoint's transformers config (config.json), {} when the bundle has none."""
        path = self.path / "config.json"
        return read_json_object(path, "config file") if path.is_file() else {}

    @property
    def max_length(self) -> int:
        return max_input_length(self.manifest)

    def logits(self, text: str, pair: str | None = None) -> np.ndarray:
        """Raw model output for one text (truncated to the model's length), without padding."""
        if not isinstance(text, str):
            raise MbjaError(f"text must be a str, not {type(text).__name__}")
        return self.run(self.tokenizer.encode(text, pair, max_length=self.max_length))

    def run(self, enc) -> np.ndarray:
        """The model's output for one ``Encoding`` (of at most ``max_length`` tokens), un-padded."""
        return self.backend.run(*_arrays(enc))

    def run_batch(self, encodings: list) -> list[np.ndarray]:
        """``run`` for several ``Encoding``s at once (``Backend.run_batch``), outputs in order."""
        return self.backend.run_batch([_arrays(e) for e in encodings])

    def close(self) -> None:
        """Release the opened model (a later call opens it again)."""
        chosen = self.__dict__.pop("_chosen", None)
        if chosen is not None:
            chosen[0].close()

    def __enter__(self) -> "Bundle":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _arrays(enc) -> tuple:
    """An ``Encoding``'s (input_ids, attention_mask, token_type_ids), what a backend takes."""
    return np.asarray(enc.input_ids), np.asarray(enc.attention_mask), np.asarray(enc.token_type_ids)
