"""Keep the additive attention mask working when a .tflite gets int8 activations (static-int8).

transformers turns ``attention_mask`` into an additive mask of 0 / -inf (or 0 / float32's minimum,
as the folded export does); litert-torch exports it as one tensor (``SELECT_V2(mask, 0, -inf)``)
that every layer ADDs to its attention scores before the softmax. Post-training static
quantization breaks it twice (measured on the demo NER model):

1. ai-edge-quantizer leaves values beyond +-3e38 out of the ranges it records (``valid_range`` of
   its min/max calibration), so the mask's range is [0, 0]: the masked value quantizes to 0 and
   padding tokens get attention. This alone cost ~2.5 points of token argmax agreement (97.4 %
   instead of 99.1 %), in int8 and int16 alike.
2. One mask feeds every layer, but a masked score has to end at or below the ADD's output minimum,
   so the mask must reach ``out_min - scores_max``: about -11 in layer 0, about -2e5 in later
   layers (MobileBERT's NoNorm lets attention scores grow to 1e5). One int8 scale for both puts
   the ADD's two input scales 10^4 apart, and LiteRT's int8 ADD then overflows: masked scores
   came out at the output's MAXIMUM.

So: find the mask (``find_additive_masks``: an ADD input that holds such values on a padded input,
the other input not), give each ADD its own copy (``split_shared_masks`` clones the producing op),
and after calibration set each copy's range to ``[MASK_HEADROOM * (out_min - scores_max), 0]``
(``widen_mask_ranges``). With the maximum exactly 0 the zero point is 127 and the masked value
clips to -128, so every copy holds exactly {0, its minimum} in its own scale (the 0 and
masked-value constants the copies share quantize to the same bytes whatever the scale), and the
int8 ADD saturates masked scores to its output minimum, which the softmax turns into (almost)
nothing. The graph stays full-integer.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from .tflite_flatbuffer import opcode, read_model, signature_subgraphs, tensor_name, write_model

#: How far below the required value a mask's minimum is put, against rounding in the scale.
MASK_HEADROOM = 1.05
#: Values at or below this are masked-out positions: the quantizer's calibration ignores them.
MASKED_BELOW = -3e38


def _add_code() -> int:
    from ai_edge_litert import schema_py_generated as schema

    return schema.BuiltinOperator.ADD


def find_additive_masks(path: Path, probes: dict[str, dict]) -> set[str]:
    """Names of tensors that are an ADD's masking input (``MASKED_BELOW``; the other input not) on ``probes``.

    ``probes``: ``{signature: feeds}``, each with some padding (attention_mask 0), run once on the
    float model with every intermediate tensor kept.
    """
    import warnings

    from ai_edge_litert.interpreter import Interpreter

    model, _ = read_model(path)
    subgraph_of = signature_subgraphs(model)
    with warnings.catch_warnings():      # "preserve_all_tensors is for debugging": that is the use
        warnings.simplefilter("ignore")
        interpreter = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    add, masks = _add_code(), set()
    for signature, feeds in probes.items():
        index = subgraph_of[signature]
        interpreter.get_signature_runner(signature)(**feeds)
        subgraph = model.subgraphs[index]

        def masking(t: int) -> bool:
            try:
                value = interpreter.get_tensor(t, index)
            except ValueError:           # never materialised (no data)
                return False
            return value.dtype.kind == "f" and bool((value <= MASKED_BELOW).any())

        for op in subgraph.operators:
            inputs = [int(i) for i in op.inputs]
            if opcode(model, op) != add or len(inputs) != 2:
                continue
            flags = [masking(t) for t in inputs]
            if sum(flags) == 1:
                masks.add(tensor_name(subgraph, inputs[flags.index(True)]))
    return masks


def split_shared_masks(src: Path, dst: Path, masks: set[str]) -> set[str]:
    """Write ``src`` to ``dst`` with one copy of each mask per consuming ADD; returns all mask names.

    A copy is a new tensor (name ``<mask>/mask_<k>``) made by a clone of the mask's producing op,
    inserted right after the original (its inputs are ready there). A constant mask (no producer)
    is copied as a tensor sharing the original's buffer. The float model computes the same thing.
    """
    model, _ = read_model(src)
    add, names = _add_code(), set(masks)
    for subgraph in model.subgraphs:
        index = {t.name.decode(): i for i, t in enumerate(subgraph.tensors)}
        ops = list(subgraph.operators)
        for mask in sorted(masks):
            t = index.get(mask)
            if t is None:
                continue
            users = [op for op in ops if opcode(model, op) == add and t in [int(i) for i in op.inputs]]
            producer = next((op for op in ops if t in [int(o) for o in op.outputs]), None)
            for k, user in enumerate(users[1:], start=1):
                clone = copy.deepcopy(subgraph.tensors[t])
                clone.name = f"{mask}/mask_{k}".encode()
                subgraph.tensors.append(clone)
                c = len(subgraph.tensors) - 1
                user.inputs = np.array([c if int(i) == t else int(i) for i in user.inputs], dtype=np.int32)
                if producer is not None:
                    twin = copy.deepcopy(producer)
                    twin.outputs = np.array([c], dtype=np.int32)
                    ops.insert(ops.index(producer) + 1, twin)
                names.add(clone.name.decode())
        subgraph.operators = ops
    write_model(model, dst)
    return names


def widen_mask_ranges(path: Path, ranges: dict, masks: set[str]) -> dict:
    """Calibration ranges with each mask's set to ``[MASK_HEADROOM * (out_min - scores_max), 0]``.

    ``ranges``: ai-edge-quantizer's calibration result ({tensor name: {"min", "max"}}), not changed
    in place. ``path`` must be the model the ranges were calibrated on (after ``split_shared_masks``).
    """
    model, _ = read_model(path)
    add, out = _add_code(), dict(ranges)
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            names = [tensor_name(subgraph, i) for i in op.inputs]
            if opcode(model, op) != add or len(names) != 2 or sum(n in masks for n in names) != 1:
                continue
            mask = names[0] if names[0] in masks else names[1]
            scores = names[1] if mask == names[0] else names[0]
            result = tensor_name(subgraph, op.outputs[0])
            if not (ranges.get(mask) and ranges.get(scores) and ranges.get(result)):
                continue     # not quantized: nothing to fix
            lowest = float(np.min(ranges[result]["min"])) - float(np.max(ranges[scores]["max"]))
            floor = MASK_HEADROOM * min(lowest, -1e-3)
            shape = np.shape(ranges[mask]["min"])
            out[mask] = {**ranges[mask], "min": np.full(shape, floor, dtype=np.float32),
                         "max": np.zeros(shape, dtype=np.float32)}
    return out
