"""Sequence classification: one label for a text (or a text pair), top-k with scores.

Scores are softmax probabilities, or independent sigmoids when the checkpoint was trained for
multi-label classification (config ``problem_type``) or has a single output, as transformers'
``TextClassificationPipeline`` decides. Texts longer than the model's length are truncated
(``longest_first`` for pairs), as transformers does for this task.
"""
from __future__ import annotations

import json

import numpy as np

from ..errors import MbjaError
from ..results import Label
from .base import Pipeline, softmax


def score_function(config: dict) -> str:
    if config.get("problem_type") == "multi_label_classification" or config.get("num_labels") == 1:
        return "sigmoid"
    if len(config.get("id2label") or {}) == 1:
        return "sigmoid"
    return "softmax"


def decode_labels(logits: np.ndarray, id2label: dict[int, str], top_k: int = 1,
                  function: str = "softmax") -> list[Label]:
    """``[{"label", "score"}]``, best first; ``top_k=None`` returns every label."""
    if logits.ndim != 1:
        raise MbjaError(f"sequence-classification logits must be 1-D, not {logits.shape}")
    if function == "softmax":
        scores = softmax(logits)
    elif function == "sigmoid":
        scores = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))
    else:
        raise MbjaError(f"unknown score function {function!r} (softmax or sigmoid)")
    k = len(scores) if top_k is None else top_k
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise MbjaError(f"top_k must be a positive int or None, not {top_k!r}")
    order = np.argsort(-scores, kind="stable")[:k]
    return [{"label": id2label.get(int(i), f"LABEL_{int(i)}"), "score": float(scores[i])} for i in order]


class TextClassificationPipeline(Pipeline):
    """``m(text, top_k=1)`` -> ``[{"label", "score"}, ...]`` (a list even for top_k=1: stable type)."""

    task = "sequence-classification"

    def preprocess(self, text: str, text_pair: str | None = None) -> dict:
        pair = None if text_pair is None else self._text(text_pair)
        return {"text": text, "encoding": self.tokenizer.encode(text, pair, max_length=self.max_length)}

    def postprocess(self, outputs: dict, top_k: int | None = 1, function: str | None = None) -> list[Label]:
        return decode_labels(outputs["logits"], self._labels(), top_k, function or self.score_function)

    @property
    def score_function(self) -> str:
        path = self.path / "config.json"
        config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        return score_function(config)
