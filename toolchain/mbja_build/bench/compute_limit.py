"""How close a bundle's TFLite model runs to the CPU's int8 compute limit at one sequence length.

End-to-end ratios (the main table) say how much faster than PyTorch a bundle is; they cannot say
how much faster it *could* be. This module answers that for one signature: it counts the
multiply-accumulates the graph performs (every FULLY_CONNECTED and BATCH_MATMUL, from the tensor
shapes in the flatbuffer, nothing estimated), times the signature alone (model inference only,
batch 1, fixed threads), and sets the time against these references:

- the CPU's limit: the best rate any engine here reaches on a GEMM large enough to hide per-op
  overheads, measured, not assumed: XNNPACK dynamic int8 and fp32, ONNX Runtime (MLAS) dynamic
  int8 and fp32 (``ENGINES``). A fixed figure misleads: XNNPACK's int8 GEMM reached 206 GMAC/s on
  an AVX-512 VNNI core and 42 GMAC/s on an AVX2-only one, where fp32 may be the faster path;
- the measured peak of the engine the model runs (XNNPACK dynamic int8);
- optionally a nominal rate the caller states (``nominal_gmacs``, e.g. 64 int8 MACs per VNNI
  instruction at ~3 GHz = 190 GMAC/s);
- the model's own GEMMs: each FULLY_CONNECTED shape of the signature timed alone, times its count,
  so what the model spends beyond them is what every other op adds.

The probes are built and quantized with the project's own converter and quantizer (ONNX Runtime's
with ``quantize_dynamic`` as bundles are). Probes and model take turns (``rounds`` alternations),
so a noisy neighbour slows all of them; the report names the CPU and its instruction-set flags.
"""
from __future__ import annotations

import contextlib
import io
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: The GEMM engines whose peak rate on this CPU is measured; the best of them is the CPU's limit.
ENGINES = ("xnnpack dynamic-int8", "xnnpack fp32", "onnxruntime dynamic-int8", "onnxruntime fp32")


@dataclass
class MacCount:
    total: int
    by_op: dict[str, int]
    ops: dict[str, int] = field(default_factory=dict)    # operator histogram of the signature
    gemms: dict[tuple[int, int, int], int] = field(default_factory=dict)  # FC (rows, in, out) -> count


def _opcode_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def _subgraph(model, signature: str):
    from ..convert.tflite_flatbuffer import signature_subgraphs

    index = signature_subgraphs(model)
    if signature not in index:
        raise KeyError(f"no signature {signature!r} in the model (has: {', '.join(index)})")
    return model.subgraphs[index[signature]]


def count_macs(model_path: Path, signature: str) -> MacCount:
    """Multiply-accumulates of one signature's matrix products, from the graph's static shapes.

    FULLY_CONNECTED: rows x in x out, rows = elements of the input / in (the weight is [out, in]).
    BATCH_MATMUL: batch x M x K x N after the adjoint flags. Elementwise ops are not counted: the
    nominal limit is a MAC rate, and they are what the gap to it is made of.
    """
    import math

    from ..convert.tflite_flatbuffer import opcode, read_model

    model, _ = read_model(model_path)
    graph = _subgraph(model, signature)
    names = _opcode_names()
    by_op: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    gemms: Counter[tuple[int, int, int]] = Counter()
    for op in graph.operators:
        code = opcode(model, op)
        name = names.get(code, str(code))
        ops[name] += 1
        shapes = [[int(d) for d in graph.tensors[i].shape] for i in op.inputs if i >= 0]
        if name == "FULLY_CONNECTED":
            out_dim, in_dim = shapes[1]
            rows = math.prod(shapes[0]) // in_dim
            by_op[name] += rows * in_dim * out_dim
            gemms[(rows, in_dim, out_dim)] += 1
        elif name == "BATCH_MATMUL":
            a, b = shapes[0], shapes[1]
            opts = op.builtinOptions
            m, k = (a[-1], a[-2]) if getattr(opts, "adjX", False) else (a[-2], a[-1])
            n = b[-2] if getattr(opts, "adjY", False) else b[-1]
            batch = math.prod(max(x, y) for x, y in zip(a[:-2], b[:-2])) if len(a) > 2 else 1
            by_op[name] += batch * m * k * n
    return MacCount(total=sum(by_op.values()), by_op=dict(by_op), ops=dict(ops), gemms=dict(gemms))


class _Runner:
    """One signature of one .tflite file, fed fixed inputs; ``once()`` returns seconds."""

    def __init__(self, path: Path, signature: str, threads: int, feeds: dict):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.run = self.interpreter.get_signature_runner(signature)
        self.feeds = feeds
        self.run(**feeds)   # allocate and warm

    def once(self) -> float:
        t = time.perf_counter()
        self.run(**self.feeds)
        return time.perf_counter() - t


