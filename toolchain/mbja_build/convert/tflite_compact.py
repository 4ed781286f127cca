"""Make a multi-bucket .tflite file small: drop the debug names of internal tensors.

Weights are already shared between the signatures (one buffer, referenced by every subgraph),
but each subgraph carries its own tensor table, and litert-torch names every tensor after its
full PyTorch module path. Measured on a tiny model, those names were most of the ~245 KB that
every extra length bucket added. Names of signature inputs/outputs and of subgraph I/O are kept;
the interpreter addresses everything else by index.
"""
from __future__ import annotations

from pathlib import Path


def strip_internal_names(path: Path) -> int:
    """Rewrite ``path`` in place; returns the number of bytes saved."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    raw = Path(path).read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(raw, 0))
    # ai-edge-quantizer stores weights after the flatbuffer at absolute file offsets, which a
    # re-pack would invalidate: bring them inline (our models are far below the 2 GB limit).
    import numpy as np

    for buf in model.buffers or []:
        if buf.offset and buf.offset > 1:
            buf.data = np.frombuffer(raw, dtype=np.uint8, count=buf.size, offset=buf.offset)
            buf.offset, buf.size = 0, 0
    for index, subgraph in enumerate(model.subgraphs):
        keep = {int(i) for i in list(_seq(subgraph.inputs)) + list(_seq(subgraph.outputs))}
        for sig in model.signatureDefs or []:
            if sig.subgraphIndex == index:
                keep |= {t.tensorIndex for t in list(_seq(sig.inputs)) + list(_seq(sig.outputs))}
        for i, tensor in enumerate(subgraph.tensors):
            if i not in keep:
                tensor.name = f"t{i}"
    builder = flatbuffers.Builder(len(raw))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    out = builder.Output()
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_bytes(out)
    tmp.replace(path)
    return len(raw) - len(out)


def _seq(value):
    """The object API gives numpy arrays, lists or None for vectors."""
    return [] if value is None else value
