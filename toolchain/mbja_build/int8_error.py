"""Which ops int8 hurts most: each matmul's simulated int8 output error on real calibration text.

The repair search (repair.py) keeps the fewest ops in float, so it needs a ranking. Trying every op
alone (quantize all but one, measure) costs one quantization and one evaluation per op: hundreds on
a full-size MobileBERT. Instead the fp32 export is run once on the calibration inputs with every
weight matmul's activation input captured, and each op's quantization is replayed in NumPy the way
its runtime does it:

* ONNX Runtime ``quantize_dynamic`` (MatMulInteger): the activation as uint8, asymmetric, one scale
  per tensor; the weight as int8, symmetric, -64..64 (``quantize.ONNX_WEIGHT_LEVELS``), one scale
  per output column.
* XNNPACK dynamic int8 (TFLite ``FULLY_CONNECTED`` with int8 weights): the activation as int8,
  asymmetric, one scale per row (token); the weight as int8, symmetric, one scale per output row.

An op's error is ``||x̂ Ŵ - x W|| / ||x W||`` over all calibration tokens (Frobenius). It measures
exactly the damage each op does locally; the search then measures the whole model again, so a
ranking that misjudges an interaction costs an attempt, never accuracy.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np


def _fake_uint8_per_tensor(x: np.ndarray) -> np.ndarray:
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / 255.0 or 1.0
    zero = np.round(-lo / scale)
    return (np.clip(np.round(x / scale) + zero, 0, 255) - zero) * scale


def _fake_int8_per_row(x: np.ndarray) -> np.ndarray:
    lo = np.minimum(x.min(-1, keepdims=True), 0.0)
    hi = np.maximum(x.max(-1, keepdims=True), 0.0)
    scale = (hi - lo) / 255.0
    scale[scale == 0] = 1.0
    zero = np.round(-128 - lo / scale)
    return (np.clip(np.round(x / scale) + zero, -128, 127) - zero) * scale


def _fake_int8_symmetric(w: np.ndarray, axis: int, levels: int = 127) -> np.ndarray:
    """Per-channel symmetric int8 along ``axis`` (the output-channel axis), -levels..levels."""
    scale = np.abs(w).max(axis=1 - axis, keepdims=True) / float(levels)
    scale[scale == 0] = 1.0
    return np.clip(np.round(w / scale), -levels, levels) * scale


class _Errors:
    def __init__(self):
        self.num: dict[str, float] = {}
        self.den: dict[str, float] = {}

    def add(self, name: str, x: np.ndarray, xq: np.ndarray, w: np.ndarray, wq: np.ndarray) -> None:
        exact = x @ w
        diff = xq @ wq - exact
        self.num[name] = self.num.get(name, 0.0) + float((diff * diff).sum())
        self.den[name] = self.den.get(name, 0.0) + float((exact * exact).sum())

    def ranked(self) -> list[tuple[str, float]]:
        out = [(n, (self.num[n] / self.den[n]) ** 0.5 if self.den[n] > 0 else 0.0) for n in self.num]
        return sorted(out, key=lambda t: -t[1])


def onnx_ranking(model_path: Path, inputs: list[np.ndarray], weight_levels: int) -> list[tuple[str, float]]:
    """``[(node name, relative error)]``, worst first, for every MatMul of ``model_path`` (fp32)
    whose second input is a weight initializer: what ``quantize_dynamic`` would quantize, with
    weights in -weight_levels..weight_levels (the build's: ``quantize.ONNX_WEIGHT_LEVELS``)."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    model = onnx.load(str(model_path))
    weights = {t.name: t for t in model.graph.initializer}
    ops = [(n.name, n.input[0], n.input[1]) for n in model.graph.node
           if n.op_type == "MatMul" and len(n.input) == 2 and n.input[1] in weights]
    if not ops:
        return []
    w = {name: numpy_helper.to_array(weights[b]).astype(np.float64) for name, _, b in ops}
    wq = {name: _fake_int8_symmetric(m, axis=1, levels=weight_levels) for name, m in w.items()}
    have = {o.name for o in model.graph.output}
    for act in dict.fromkeys(a for _, a, _ in ops):
        if act not in have:
            model.graph.output.append(onnx.helper.make_tensor_value_info(act, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    errors = _Errors()
    for ids in inputs:
        ids = np.asarray(ids, dtype=np.int64)[None]
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        outs = dict(zip(names, session.run(names, {i.name: feeds[i.name] for i in session.get_inputs()})))
        for name, act, _ in ops:
            x = outs[act].astype(np.float64).reshape(-1, w[name].shape[0])
            errors.add(name, x, _fake_uint8_per_tensor(x), w[name], wq[name])
    return errors.ranked()


def tflite_op_key(name: str) -> str:
    """What names one FULLY_CONNECTED in every signature: litert-torch suffixes its output tensor's
    name per signature (``...Linear_0;4`` in seq_64, ``...Linear_0;9`` in seq_512; the head's
    ``seq_64_logits_output``), so the key drops a trailing ``;N`` and a leading ``seq_N_``."""
    return re.sub(r";\d*$", "", re.sub(r"^seq_\d+_", "", name))


def tflite_key_pattern(key: str) -> str:
    """A regex for ai-edge-quantizer's op scope (output tensor names, each followed by ";") that
    matches the op ``key`` (``tflite_op_key``) names, in every signature."""
    return rf"(^|;)(seq_\d+_)?{re.escape(key)}(;\d*)?;"


def tflite_ranking(model_path: Path, signatures: list[dict], inputs: list[np.ndarray]) -> list[tuple[str, float]]:
    """``[(op key, relative error)]``, worst first, for every FULLY_CONNECTED of the raw (named)
    fp32 export, each op ranked over all signatures (``tflite_op_key``)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from .convert.tflite_flatbuffer import opcode, read_model, signature_subgraphs, tensor_name

    model, _ = read_model(model_path)
    fully_connected = 9   # BuiltinOperator.FULLY_CONNECTED
    interpreter = Interpreter(model_path=str(model_path), experimental_preserve_all_tensors=True,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    by_length = sorted(signatures, key=lambda s: s["length"])
    subgraph_of = signature_subgraphs(model)
    errors = _Errors()
    cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for ids in inputs:
        n = len(ids)
        sig = next((s for s in by_length if s["length"] >= n), None)
        if sig is None:
            continue
        index = subgraph_of[sig["name"]]
        sg = model.subgraphs[index]
        pad = sig["length"] - n
        runner = interpreter.get_signature_runner(sig["name"])
        arr = lambda a: np.pad(np.asarray(a, dtype=np.int32), (0, pad))[None]  # noqa: E731
        runner(input_ids=arr(ids), attention_mask=arr(np.ones(n)), token_type_ids=arr(np.zeros(n)))
        for op_index, op in enumerate(sg.operators):
            if opcode(model, op) != fully_connected:
                continue
            data = model.buffers[sg.tensors[op.inputs[1]].buffer].data
            if data is None or len(data) == 0:   # not a constant weight
                continue
            key = (index, op_index)
            if key not in cache:
                w = interpreter.get_tensor(op.inputs[1], index).astype(np.float64)   # (out, in)
                cache[key] = (w.T, _fake_int8_symmetric(w, axis=0).T)
            w, wq = cache[key]
            x = interpreter.get_tensor(op.inputs[0], index).astype(np.float64).reshape(-1, w.shape[0])
            if x.shape[0] == sig["length"]:
                x = x[:n]                                   # the real tokens, not the bucket padding
            errors.add(tflite_op_key(tensor_name(sg, op.outputs[0])), x, _fake_int8_per_row(x), w, wq)
    return errors.ranked()