def model_feeds(length: int, vocab_size: int) -> dict:
    """A full-length sentence of ordinary ids (no padding), as the timed bucket would see it."""
    import numpy as np

    rng = np.random.default_rng(0)
    ids = rng.integers(5, vocab_size, size=(1, length), dtype=np.int32)
    return {"input_ids": ids, "attention_mask": np.ones((1, length), np.int32),
            "token_type_ids": np.zeros((1, length), np.int32)}


def gemm_signature(shape: tuple[int, int, int]) -> str:
    return "gemm_{}x{}x{}".format(*shape)


#: FC layers per probe signature: one signature call costs ~20 us of Python and interpreter
#: overhead, as much as a whole 128x128x128 GEMM, so each probe runs many layers per call.
PROBE_LAYERS = 16


def build_gemm_probes(shapes: list[tuple[int, int, int]], out_file: Path, layers: int = PROBE_LAYERS,
                      quantize: str = "dynamic-int8") -> Path:
    """One .tflite (``quantize``: a --quantize value) with a signature per (rows, in, out) shape,
    converted and quantized exactly as bundles are: ``layers`` fully-connected layers of that
    shape read the same input and their outputs are summed (the adds cost ~1 % of the GEMMs), so
    a call's time / ``layers`` is what one FC of that shape costs inside a model."""
    import litert_torch
    import torch

    from ..quantize import quantize_tflite

    class Gemms(torch.nn.Module):
        def __init__(self, in_dim: int, out_dim: int):
            super().__init__()
            self.linears = torch.nn.ModuleList(torch.nn.Linear(in_dim, out_dim) for _ in range(layers))

        def forward(self, x):
            y = self.linears[0](x)
            for linear in self.linears[1:]:
                y = y + linear(x)
            return {"y": y}

    torch.manual_seed(0)
    converter = None
    for rows, in_dim, out_dim in shapes:
        add = litert_torch.signature if converter is None else converter.signature
        converter = add(gemm_signature((rows, in_dim, out_dim)), Gemms(in_dim, out_dim).eval(),
                        sample_kwargs={"x": torch.randn(rows, in_dim)})
    raw = out_file.with_suffix(".fp32.tflite")
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        converter.convert().export(str(raw))
    quantize_tflite(raw, out_file, quantize)
    return out_file


