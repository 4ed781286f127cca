"""Fill-mask: the top-k vocabulary tokens for every [MASK] in a text.

The result is one list per [MASK] (a list of lists even for one mask: a stable type). Each
candidate's ``sequence`` is the ORIGINAL text with that [MASK] replaced by the token (``##``
removed) and the other masks left in place; transformers instead decodes the ids, which puts
spaces between Japanese words. A [MASK] beyond the model's length is an error, not a silent cut.
"""
from __future__ import annotations

import numpy as np

from ..errors import MbjaError
from ..results import Filler
from ..tokenize import Encoding
from .base import Pipeline, check_positive, softmax


def decode_masks(logits: np.ndarray, enc: Encoding, text: str, mask_id: int, id2token,
                 top_k: int = 5) -> list[list[Filler]]:
    """Per [MASK] of ``enc`` (vocabulary logits (seq, vocab)): ``[{"token", "token_str", "score", "sequence"}]``."""
    check_positive("top_k", top_k, none_ok=False)
    out = []
    for i, tid in enumerate(enc.input_ids):
        if tid != mask_id or enc.offsets[i] is None:
            continue
        probs = softmax(logits[i])
        start, end = enc.offsets[i]
        cands = []
        for j in np.argsort(-probs, kind="stable")[:top_k]:
            token = id2token(int(j))
            cands.append({"token": int(j), "token_str": token, "score": float(probs[j]),
                          "sequence": text[:start] + token.removeprefix("##") + text[end:]})
        out.append(cands)
    return out


class FillMaskPipeline(Pipeline):
    """``m("東京は日本の[MASK]です。", top_k=5)`` -> ``[[{"token", "token_str", "score", "sequence"}, ...]]``."""

    task = "fill-mask"

    def preprocess(self, text: str) -> dict:
        tok = self.tokenizer
        mask = tok.settings["mask_token"]
        enc = tok.encode(text, truncation=False)
        mask_id = tok.vocab[mask]
        positions = [i for i, t in enumerate(enc.input_ids) if t == mask_id]
        if not positions:
            raise MbjaError(f"no {mask} in the text: fill-mask needs at least one")
        if positions[-1] >= self.max_length - 1:
            raise MbjaError(f"{mask} at token {positions[-1]} lies beyond the model's {self.max_length} tokens; "
                            f"shorten the text before it")
        if len(enc) > self.max_length:
            enc = tok.encode(text, max_length=self.max_length)
        return {"text": text, "encoding": enc, "mask_id": mask_id}

    def _check_options(self, options: dict) -> None:
        check_positive("top_k", options.get("top_k", 5), none_ok=False)

    def postprocess(self, outputs: dict, top_k: int = 5) -> list[list[Filler]]:
        return decode_masks(outputs["logits"], outputs["encoding"], outputs["text"], outputs["mask_id"],
                            self.tokenizer.ids_to_tokens.__getitem__, top_k)
