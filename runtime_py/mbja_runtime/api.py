"""`mbja_runtime.load(bundle)`: one call to open a bundle, verified, with its tokenizer and model.

Everything a device needs comes from the bundle directory; nothing here imports torch,
transformers or TensorFlow (a test checks sys.modules in a fresh interpreter).
"""
from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np

from .backends import Backend, open_backend
from .bundle import read_manifest
from .errors import BundleError, MbjaError


class Bundle:
    """An opened bundle: manifest (sha256-checked at open), tokenizer, labels and one backend."""

    def __init__(self, bundle_dir: str | Path, backend: str | None = None, num_threads: int | None = None,
                 verify: bool = True):
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
    def backend(self) -> Backend:
        return open_backend(self.path, self.manifest, self._backend_name, self._num_threads)

    @cached_property
    def id2label(self) -> dict[int, str] | None:
        name = self.manifest.get("labels")
        if not name:
            return None
        return {int(k): v for k, v in json.loads((self.path / name).read_text(encoding="utf-8")).items()}

    @property
    def max_length(self) -> int:
        lengths = [self.manifest["max_length"]]
        for spec in self.manifest["models"]:
            if spec["backend"] == "tflite":
                lengths.append(max(s["length"] for s in spec["signatures"]))
        return min(lengths)

    def logits(self, text: str, pair: str | None = None) -> np.ndarray:
        """Raw model output for one text (truncated to the model's length), without padding."""
        if not isinstance(text, str):
            raise MbjaError(f"text must be a str, not {type(text).__name__}")
        enc = self.tokenizer.encode(text, pair, max_length=self.max_length)
        return self.backend.run(np.asarray(enc.input_ids), np.asarray(enc.attention_mask),
                                np.asarray(enc.token_type_ids))


def load(bundle_dir: str | Path, backend: str | None = None, num_threads: int | None = None,
         task: str | None = None, verify: bool = True):
    """Open a bundle and return the pipeline of its task (``m(text)``, ``m.logits``, ``m.tokenizer``).

    ``backend``: "onnx", "tflite" or None (the first model the bundle lists); ``num_threads``: the
    backend's intra-op threads (None: its default); ``task``: if given, refuse a bundle of another
    task instead of failing later; ``verify``: check every file's sha256 first (default, ~0.2 s).
    """
    from .pipelines import PIPELINES

    manifest_task = read_manifest(bundle_dir, verify=False)["task"]
    if task is not None and task != manifest_task:
        raise MbjaError(f"bundle {bundle_dir} is a {manifest_task} bundle, not {task}")
    cls = PIPELINES.get(manifest_task)
    if cls is None:
        raise BundleError(f"bundle {bundle_dir} has task {manifest_task!r}, which this runtime does not know "
                          f"({', '.join(PIPELINES)})")
    pipe = cls(bundle_dir, backend=backend, num_threads=num_threads, verify=verify)
    pipe.backend  # open it now: a wrong backend name or a broken model fails here, not at the first call
    return pipe