def build_onnx_gemm_probe(shape: tuple[int, int, int], out_file: Path, quantize: str,
                          layers: int = PROBE_LAYERS) -> Path:
    """The same probe as ONNX (``layers`` MatMuls of one input, summed), fp32 or quantized with
    ``quantize_dynamic`` as bundles are (``quantize.quantize_onnx``)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from ..quantize import quantize_onnx

    rows, in_dim, out_dim = shape
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array((rng.standard_normal((in_dim, out_dim)) / in_dim ** 0.5).astype(np.float32),
                                       f"w{i}") for i in range(layers)]
    nodes = [helper.make_node("MatMul", ["x", f"w{i}"], [f"y{i}"], name=f"matmul{i}") for i in range(layers)]
    nodes.append(helper.make_node("Sum", [f"y{i}" for i in range(layers)], ["y"]))
    graph = helper.make_graph(nodes, "gemm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, in_dim])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, out_dim])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    raw = out_file.with_suffix(".fp32.onnx")
    onnx.save(model, str(raw))
    quantize_onnx(raw, out_file, quantize)
    return out_file


class _OnnxRunner:
    """``_Runner`` for an ONNX probe: one session, ``threads`` intra-op threads."""

    def __init__(self, path: Path, threads: int, feeds: dict):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads, opts.log_severity_level = threads, 1, 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.feeds = feeds
        self.session.run(None, feeds)

    def once(self) -> float:
        t = time.perf_counter()
        self.session.run(None, self.feeds)
        return time.perf_counter() - t


@dataclass
class ComputeLimit:
    signature: str
    length: int
    threads: int
    gmac: float                 # the signature's MACs, in billions
    macs_by_op: dict
    ops: dict
    model_ms: float             # median inference time of the whole signature
    model_p10_ms: float
    cpu: str                    # model name and instruction-set flags (mbja_runtime.cpu.describe)
    cpu_features: list
    engine_gmacs: dict          # ENGINES -> measured rate on the peak shape (median)
    cpu_engine: str             # the fastest of them: what sets the CPU's limit
    cpu_gmacs: float
    cpu_limit_ms: float         # gmac / cpu_gmacs
    peak_shape: list
    peak_gmacs: float           # XNNPACK dynamic-int8 (the model's engine) on the peak shape
    peak_limit_ms: float        # gmac / peak rate
    gemm_ms: float              # the model's own FC shapes, each timed alone, times their counts
    gemms: list                 # [{"shape": [rows, in, out], "count", "ms" (one call), "gmacs"}]
    x_cpu: float                # model_ms / cpu_limit_ms: the target (<= 1.2)
    x_peak: float               # model_ms / peak_limit_ms
    x_gemm: float               # model_ms / gemm_ms: what everything but the FC GEMMs adds
    nominal_gmacs: float | None = None      # a stated rate, if the caller gave one
    nominal_limit_ms: float | None = None
    x_nominal: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def measure(model_path: Path, length: int, threads: int = 1, rounds: int = 30, vocab_size: int = 32768,
            peak: tuple[int, int, int] = (256, 1024, 1024), nominal_gmacs: float | None = None,
            progress=lambda i, n: None) -> ComputeLimit:
    """Time signature ``seq_<length>``, each engine's GEMM on the ``peak`` shape and each of the
    model's FC shapes (XNNPACK dynamic int8) alone, in alternation (``rounds`` of each), one
    interpreter / session per file, ``threads`` threads each."""
    import numpy as np

    from mbja_runtime import cpu

    signature = f"seq_{length}"
    macs = count_macs(model_path, signature)
    shapes = list(dict.fromkeys([tuple(peak), *macs.gemms]))
    runners = {signature: _Runner(model_path, signature, threads, model_feeds(length, vocab_size))}
    rng = np.random.default_rng(0)
    peak_x = {"x": rng.standard_normal(peak[:2]).astype(np.float32)}
    with tempfile.TemporaryDirectory(prefix="mbja-gemm-") as tmp:
        path = build_gemm_probes(shapes, Path(tmp) / "gemm.tflite")
        for shape in shapes:
            feeds = peak_x if shape == tuple(peak) else {"x": rng.standard_normal(shape[:2]).astype(np.float32)}
            runners[gemm_signature(shape)] = _Runner(path, gemm_signature(shape), threads, feeds)
        fp32 = build_gemm_probes([tuple(peak)], Path(tmp) / "gemm-fp32.tflite", quantize="none")
        runners["xnnpack fp32"] = _Runner(fp32, gemm_signature(tuple(peak)), threads, peak_x)
        for mode, engine in (("dynamic-int8", "onnxruntime dynamic-int8"), ("none", "onnxruntime fp32")):
            probe = build_onnx_gemm_probe(tuple(peak), Path(tmp) / f"gemm-{mode}.onnx", mode)
            runners[engine] = _OnnxRunner(probe, threads, peak_x)
        times: dict[str, list[float]] = {k: [] for k in runners}
        for i in range(rounds):
            for key, runner in runners.items():
                times[key].append(runner.once())
            progress(i + 1, rounds)
    med = {k: statistics.median(v) / (1 if k == signature else PROBE_LAYERS) for k, v in times.items()}
    model_ms = med[signature] * 1e3
    gmac = macs.total / 1e9
    peak_macs = peak[0] * peak[1] * peak[2]
    rate = lambda shape: shape[0] * shape[1] * shape[2] / med[gemm_signature(shape)] / 1e9  # noqa: E731
    gemms = [{"shape": list(s), "count": n, "ms": med[gemm_signature(s)] * 1e3, "gmacs": rate(s)}
             for s, n in sorted(macs.gemms.items(), key=lambda kv: -kv[1])]
    gemm_ms = sum(g["count"] * g["ms"] for g in gemms)
    peak_gmacs = rate(tuple(peak))
    engines = {"xnnpack dynamic-int8": peak_gmacs,
               **{e: peak_macs / med[e] / 1e9 for e in ENGINES if e != "xnnpack dynamic-int8"}}
    best = max(engines, key=engines.get)
    cpu_ms, peak_ms = gmac / engines[best] * 1e3, gmac / peak_gmacs * 1e3
    nominal_ms = gmac / nominal_gmacs * 1e3 if nominal_gmacs else None
    return ComputeLimit(
        signature=signature, length=length, threads=threads, gmac=gmac, macs_by_op=macs.by_op, ops=macs.ops,
        model_ms=model_ms, model_p10_ms=float(np.percentile(times[signature], 10) * 1e3),
        cpu=cpu.describe(), cpu_features=cpu.features(), engine_gmacs=engines, cpu_engine=best,
        cpu_gmacs=engines[best], cpu_limit_ms=cpu_ms, peak_shape=list(peak), peak_gmacs=peak_gmacs,
        peak_limit_ms=peak_ms, gemm_ms=gemm_ms, gemms=gemms, x_cpu=model_ms / cpu_ms,
        x_peak=model_ms / peak_ms, x_gemm=model_ms / gemm_ms, nominal_gmacs=nominal_gmacs,
        nominal_limit_ms=nominal_ms, x_nominal=model_ms / nominal_ms if nominal_ms else None)
