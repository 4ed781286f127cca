"""Post-training quantization of exported models: ONNX Runtime for .onnx, ai-edge-quantizer for .tflite.

MobileBERT's int8 accuracy has collapsed before (tensorflow#44306), so a quantized model is never
trusted blindly: the build verifies it against PyTorch afterwards (see verify/tests).

``static-int8`` (weights AND activations int8, ranges calibrated on real sentences) is for NPU/DSP
delegates, which want a full-integer graph; on a CPU, LiteRT runs dynamic int8 faster (XNNPACK's
dynamic path beats its static one here, see README). It is TFLite only: ONNX Runtime's
``quantize_static`` (QDQ, same calibration) measured 97.7 % token argmax agreement with fp32 on
the demo and ran 3.4x slower than ``quantize_dynamic`` on one CPU thread, so ONNX gets dynamic int8.

ONNX int8 weights use 7 bits (``ONNX_WEIGHT_LEVELS``) so that the model computes the same on every
CPU: see ``quantize_onnx``.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import logging
from pathlib import Path

from .errors import UsageError

#: --quantize values; each maps to what the manifest records as the model's precision.
PRECISIONS = {"none": "fp32", "dynamic-int8": "dynamic-int8", "fp16": "fp16", "static-int8": "static-int8"}
#: What the ONNX model gets for each --quantize value (ORT: fp16 and static int8 lose on CPU).
ONNX_MODE = {"none": "none", "dynamic-int8": "dynamic-int8", "fp16": "none", "static-int8": "dynamic-int8"}
#: Largest |int8 weight| of an ONNX int8 model (ORT's ``reduce_range``: -64..64), see ``quantize_onnx``.
ONNX_WEIGHT_LEVELS = 64


def _check(mode: str) -> None:
    if mode not in PRECISIONS:
        raise UsageError(f"unknown quantization {mode!r}; choose one of: {', '.join(PRECISIONS)}")


def quantize_onnx(src: Path, dst: Path, mode: str, float_ops: list[str] | tuple = (), keep_src: bool = False) -> str:
    """Returns the precision actually written (see ``ONNX_MODE``). ``float_ops``: node names left
    in float (the repair search's fallback); ``keep_src``: leave ``src`` for another attempt.

    Weights are quantized to -64..64 (``reduce_range``), not -127..127, because ONNX Runtime's
    uint8 x int8 GEMM on x86 without VNNI (AVX2, AVX-512 without VNNI) multiplies with
    ``vpmaddubsw``, which saturates each pair of products at int16: 255 x 127 x 2 overflows,
    255 x 64 x 2 cannot. With full-range weights the same bundle computed differently on the
    build machine (VNNI: exact) and on an AVX2 one, so the accuracy the build verified was not the
    accuracy shipped (demo, 200 verify texts, logits against PyTorch: max abs diff 1.30 with VNNI,
    2.50 on AVX2 code paths; entity lists equal to PyTorch's 87.0 % vs 83.5 %). With 7-bit weights
    both CPUs give the same numbers (1.97, 88.0 %; decisive argmax agreement 99.96 % vs 99.95 %),
    at the same speed (full-size, 40 and 128 tokens, 1 thread: within noise on both). uint8
    weights (ORT's exact U8U8 kernel) were exact too but 1.4-1.7x slower with VNNI.
    ``session.x64quantprecision`` (the same, chosen at run time) was as slow.
    """
    _check(mode)
    if ONNX_MODE[mode] == "none":
        src.replace(dst)
        return "fp32"
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger("onnxruntime").setLevel(logging.ERROR)
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                     nodes_to_exclude=list(float_ops))
    if not keep_src:
        src.unlink()
    return "dynamic-int8"


def quantize_tflite(src: Path, dst: Path, mode: str, calibration: dict[str, list[dict]] | None = None,
                    float_ops: list[str] | tuple = (), keep_src: bool = False, float_types: tuple = (),
                    ranges_cache: dict | None = None) -> str:
    """Quantize the RAW litert-torch export (before ``strip_internal_names``: the quantizer keys
    tensors by name). ``calibration`` ({signature: [feeds]}, see calibration.py) is required by
    ``static-int8`` and ignored otherwise. ``float_ops``: FULLY_CONNECTED ops (keys of
    ``int8_error.tflite_op_key``) left in float (the repair search's fallback); ``float_types``: static-int8 only, op types
    (``qtyping.TFLOperationName`` names, e.g. ``ATTENTION_OPS``) left in float everywhere;
    ``keep_src``: leave ``src`` for another attempt; ``ranges_cache``: a dict the caller keeps
    across attempts on the same ``calibration``, so static-int8 calibrates each source model once
    (see ``_static_int8``)."""
    _check(mode)
    if float_types and mode != "static-int8":
        raise ValueError(f"float_types apply to static-int8 only, not {mode}")
    if mode == "none":
        src.replace(dst)
        return "fp32"
    from ai_edge_quantizer import qtyping, quantizer, recipe

    if mode == "static-int8":
        result = _static_int8(src, calibration, float_ops, float_types, ranges_cache)
    else:
        qt = quantizer.Quantizer(str(src))
        if mode == "dynamic-int8":
            qt.load_quantization_recipe(recipe.dynamic_wi8_afp32())
            _keep_float(qt, float_ops)
        else:  # fp16
            qt.add_weight_only_config(regex=".*", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
                                      num_bits=16, algorithm_key=recipe.AlgorithmName.FLOAT_CASTING)
        with contextlib.redirect_stdout(io.StringIO()):
            result = qt.quantize(enable_progress_bar=False, enable_progress_report=False)
    result.export_model(str(dst), overwrite=True)
    if not keep_src:
        src.unlink()
    return PRECISIONS[mode]


def _keep_float(qt, float_ops) -> None:
    """Recipe entries, added last so they win, that leave the FULLY_CONNECTED ops named by
    ``float_ops`` (op keys, ``int8_error.tflite_op_key``) unquantized in every signature."""
    from ai_edge_quantizer import qtyping
    from ai_edge_quantizer.algorithm_manager import AlgorithmName

    from .int8_error import tflite_key_pattern

    for key in float_ops:
        qt.update_quantization_recipe(tflite_key_pattern(key), qtyping.TFLOperationName.FULLY_CONNECTED,
                                      algorithm_key=AlgorithmName.NO_QUANTIZE)


#: static-int8's attention core, which the repair search may leave in float (``float_types``):
#: the softmax's int8 output has LiteRT's fixed scale 1/256, so over hundreds of positions most
#: attention probabilities round to nothing (demo, full 512-token inputs: 96.2 % token argmax
#: agreement with fp32, 98.7 % with these two types float; short sentences unchanged), and LiteRT's
#: int8 BATCH_MATMUL ran ~3x slower than its float one here (demo 512 tokens: 82 -> 23 ms).
ATTENTION_OPS = ("SOFTMAX", "BATCH_MATMUL")


def _static_int8(src: Path, calibration: dict[str, list[dict]] | None, float_ops=(), float_types=(),
                 ranges_cache: dict | None = None):
    """int8 weights (per channel) and int8 activations for every op the quantizer supports, float
    logits out (the runtimes read float32), int32 token inputs untouched. The embedding tables are
    int8 too, looked up into float and quantized right after (LiteRT has no int8-out lookup; the
    fp32 tables were 3.3 MB of the demo's 11.3). The attention mask is made to survive int8 first
    (convert/tflite_masks.py).

    Tried on the demo and rejected (token argmax agreement with fp32 on 200 test sentences; this
    recipe: 99.1 %): int16 activations everywhere (99.5 % with the mask fixed, but 45x slower:
    LiteRT has no fast int16 kernels on CPU), int16 for NoNorm / all elementwise ops / attention
    scores and softmax (+0.1 point at most, 6x slower), float for everything but FULLY_CONNECTED
    and BATCH_MATMUL (99.1 %, not full-integer), ranges as the true min/max or percentiles of the
    per-input extremes instead of the quantizer's moving average (98.0-99.2 %), ranges scaled by
    0.7-1.15 (all worse). Weights alone cost 0.15 point; the rest is activations' static ranges.
    Full 512-token inputs lose more (96.2 %): the softmax (``ATTENTION_OPS``).

    Calibration (running every signature on every calibration input, ~18 s of each ~20 s attempt
    on the demo) does not depend on which FULLY_CONNECTED ops stay float: it is done before those
    are taken out of the recipe, and with ``ranges_cache`` once per (source model, ``float_types``)
    -- ``float_types`` do change ranges (24 of 496 tensors with the attention core float). Checked
    on the demo: every float-ops attempt writes the same bytes from cached ranges as from its own.
    """
    from ai_edge_quantizer import qtyping, quantizer
    from ai_edge_quantizer.algorithm_manager import AlgorithmName

    from .convert.tflite_masks import find_additive_masks, split_shared_masks, widen_mask_ranges

    if not calibration or any(not feeds for feeds in calibration.values()):
        raise UsageError("static-int8 needs calibration inputs for every signature")
    probes = {sig: _with_padding(feeds[0]) for sig, feeds in calibration.items()}
    work = src.with_name(src.stem + ".masks.tflite")
    masks = split_shared_masks(src, work, find_additive_masks(src, probes))
    ops = qtyping.TFLOperationName
    qt = quantizer.Quantizer(str(work))
    qt.add_static_config(".*", ops.ALL_SUPPORTED, activation_num_bits=8, weight_num_bits=8)
    qt.add_dynamic_config(".*", ops.EMBEDDING_LOOKUP, num_bits=8)
    qt.update_quantization_recipe(".*", ops.OUTPUT, algorithm_key=AlgorithmName.NO_QUANTIZE)
    for name in float_types:
        qt.update_quantization_recipe(".*", getattr(ops, name), algorithm_key=AlgorithmName.NO_QUANTIZE)
    cache, key = ({}, None) if ranges_cache is None else \
        (ranges_cache, (hashlib.sha256(work.read_bytes()).hexdigest(), tuple(float_types)))
    # the quantizer's progress bars go to stderr and cannot be turned off for calibration
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        if key not in cache:
            ranges = qt.calibrate({sig: list(feeds) for sig, feeds in calibration.items()})
            cache[key] = widen_mask_ranges(work, ranges, masks)
        _keep_float(qt, float_ops)
        result = qt.quantize(copy.deepcopy(cache[key]), enable_progress_bar=False, enable_progress_report=False)
    work.unlink()
    return result


def _with_padding(feeds: dict) -> dict:
    """``feeds`` with the second half of the positions masked out, so the mask path holds -inf."""
    import numpy as np

    mask = np.array(feeds["attention_mask"], copy=True)
    mask[..., max(1, mask.shape[-1] // 2):] = 0
    return {**feeds, "attention_mask": mask}
