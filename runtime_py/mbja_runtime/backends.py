"""Inference backends behind one interface: ONNX Runtime (dynamic shapes) and LiteRT (length buckets).

Both take un-padded int token arrays for ONE text and return the model output for the real
tokens only, so callers never see bucket padding. Backends are chosen from the manifest's
``models`` list, by name or by timing them at load (``choose_backend``); the heavy runtime module
is imported only when that backend is opened.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .bundle import output_name
from .errors import BundleError, MbjaError
from .threads import check_threads


class Backend:
    name: str
    precision: str
    #: The output's last axis (labels, vocabulary or hidden size) where the model declares it at
    #: open, else None (known only after a run).
    output_width: int | None = None

    def run(self, input_ids, attention_mask=None, token_type_ids=None) -> np.ndarray:
        """Output for one sequence: (seq, dim) for token-level outputs, (dim,) for pooled ones."""
        raise NotImplementedError

    def run_batch(self, batch: list[tuple]) -> list[np.ndarray]:
        """``run`` for several sequences ((input_ids, attention_mask, token_type_ids) each), in
        order. Here one by one; ONNX Runtime pads them into one batch."""
        return [self.run(*x) for x in batch]

    def close(self) -> None:
        """Let go of the engine's session / interpreter now instead of at garbage collection."""
        for attr in ("session", "interpreter", "_runners"):
            self.__dict__.pop(attr, None)

    @contextmanager
    def _engine(self, tokens: int):
        """An engine that fails at run on ids the tokenizer made has a model that does not take what
        its manifest promises (a max_length past its positions, a signature it lacks): a
        BundleError naming the model, not a traceback."""
        try:
            yield
        except (MbjaError, MemoryError):
            raise
        except Exception as e:
            raise BundleError(f"the {self.name} model failed on a {tokens}-token input: "
                              + f"{type(e).__name__}: {e}".splitlines()[0][:300]) from None

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
    """ONNX Runtime: ``InferenceSession.run`` is safe to call from several threads at once."""
    name = "onnx"

    def __init__(self, path: Path, spec: dict, num_threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if num_threads:
            opts.intra_op_num_threads = num_threads
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 4        # FATAL only: a failed run is our BundleError, not its log line
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.precision = spec.get("precision", "fp32")
        self.output = output_name(spec) or self.session.get_outputs()[0].name
        shape = next((o.shape for o in self.session.get_outputs() if o.name == self.output), None)
        width = shape[-1] if shape else None
        self.output_width = width if isinstance(width, int) and width > 0 else None

    def run(self, input_ids, attention_mask=None, token_type_ids=None) -> np.ndarray:
        ids, mask, types = self._inputs(input_ids, attention_mask, token_type_ids)
        feeds = {"input_ids": ids[None].astype(np.int64), "attention_mask": mask[None].astype(np.int64),
                 "token_type_ids": types[None].astype(np.int64)}
        with self._engine(ids.shape[0]):
            return self.session.run([self.output], feeds)[0][0]

    def run_batch(self, batch: list[tuple]) -> list[np.ndarray]:
        """One session call for the whole batch: padded to its longest sequence (attention mask 0,
        so real tokens attend to real tokens only), each output cut back to its own length.
        fp32 outputs equal one-by-one runs to float rounding (other matmul shapes). An int8 model
        still runs one by one: its activations are quantized per tensor, so in a batch every text's
        scale would depend on the others' (demo, 400 sentences, batch 32: the same entities for only
        373); a text's result must not depend on its neighbours."""
        if len(batch) < 2 or self.precision != "fp32":
            return super().run_batch(batch)
        arrays = [self._inputs(*x) for x in batch]
        lengths = [a[0].shape[0] for a in arrays]
        feeds = {name: np.zeros((len(batch), max(lengths)), np.int64)
                 for name in ("input_ids", "attention_mask", "token_type_ids")}
        for row, (n, parts) in enumerate(zip(lengths, arrays)):
            for name, a in zip(feeds, parts):
                feeds[name][row, :n] = a
        with self._engine(max(lengths)):
            out = self.session.run([self.output], feeds)[0]
        return [out[row, :n] if out.ndim == 3 else out[row] for row, n in enumerate(lengths)]


class TFLiteBackend(Backend):
    name = "tflite"

    def __init__(self, path: Path, spec: dict, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self.precision = spec.get("precision", "fp32")
        self.signatures = sorted(spec["signatures"], key=lambda s: s["length"])
        self.output = output_name(self.signatures[0])          # None: the signature's only output
        self._runners = {}
        # One Interpreter has one set of input/output buffers: two threads in run() at once
        # overwrite each other's inputs (4 threads on 200 sentences: 104 wrong results, no error).
        # Calls are serialised, as the Kotlin runtime does; for parallel throughput open one
        # backend per thread.
        self._lock = threading.Lock()
        # The smallest bucket runs now: a model that cannot run fails at open, and its output's
        # width is known (static shapes).
        self.output_width = int(self.run(np.full(2, 5)).shape[-1])

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
        pad = sig["length"] - n

        def padded(a):
            return np.pad(a.astype(np.int32), (0, pad))[None]

        with self._lock, self._engine(n):
            runner = self._runners.get(sig["name"])
            if runner is None:
                runner = self._runners[sig["name"]] = self.interpreter.get_signature_runner(sig["name"])
            outputs = runner(input_ids=padded(ids), attention_mask=padded(mask),    # returns copies
                             token_type_ids=padded(types))
        out = (outputs[self.output] if self.output else next(iter(outputs.values())))[0]
        return out[:n] if out.ndim == 2 else out


BACKENDS = {"onnx": OnnxBackend, "tflite": TFLiteBackend}


#: ``backend=`` values besides the BACKENDS' names: "auto" times every model of the bundle at
#: load and keeps the fastest; "first" takes the first the manifest lists (no timing).
CHOICES = ("auto", "first")
#: The timed input of "auto": the test split's average sentence (40.8 tokens). Not a bucket
#: length: TFLite pads it (to 48) as it pads real text, while ONNX runs it as is, so the probe
#: charges each engine what an ordinary sentence costs it (a 48-token probe hid TFLite's padding).
PROBE_TOKENS = 41
PROBE_RUNS = 5
#: Set to a backend name or to "first" to override "auto" without touching code (e.g. a server
#: whose CPU is known, or a test that must not time).
ENV = "MBJA_BACKEND"


def choose_backend(bundle_dir: str | Path, manifest: dict, backend: str | None = None,
                   num_threads: int | None = None) -> tuple[Backend, dict]:
    """(opened backend, why it was chosen).

    Which engine is faster depends on the CPU, not on the bundle: on an AVX-512 VNNI Xeon LiteRT's
    int8 ran NER 1.4x faster than ONNX Runtime's, on an AVX2-only EPYC ONNX Runtime was 1.7x
    faster than LiteRT. So with several models and no choice made (``backend`` None or "auto",
    and no $MBJA_BACKEND), each is opened and timed on the same ``PROBE_TOKENS``-token input,
    ``PROBE_RUNS`` runs each in turn after one warm-up, with the caller's ``num_threads``; the
    fastest (median) is kept, the others are closed. A model that fails to open is skipped and
    named in the reason. The reason dict says which, why, the timings and the CPU's features.
    """
    from . import cpu

    check_threads(num_threads)
    models = [m for m in manifest.get("models") or [] if m.get("backend") in BACKENDS]
    requested = backend if backend is not None else os.environ.get(ENV) or "auto"
    source = "argument" if backend is not None else (f"${ENV}" if os.environ.get(ENV) else "default")
    if requested not in BACKENDS and requested not in CHOICES:
        raise MbjaError(f"unknown backend {requested!r} ({source}); choose one of: "
                        f"{', '.join((*BACKENDS, *CHOICES))}")
    if requested in BACKENDS:
        models = [m for m in models if m["backend"] == requested]
    if not models:
        have = ", ".join(m.get("backend", "?") for m in manifest.get("models") or []) or "none"
        wanted = requested if requested in BACKENDS else "usable"
        raise BundleError(f"bundle {bundle_dir} has no {wanted} model (it has: {have})")
    features = cpu.features()

    def opened(spec):
        return BACKENDS[spec["backend"]](Path(bundle_dir) / spec["file"], spec, num_threads)

    if requested != "auto" or len(models) == 1:
        why = {"first": "the first model the manifest lists", "auto": "the bundle's only model"}.get(
            requested, f"asked for ({source})")
        try:
            return opened(models[0]), {"backend": models[0]["backend"], "reason": why, "cpu_features": features}
        except MbjaError:
            raise
        except Exception as e:        # engine not installed, or a file it cannot read (hash-consistent but corrupt)
            first = (str(e) if isinstance(e, ImportError) else f"{type(e).__name__}: {e}").splitlines()[0][:300]
            raise BundleError(f"the {models[0]['backend']} model of {bundle_dir} cannot run here: {first}") from None
    candidates, failed = {}, {}
    for spec in models:
        try:
            candidates[spec["backend"]] = opened(spec)
        except Exception as e:        # e.g. an engine not installed here: the others still run
            failed[spec["backend"]] = f"{type(e).__name__}: {e}".splitlines()[0][:200]
    if not candidates:
        raise BundleError(f"bundle {bundle_dir}: no model could be opened: "
                          + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    timings = _time_backends(candidates)
    best = min(timings, key=timings.get)
    for name, be in candidates.items():
        if name != best:
            be.close()
    ms = ", ".join(f"{k} {v:.2f} ms" for k, v in sorted(timings.items(), key=lambda kv: kv[1]))
    threads = f"{num_threads} thread(s)" if num_threads else "the engines' default threads"
    reason = f"fastest at load on a {PROBE_TOKENS}-token input ({ms}; {threads})"
    if failed:
        reason += "; could not open " + "; ".join(f"{k} ({v})" for k, v in failed.items())
    return candidates[best], {"backend": best, "reason": reason, "ms": {k: round(v, 3) for k, v in timings.items()},
                              "cpu_features": features, **({"failed": failed} if failed else {})}


def _time_backends(backends: dict[str, Backend]) -> dict[str, float]:
    """Median ms per run of each backend on one probe input, the backends taking turns."""
    import statistics
    import time

    ids = np.arange(PROBE_TOKENS, dtype=np.int64) % 97 + 5          # ordinary ids, valid in any vocabulary
    for be in backends.values():
        ids = ids[:min(len(ids), getattr(be, "max_length", len(ids)))]
    times: dict[str, list[float]] = {name: [] for name in backends}
    for round_ in range(PROBE_RUNS + 1):
        for name, be in backends.items():
            t = time.perf_counter()
            be.run(ids)
            if round_:                                                # the first run warms up
                times[name].append((time.perf_counter() - t) * 1e3)
    return {name: statistics.median(v) for name, v in times.items()}
