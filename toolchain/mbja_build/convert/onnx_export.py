"""PyTorch -> ONNX with dynamic batch and sequence axes (torch.onnx dynamo exporter).

MobileBERT is exported folded (``fold_nonorm``): NoNorms inside the linears, projections apart
(ORT's int8 quantizes a shared input once) and attention as ONNX Runtime's fused
``com.microsoft.MultiHeadAttention``; measured on the full-size shape, int8, 1 thread, that runs
~0.83x (32 tokens) / ~0.86x (128 tokens) of the unfolded graph's time.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..tasks import Task, get_task
from .fold_nonorm import fold_mobilebert
from .wrapper import INPUT_NAMES, ExportWrapper, sample_inputs

OPSET = 18


def export_onnx(model: torch.nn.Module, task: str | Task, out_file: Path, max_length: int, vocab_size: int,
                fold: bool = True) -> dict:
    """Write ``out_file`` and return its interface description for the manifest.

    ``task``: a task name or ``tasks.Task`` (its output and axes); ``fold=False`` exports the model
    exactly as transformers runs it (for comparisons)."""
    task = get_task(task)
    output = task.output
    if fold:
        model = fold_mobilebert(model, fuse_projections=False, onnx_attention=True)
    wrapper = ExportWrapper(model, output, cast_to_long=False).eval()
    kwargs = sample_inputs(2, min(16, max_length), torch.long, vocab_size)
    batch = torch.export.Dim("batch", min=1, max=1024)
    seq = torch.export.Dim("sequence", min=2, max=max_length)
    dynamic = {name: {0: batch, 1: seq} for name in INPUT_NAMES}
    with torch.no_grad():
        program = torch.onnx.export(
            wrapper, (), kwargs=kwargs, input_names=list(INPUT_NAMES), output_names=[output],
            dynamic_shapes=dynamic, opset_version=OPSET, dynamo=True, verbose=False,
            optimize=True,
        )
    program.save(str(out_file))
    out_shape = ["batch", *task.output_axes]
    return {
        "inputs": [{"name": n, "dtype": "int64", "shape": ["batch", "sequence"]} for n in INPUT_NAMES],
        "outputs": [{"name": output, "dtype": "float32", "shape": out_shape}],
        "opset": OPSET,
    }
