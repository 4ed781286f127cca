"""Read and write a .tflite file as the flatbuffer object API (``ModelT``), for graph edits.

ai-edge-quantizer stores weights after the flatbuffer at absolute file offsets, which a re-pack
would invalidate: ``read_model`` brings them inline first (our models are far below the 2 GB limit
where that matters).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def read_model(path: Path):
    """``(ModelT, size in bytes)`` with every buffer's data inline."""
    from ai_edge_litert import schema_py_generated as schema

    raw = Path(path).read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(raw, 0))
    for buf in model.buffers or []:
        if buf.offset and buf.offset > 1:
            buf.data = np.frombuffer(raw, dtype=np.uint8, count=buf.size, offset=buf.offset)
            buf.offset, buf.size = 0, 0
    return model, len(raw)


def write_model(model, path: Path) -> int:
    """Pack ``model`` into ``path`` (atomically: temp file, then rename); returns the new size."""
    import flatbuffers

    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    out = builder.Output()
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_bytes(out)
    tmp.replace(path)
    return len(out)


def opcode(model, op) -> int:
    """The builtin operator code of ``op`` (old files keep small codes in the deprecated field)."""
    code = model.operatorCodes[op.opcodeIndex]
    return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))


def signature_subgraphs(model) -> dict[str, int]:
    """``{signature key: subgraph index}``. Signatures are the names to go by: a subgraph's own name
    is the signature's only while there are several (litert-torch calls a lone one ``main``)."""
    return {s.signatureKey.decode(): s.subgraphIndex for s in model.signatureDefs or []}


def tensor_name(subgraph, index: int) -> str:
    return subgraph.tensors[int(index)].name.decode()
