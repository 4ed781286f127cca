"""PyTorch -> one .tflite file with one signature per length bucket (litert-torch, no TensorFlow).

Phones run fixed shapes best, so each bucket is its own signature ("seq_32", "seq_64", ...) of
batch 1 with int32 inputs; the runtime pads a text to the smallest bucket that fits. litert-torch
names signature inputs after ``sample_kwargs`` keys and outputs after the keys of the returned dict.

MobileBERT is converted folded (``fold_nonorm``): NoNorms inside the linears and the projections
that share an input fused into one larger GEMM each, which XNNPACK runs at a better rate.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch

from ..tasks import Task, get_task
from .fold_nonorm import fold_mobilebert
from .wrapper import INPUT_NAMES, ExportWrapper, sample_inputs


def signature_name(length: int) -> str:
    return f"seq_{length}"


def export_tflite(model: torch.nn.Module, task: str | Task, out_file: Path, buckets: list[int],
                  vocab_size: int, quiet: bool = True, fold: bool = True) -> dict:
    """``task``: a task name or ``tasks.Task`` (its output and axes); ``fold=False`` converts the
    model exactly as transformers runs it (for comparisons)."""
    import litert_torch

    task = get_task(task)
    output = task.output
    if fold:
        model = fold_mobilebert(model, fuse_projections=True)
    wrapper = ExportWrapper(model, output, cast_to_long=True, as_dict=True).eval()
    converter = None
    for length in buckets:
        kwargs = sample_inputs(1, length, torch.int32, vocab_size)
        add = litert_torch.signature if converter is None else converter.signature
        converter = add(signature_name(length), wrapper, sample_kwargs=kwargs)
    # litert-torch prints a progress tree on stdout; our own progress bar replaces it.
    sink = io.StringIO()
    with torch.no_grad(), (contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext()):
        converter.convert().export(str(out_file))
    return {"signatures": [describe_signature(length, task) for length in buckets]}


def describe_signature(length: int, task: Task) -> dict:
    out_shape = [1, *(length if axis == "sequence" else axis for axis in task.output_axes)]
    output = task.output
    return {
        "name": signature_name(length),
        "length": length,
        "inputs": [{"name": n, "dtype": "int32", "shape": [1, length]} for n in INPUT_NAMES],
        "outputs": [{"name": output, "dtype": "float32", "shape": out_shape}],
    }
