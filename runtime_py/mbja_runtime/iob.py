"""IOB2 tag sequences -> entity spans, and the entity-level exact-match F1 the seed card reports.

Kept numpy-free and torch-free: the runtime decodes NER output with it on device, and the toolchain
and benchmarks score with the very same code, so a metric can't drift from what users get.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence


def decode_iob2(tags: Sequence[str], offsets: Sequence[tuple[int, int] | None]) -> list[dict]:
    """Group token tags into entities ``{"type", "start", "end", "first", "last"}``.

    ``offsets[i]`` is token i's character span in the original text, or None for tokens that
    carry no text ([CLS], [SEP], padding), which close any open entity. ``first``/``last`` are
    token indices (inclusive), so callers can aggregate scores over the entity's tokens.
    An ``I-X`` that does not continue an ``X`` entity starts a new one (the usual lenient rule,
    also transformers' "simple" aggregation).
    """
    entities: list[dict] = []
    current: dict | None = None
    for i, (tag, span) in enumerate(zip(tags, offsets)):
        if span is None or tag == "O" or "-" not in tag:
            current = None
            continue
        prefix, etype = tag.split("-", 1)
        if prefix == "I" and current is not None and current["type"] == etype:
            current["end"] = max(current["end"], span[1])
            current["last"] = i
            continue
        current = {"type": etype, "start": span[0], "end": span[1], "first": i, "last": i}
        entities.append(current)
    return entities


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
