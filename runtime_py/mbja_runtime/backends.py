"""Inference backends behind one interface: ONNX Runtime (dynamic shapes) and LiteRT (length buckets).

Both take un-padded int token arrays for ONE text and return the model output for the real
tokens only, so callers never see bucket padding. Backends are chosen from the manifest's
``models`` list; the heavy runtime module is imported only when that backend is opened.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import BundleError, MbjaError


class Backend:
    name: str
    precision: str

    def run(self, input_ids, attention_mask=None, token_type_ids=None) -> np.ndarray:
        """Output for one sequence: (seq, dim) for token-level outputs, (dim,) for pooled ones."""
        raise NotImplementedError

    @staticmethod
    def _inputs(input_ids, attention_mask, token_type_ids):
        ids = np.asarray(input_ids)
        if ids.ndim != 1 or ids.size == 0:
            raise MbjaError("input_ids must be a non-empty 1-D sequence of token ids")
        mask = np.ones_like(ids) if attention_mask is None else np.asarray(attention_mask)
        types = np.zeros_like(ids) if token_type_ids is None else np.asarray(token_type_ids)
        if mask.shape != ids.shape or types.shape != ids.shape:
            raise MbjaError("input_ids, attention_mask and token_type_ids must have the same length")
        return ids, mask, types


class OnnxBackend(Backend):
    name = "onnx"

    def __init__(self, path: Path, spec: dict, num_threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if num_threads:
            opts.intra_op_num_threads = num_threads
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.precision = spec.get("precision", "fp32")
        self.output = spec["outputs"][0]["name"]

    def run(self, input_ids, attention_mask=None, token_type_ids=None) -> np.ndarray:
        ids, mask, types = self._inputs(input_ids, attention_mask, token_type_ids)
        feeds = {"input_ids": ids[None].astype(np.int64), "attention_mask": mask[None].astype(np.int64),
                 "token_type_ids": types[None].astype(np.int64)}
        return self.session.run([self.output], feeds)[0][0]


class TFLiteBackend(Backend):
    name = "tflite"

    def __init__(self, path: Path, spec: dict, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self.precision = spec.get("precision", "fp32")
        self.signatures = sorted(spec["signatures"], key=lambda s: s["length"])
        self.output = self.signatures[0]["outputs"][0]["name"]
        self._runners = {}

    @property
    def max_length(self) -> int:
        return self.signatures[-1]["length"]

    def bucket_for(self, length: int) -> dict:
        for sig in self.signatures:
            if sig["length"] >= length:
                return sig
        raise MbjaError(f"sequence of {length} tokens exceeds the largest bucket ({self.max_length})")

    def run(self, input_ids, attention_mask=None, token_type_ids=None) -> np.ndarray:
        ids, mask, types = self._inputs(input_ids, attention_mask, token_type_ids)
        n = ids.shape[0]
        sig = self.bucket_for(n)
        runner = self._runners.get(sig["name"])
        if runner is None:
            runner = self._runners[sig["name"]] = self.interpreter.get_signature_runner(sig["name"])
        pad = sig["length"] - n

        def padded(a):
            return np.pad(a.astype(np.int32), (0, pad))[None]

        out = runner(input_ids=padded(ids), attention_mask=padded(mask), token_type_ids=padded(types))[self.output][0]
        return out[:n] if out.ndim == 2 else out


BACKENDS = {"onnx": OnnxBackend, "tflite": TFLiteBackend}


def open_backend(bundle_dir: str | Path, manifest: dict, backend: str | None = None,
                 num_threads: int | None = None) -> Backend:
    """Open ``backend`` (or the first model the bundle lists) from a verified manifest."""
    models = manifest.get("models") or []
    if backend is not None and backend not in BACKENDS:
        raise MbjaError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    for spec in models:
        if backend in (None, spec.get("backend")) and spec.get("backend") in BACKENDS:
            return BACKENDS[spec["backend"]](Path(bundle_dir) / spec["file"], spec, num_threads)
    have = ", ".join(m.get("backend", "?") for m in models) or "none"
    raise BundleError(f"bundle {bundle_dir} has no {backend or 'usable'} model (it has: {have})")
