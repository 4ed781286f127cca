"""`mbja_runtime.load(bundle)`: one call to open a bundle, verified, with its tokenizer and model.

Everything a device needs comes from the bundle directory; nothing here imports torch,
transformers or TensorFlow (a test checks sys.modules in a fresh interpreter).
"""
from __future__ import annotations

from pathlib import Path

from .errors import BundleError, MbjaError
from .opened import Bundle
from .pipelines import PIPELINES, Pipeline


def load(bundle_dir: str | Path, backend: str | None = None, num_threads: int | None = None,
         task: str | None = None, verify: bool = True) -> Pipeline:
    """Open a bundle and return the pipeline of its task (``m(text)``, ``m.logits``, ``m.tokenizer``).

    ``backend``: "onnx", "tflite", "first" (the first model the bundle lists) or None / "auto"
    (the fastest here: each model is timed once at load, see ``backends.choose_backend``;
    $MBJA_BACKEND overrides None; ``m.backend_choice`` says what was chosen and why);
    ``num_threads``: the backend's intra-op threads (None: its default); ``task``: if given, refuse a bundle of another
    task instead of failing later; ``verify``: check every file's sha256 first (default, ~0.2 s).
    """
    bundle = Bundle(bundle_dir, backend=backend, num_threads=num_threads, verify=verify)
    if task is not None and task != bundle.task:
        raise MbjaError(f"bundle {bundle_dir} is a {bundle.task} bundle, not {task}")
    cls = PIPELINES.get(bundle.task)
    if cls is None:
        raise BundleError(f"bundle {bundle_dir} has task {bundle.task!r}, which this runtime does not know "
                          f"({', '.join(PIPELINES)})")
    pipe = cls(bundle)
    pipe.backend      # open them now: a wrong backend name, a broken model or a tokenizer that
    pipe.tokenizer    # cannot load fails here as an unusable bundle, not at every text
    return pipe
