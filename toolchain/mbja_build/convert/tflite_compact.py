"""Make a multi-bucket .tflite file small: drop the debug names of internal tensors.

Weights are already shared between the signatures (one buffer, referenced by every subgraph),
but each subgraph carries its own tensor table, and litert-torch names every tensor after its
full PyTorch module path. Measured on a tiny model, those names were most of the ~245 KB that
every extra length bucket added. Names of signature inputs/outputs and of subgraph I/O are kept;
the interpreter addresses everything else by index. Run it after quantization: ai-edge-quantizer
keys tensors by name across the whole file, and the short names repeat from one subgraph to the next.
"""
from __future__ import annotations

from pathlib import Path


def strip_internal_names(path: Path) -> int:
    """Rewrite ``path`` in place; returns the number of bytes saved."""
    from .tflite_flatbuffer import read_model, write_model

    model, size = read_model(path)
    for index, subgraph in enumerate(model.subgraphs):
        keep = {int(i) for i in list(_seq(subgraph.inputs)) + list(_seq(subgraph.outputs))}
        for sig in model.signatureDefs or []:
            if sig.subgraphIndex == index:
                keep |= {t.tensorIndex for t in list(_seq(sig.inputs)) + list(_seq(sig.outputs))}
        for i, tensor in enumerate(subgraph.tensors):
            if i not in keep:
                tensor.name = f"t{i}"
    return size - write_model(model, path)


def _seq(value):
    """The object API gives numpy arrays, lists or None for vectors."""
    return [] if value is None else value
