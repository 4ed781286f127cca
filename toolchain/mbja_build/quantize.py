"""Post-training quantization of exported models: ONNX Runtime for .onnx, ai-edge-quantizer for .tflite.

MobileBERT's int8 accuracy has collapsed before (tensorflow#44306), so a quantized model is never
trusted blindly: the build verifies it against PyTorch afterwards (see verify/tests).
"""
from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from .errors import UsageError

#: --quantize values; each maps to what the manifest records as the model's precision.
PRECISIONS = {"none": "fp32", "dynamic-int8": "dynamic-int8", "fp16": "fp16"}


def quantize_onnx(src: Path, dst: Path, mode: str) -> str:
    """Returns the precision actually written (fp16 has no CPU benefit in ORT, so ONNX stays fp32)."""
    if mode == "none" or mode == "fp16":
        src.replace(dst)
        return "fp32"
    if mode == "dynamic-int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        logging.getLogger("onnxruntime").setLevel(logging.ERROR)
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)
        src.unlink()
        return "dynamic-int8"
    raise UsageError(f"unknown quantization {mode!r}; choose one of: {', '.join(PRECISIONS)}")


def quantize_tflite(src: Path, dst: Path, mode: str) -> str:
    if mode == "none":
        src.replace(dst)
        return "fp32"
    from ai_edge_quantizer import qtyping, quantizer, recipe

    qt = quantizer.Quantizer(str(src))
    if mode == "dynamic-int8":
        qt.load_quantization_recipe(recipe.dynamic_wi8_afp32())
    elif mode == "fp16":
        qt.add_weight_only_config(regex=".*", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
                                  num_bits=16, algorithm_key=recipe.AlgorithmName.FLOAT_CASTING)
    else:
        raise UsageError(f"unknown quantization {mode!r}; choose one of: {', '.join(PRECISIONS)}")
    with contextlib.redirect_stdout(io.StringIO()):
        result = qt.quantize(enable_progress_bar=False, enable_progress_report=False)
    result.export_model(str(dst), overwrite=True)
    src.unlink()
    return PRECISIONS[mode]
