"""IOB2 tag sequences -> entity spans, and the entity-level exact-match F1 the seed card reports.

Kept numpy-free and torch-free: the runtime decodes NER output with it on device, and the toolchain
and benchmarks score with the very same code, so a metric can't drift from what users get.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence


def split_tag(tag: str) -> tuple[str, str]:
    """("B"|"I", type): ``B-X`` and ``I-X`` as written; any other label counts as ``I-label``
    (transformers' ``get_tag``), so label sets without IOB prefixes group runs of equal labels."""
    if tag.startswith("B-"):
        return "B", tag[2:]
    if tag.startswith("I-"):
        return "I", tag[2:]
    return "I", tag


def decode_iob2(tags: Sequence[str], offsets: Sequence[tuple[int, int] | None],
                ignore: Iterable[str] = ("O",)) -> list[dict]:
    """Group token tags into entities ``{"type", "start", "end", "first", "last"}``.

    ``offsets[i]`` is token i's character span in the original text, or None for tokens that
    carry no text ([CLS], [SEP], padding), which close any open entity. ``first``/``last`` are
    token indices (inclusive), so callers can aggregate scores over the entity's tokens.
    transformers' rule (``TokenClassificationPipeline.group_entities``): a token continues the
    open entity when its type is the entity's and it is not a ``B-``; otherwise it starts a new
    one (so an ``I-X`` without a preceding ``X`` starts an entity). Entities whose type is in
    ``ignore`` are dropped (they still close the previous entity).
    """
    ignore = set(ignore)
    entities: list[dict] = []
    current: dict | None = None
    for i, (tag, span) in enumerate(zip(tags, offsets)):
        if span is None:
            current = None
            continue
        bi, etype = split_tag(tag)
        if current is not None and bi == "I" and current["type"] == etype:
            current["end"] = max(current["end"], span[1])
            current["last"] = i
            continue
        current = {"type": etype, "start": span[0], "end": span[1], "first": i, "last": i}
        entities.append(current)
    return [e for e in entities if e["type"] not in ignore]


def entity_f1(gold: Iterable[Iterable[tuple]], pred: Iterable[Iterable[tuple]]) -> dict:
    """Micro precision/recall/F1 over exact (type, start, end) matches, per sentence."""
    tp = n_gold = n_pred = 0
    for g, p in zip(gold, pred, strict=True):
        g, p = set(g), set(p)
        tp += len(g & p)
        n_gold += len(g)
        n_pred += len(p)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "gold": n_gold, "pred": n_pred}
