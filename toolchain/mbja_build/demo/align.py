"""Training-time token alignment: reference token ids plus each token's span in the original text.

transformers' BertJapaneseTokenizer gives no offsets (it ignores return_offsets_mapping), so the
recipe rebuilds them from the same parts the reference uses (NFKC -> MeCab words -> WordPiece) and
checks that its ids equal the reference's for every sentence it trains on.
"""
from __future__ import annotations

import unicodedata


def nfkc_char_map(text: str) -> tuple[str, list[int]] | None:
    """NFKC text and, per normalized char, the index of the original char it came from.

    Returns None when per-character NFKC differs from whole-string NFKC (composition across
    characters); the recipe skips such sentences rather than guess.
    """
    norm_parts, owner = [], []
    for i, ch in enumerate(text):
        n = unicodedata.normalize("NFKC", ch)
        norm_parts.append(n)
        owner.extend([i] * len(n))
    norm = "".join(norm_parts)
    if norm != unicodedata.normalize("NFKC", text):
        return None
    return norm, owner


class Aligner:
    def __init__(self, vocab_file: str):
        from ..reference import reference_tokenizer

        self.ref = reference_tokenizer(vocab_file)

    def encode(self, text: str):
        """(input_ids, offsets) with [CLS]/[SEP] (offsets None), or None if unalignable."""
        mapped = nfkc_char_map(text)
        if mapped is None:
            return None
        norm, owner = mapped
        words = self.ref.word_tokenizer.tokenize(text)
        pieces, spans, pos = [], [], 0
        for word in words:
            start = norm.find(word, pos)
            if start < 0:
                return None
            pos = start + len(word)
            sub = self.ref.subword_tokenizer.tokenize(word)
            at = start
            for p in sub:
                if p == self.ref.unk_token:
                    length = len(word)
                else:
                    length = len(p[2:] if p.startswith("##") else p)
                spans.append((owner[at], owner[at + length - 1] + 1))
                pieces.append(p)
                at += length
        ids = self.ref.convert_tokens_to_ids(pieces)
        expected = self.ref(text)["input_ids"]
        full = [self.ref.cls_token_id, *ids, self.ref.sep_token_id]
        if full != expected:
            return None
        return full, [None, *spans, None]
