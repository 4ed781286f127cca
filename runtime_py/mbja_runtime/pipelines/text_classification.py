"""Sequence classification: one label for a text (or a text pair), top-k with scores.

Scores are softmax probabilities, or independent sigmoids when the checkpoint was trained for
multi-label classification (config ``problem_type``) or has a single output, as transformers'
``TextClassificationPipeline`` decides. Texts longer than the model's length are truncated
(``longest_first`` for pairs), as transformers does for this task.
"""
from __future__ import annotations

import numpy as np

from ..errors import MbjaError
from ..results import Label
from .base import Pipeline, check_positive, softmax


def score_function(config: dict) -> str:
    labels = config.get("num_labels")
    if config.get("problem_type") == "multi_label_classification" or (labels == 1 and not isinstance(labels, bool)):
        return "sigmoid"
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and len(id2label) == 1:      # (the Kotlin and TypeScript rule too)
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
    check_positive("top_k", top_k)
    k = len(scores) if top_k is None else top_k
    order = np.argsort(-scores, kind="stable")[:k]
    return [{"label": id2label.get(int(i), f"LABEL_{int(i)}"), "score": float(scores[i])} for i in order]


class TextClassificationPipeline(Pipeline):
    """``m(text, top_k=1)`` -> ``[{"label", "score"}, ...]`` (a list even for top_k=1: stable type)."""

    task = "sequence-classification"

    def preprocess(self, text: str, text_pair: str | None = None) -> dict:
        pair = None if text_pair is None else self._text(text_pair)
        return {"text": text, "encoding": self.tokenizer.encode(text, pair, max_length=self.max_length)}

    def postprocess(self, outputs: dict, top_k: int | None = 1, function: str | None = None) -> list[Label]:
        self.bundle.check_scored(outputs["logits"].shape[-1])
        return decode_labels(outputs["logits"], self._labels(), top_k, function or self.score_function)

    def _check_bundle(self) -> None:
        self._labels()
        self.score_function

    def _check_options(self, options: dict) -> None:
        check_positive("top_k", options.get("top_k"))

    @property
    def score_function(self) -> str:
        return score_function(self.bundle.config)
