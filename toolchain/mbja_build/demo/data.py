"""Stockmark NER data (shipped as package data, mbja_build/data/ner.json.gz) and the fixed 60/40 split.

The seed model card evaluated on n=2,140 test sentences; we reproduce that size with a seeded
permutation so training, tests and benchmarks all agree on which sentences are unseen.
"""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np

from ..errors import UsageError

ENTITY_TYPES = ("人名", "法人名", "政治的組織名", "その他の組織名", "地名", "施設名", "製品名", "イベント名")
LABELS = ("O",) + tuple(f"{p}-{t}" for t in ENTITY_TYPES for p in ("B", "I"))
TEST_SIZE = 2140
SPLIT_SEED = 20240601


#: The copy shipped inside the package (CC-BY-SA 3.0, notice beside it), so an installed toolchain,
#: its tests and its benchmark need no file from anywhere else.
PACKAGED_NER = Path(__file__).resolve().parent.parent / "data" / "ner.json.gz"


def find_ner_json(explicit: str | os.PathLike | None = None) -> Path:
    """Which NER file to read: ``explicit`` (--data), else $MBJA_NER_JSON, else the packaged copy.

    Never a search of parent directories: a product that finds data beside its checkout works on
    its developers' machines only.
    """
    for source, value in (("--data", explicit), ("MBJA_NER_JSON", os.environ.get("MBJA_NER_JSON"))):
        if value:
            path = Path(value)
            if not path.is_file():
                raise UsageError(f"{source} {str(path)!r} is not a file (Stockmark's ner.json, or ner.json.gz)")
            return path
    if not PACKAGED_NER.is_file():  # a broken install, not a user error
        raise UsageError(f"the packaged NER data {PACKAGED_NER} is missing; reinstall mobilebert-ja-sdk")
    return PACKAGED_NER


def load_ner(path: str | os.PathLike | None = None) -> list[dict]:
    """The records of ner.json (or a gzip-compressed copy), checked for the fields every user reads."""
    found = find_ner_json(path)
    opener = gzip.open if found.name.endswith(".gz") else open
    try:
        with opener(found, "rt", encoding="utf-8") as f:
            records = json.load(f)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"{found}: not readable as ner.json ({e})") from None
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and isinstance(r.get("text"), str) and isinstance(r.get("entities"), list)
            for r in records):
        raise UsageError(f"{found}: expected a JSON list of {{'text': str, 'entities': [...]}} records")
    return records


def split(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Deterministic (train, test) split: 60 % / 40 % with the seed's test size of 2,140."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(records))
    n_test = TEST_SIZE if len(records) == 5343 else round(len(records) * 0.4)
    test_idx = set(order[:n_test].tolist())
    train = [r for i, r in enumerate(records) if i not in test_idx]
    test = [r for i, r in enumerate(records) if i in test_idx]
    return train, test
