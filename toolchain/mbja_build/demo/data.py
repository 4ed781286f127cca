"""Stockmark NER data (../shared/data/ner.json) and the fixed 60/40 split used everywhere.

The seed model card evaluated on n=2,140 test sentences; we reproduce that size with a seeded
permutation so training, tests and benchmarks all agree on which sentences are unseen.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import UsageError

ENTITY_TYPES = ("人名", "法人名", "政治的組織名", "その他の組織名", "地名", "施設名", "製品名", "イベント名")
LABELS = ("O",) + tuple(f"{p}-{t}" for t in ENTITY_TYPES for p in ("B", "I"))
TEST_SIZE = 2140
SPLIT_SEED = 20240601


def find_ner_json(explicit: str | os.PathLike | None = None) -> Path:
    """Locate ner.json: explicit path, $MBJA_NER_JSON, or shared/data/ner.json beside a parent dir."""
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("MBJA_NER_JSON"):
        candidates.append(Path(os.environ["MBJA_NER_JSON"]))
    for base in (Path.cwd(), Path(__file__).resolve()):
        for parent in (base, *base.parents):
            candidates.append(parent / "shared" / "data" / "ner.json")
    for c in candidates:
        if c.is_file():
            return c
    raise UsageError(
        "cannot find ner.json; pass --data PATH or set MBJA_NER_JSON "
        "(it is Stockmark's ner-wikipedia-dataset, CC-BY-SA 3.0)"
    )


def load_ner(path: str | os.PathLike | None = None) -> list[dict]:
    with open(find_ner_json(path), encoding="utf-8") as f:
        return json.load(f)


def split(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Deterministic (train, test) split: 60 % / 40 % with the seed's test size of 2,140."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(records))
    n_test = TEST_SIZE if len(records) == 5343 else round(len(records) * 0.4)
    test_idx = set(order[:n_test].tolist())
    train = [r for i, r in enumerate(records) if i not in test_idx]
    test = [r for i, r in enumerate(records) if i in test_idx]
    return train, test
