"""Token classification (NER): IOB2 tags -> entities with character spans in the ORIGINAL text.

Aggregation strategies follow transformers' ``TokenClassificationPipeline``:

* ``"none"``: one result per token whose best label is not ignored (``entity``, ``score``, ``index``,
  ``word``, ``start``, ``end``);
* ``"simple"`` (default): each token takes its best label, then transformers' grouping
  (``iob.decode_iob2``: a ``B-X`` starts an entity, an ``I-X`` continues an ``X`` entity and starts
  one otherwise; a label without prefix counts as ``I-label``); an entity's score is the mean of
  its tokens' scores; labels in ``ignore_labels`` ("O") are dropped;
* ``"first"`` / ``"average"`` / ``"max"``: a word is a token with its ``##`` continuations; the word
  takes the label of its first token / of the mean of its tokens' probabilities / of its most
  confident token, then words are grouped as above (transformers offers these only with fast
  tokenizers; BertJapaneseTokenizer is slow, so here they are ours, with its definitions).

Texts longer than the model's length go through overlapping windows (``windows.py``), never cut.
"""
from __future__ import annotations

import numpy as np

from ..errors import BundleError, MbjaError
from ..iob import decode_iob2
from ..results import Entity, TokenTag
from ..tokenize import Encoding
from .base import Pipeline, softmax
from .windows import check_stride, windowed

AGGREGATIONS = ("none", "simple", "first", "average", "max")
#: Overlap between neighbouring windows, in tokens (capped at half a window for short models).
DEFAULT_STRIDE = 32


def _words(enc: Encoding) -> list[list[int]]:
    """Token indices of each word (a token and its ``##`` continuations); special tokens excluded."""
    words: list[list[int]] = []
    for i, (tok, span) in enumerate(zip(enc.tokens, enc.offsets)):
        if span is None:
            continue
        if tok.startswith("##") and words and words[-1][-1] == i - 1:
            words[-1].append(i)
        else:
            words.append([i])
    return words


def decode_entities(logits: np.ndarray, enc: Encoding, text: str, id2label: dict[int, str],
                    aggregation: str = "simple", ignore_labels=("O",)) -> list[Entity] | list[TokenTag]:
    """Entities from token logits (seq, labels) of ``enc``, the encoding of ``text``."""
    if aggregation not in AGGREGATIONS:
        raise MbjaError(f"unknown aggregation {aggregation!r}; choose one of: {', '.join(AGGREGATIONS)}")
    if logits.ndim != 2 or logits.shape[0] != len(enc):
        raise MbjaError(f"logits of shape {logits.shape} do not cover the encoding's {len(enc)} tokens")
    if logits.shape[1] > len(id2label):
        raise BundleError(f"the model scores {logits.shape[1]} labels, labels.json names {len(id2label)}")
    probs = softmax(logits)
    best = probs.argmax(-1)
    ignore = set(ignore_labels)
    if aggregation == "none":
        out = []
        for i, span in enumerate(enc.offsets):
            label = id2label[int(best[i])]
            if span is None or label in ignore:
                continue
            out.append({"entity": label, "score": float(probs[i, best[i]]), "index": i, "word": enc.tokens[i],
                        "start": span[0], "end": span[1]})
        return out
    if aggregation == "simple":
        units = [[i] for i, span in enumerate(enc.offsets) if span is not None]
        labels = [int(best[u[0]]) for u in units]
        scores = [float(probs[u[0], labels[k]]) for k, u in enumerate(units)]
    else:
        units, labels, scores = _words(enc), [], []
        for u in units:
            if aggregation == "first":
                p = probs[u[0]]
            elif aggregation == "average":
                p = probs[u].mean(axis=0)
            else:
                p = probs[u[int(probs[u].max(axis=1).argmax())]]
            labels.append(int(p.argmax()))
            scores.append(float(p.max()))
    tags = [id2label[l] for l in labels]
    spans = [(enc.offsets[u[0]][0], enc.offsets[u[-1]][1]) for u in units]
    out = []
    for e in decode_iob2(tags, spans, ignore):
        member = scores[e["first"]:e["last"] + 1]
        out.append({"type": e["type"], "text": text[e["start"]:e["end"]], "start": e["start"], "end": e["end"],
                    "score": float(np.mean(member))})
    return out


class TokenClassificationPipeline(Pipeline):
    """``m(text, aggregation="simple")`` -> ``[Entity, ...]`` (``results.Entity``); with
    ``aggregation="none"``: ``[TokenTag, ...]``."""

    task = "token-classification"

    def encode(self, text: str, pair: str | None = None) -> Encoding:
        return self.tokenizer.encode(self._text(text), pair, truncation=False)

    def logits(self, text: str, pair: str | None = None, stride: int | None = None) -> np.ndarray:
        """(tokens, labels) for EVERY token of the text: windows when it exceeds the model's length."""
        return self._logits(self.encode(text, pair), stride)

    def _logits(self, enc: Encoding, stride: int | None) -> np.ndarray:
        if stride is None:
            stride = min(DEFAULT_STRIDE, (self.max_length - 2) // 2)
        if len(enc) > self.max_length and 1 in enc.token_type_ids:
            raise MbjaError(f"a text pair of {len(enc)} tokens exceeds the model's {self.max_length}; "
                            f"sliding windows cover single texts only")

        def run(ids):
            return self.backend.run(np.asarray(ids), None, np.asarray(enc.token_type_ids[:len(ids)]))

        return windowed(run, enc.input_ids, self.max_length, stride)

    def preprocess(self, text: str) -> dict:
        return {"text": text, "encoding": self.encode(text)}

    def forward(self, inputs: dict, stride: int | None = None) -> dict:
        return {**inputs, "logits": self._logits(inputs["encoding"], stride)}

    def postprocess(self, outputs: dict, aggregation: str = "simple",
                    ignore_labels=("O",)) -> list[Entity] | list[TokenTag]:
        return decode_entities(outputs["logits"], outputs["encoding"], outputs["text"], self._labels(), aggregation,
                               ignore_labels)

    def _check_bundle(self) -> None:
        self._labels()

    def _check_options(self, options: dict) -> None:
        aggregation = options.get("aggregation")
        if "aggregation" in options and aggregation not in AGGREGATIONS:     # (the default is valid)
            raise MbjaError(f"unknown aggregation {aggregation!r}; choose one of: {', '.join(AGGREGATIONS)}")
        if options.get("stride") is not None:
            check_stride(options["stride"], self.max_length - 2)
        ignore = options.get("ignore_labels", ())
        if isinstance(ignore, str) or not isinstance(ignore, (list, tuple, set, frozenset)) \
                or not all(isinstance(x, str) for x in ignore):
            raise MbjaError(f"ignore_labels must be a list of label names (e.g. [\"O\"]), not {ignore!r}")
