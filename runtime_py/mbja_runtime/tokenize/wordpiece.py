"""WordPiece exactly as transformers' ``WordpieceTokenizer`` (bert_japanese) does it.

A MeCab surface is first split on Python whitespace (``str.split()``: it can contain characters
MeCab does not treat as spaces, such as U+2028 or U+0085); each word longer than
``max_input_chars_per_word`` characters becomes [UNK]; otherwise greedy longest-match-first
pieces, continuation pieces prefixed with ``##``, and [UNK] for the whole word if any position
has no match. We also return every piece's character span inside the surface.
"""
from __future__ import annotations

import re

_WORD = re.compile(r"\S+")


def load_vocab(path) -> dict[str, int]:
    """token -> id, read like transformers' ``load_vocab`` (universal newlines, last duplicate wins)."""
    vocab: dict[str, int] = {}
    with open(path, "r", encoding="utf-8") as f:
        for i, line in enumerate(f.readlines()):
            vocab[line.rstrip("\n")] = i
    return vocab


class WordPiece:
    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]", max_input_chars_per_word: int = 100):
        self.vocab = vocab
        self.unk_token = unk_token
        self.unk_id = vocab.get(unk_token)
        self.max_chars = max_input_chars_per_word
        # no vocabulary entry is longer than this, so longer candidates need no lookup
        self._longest = max((len(t) for t in vocab), default=0)
        self._cache: dict[str, tuple] = {}
        self._parts: dict[str, tuple] = {}

    def word(self, word: str) -> tuple:
        """((token, id, start, end), ...) for one whitespace-free word; cached."""
        r = self._cache.get(word)
        if r is None:
            r = self._word(word)
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[word] = r
        return r

    def _word(self, word: str) -> tuple:
        n = len(word)
        if n > self.max_chars:
            return ((self.unk_token, self.unk_id, 0, n),)
        vocab, longest, pieces, start = self.vocab, self._longest, [], 0
        while start < n:
            end = min(n, start + longest)
            while end > start:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                tid = vocab.get(sub)
                if tid is not None:
                    pieces.append((sub, tid, start, end))
                    break
                end -= 1
            else:
                return ((self.unk_token, self.unk_id, 0, n),)
            start = end
        return tuple(pieces)

    def surface(self, surface: str, word=None) -> tuple:
        """Pieces of one MeCab surface, spans relative to the surface (``word``: the per-word
        function, the cached ``self.word`` by default)."""
        word = word or self.word
        if surface.isprintable() and " " not in surface:
            return word(surface)               # every str.split() separator is unprintable
        out = []
        for m in _WORD.finditer(surface):
            s = m.start()
            out.extend((t, i, s + a, s + b) for t, i, a, b in word(m.group()))
        return tuple(out)

    def parts(self, surface: str) -> tuple:
        """``surface`` as (tokens, ids, spans) tuples, cached (what the tokenizer uses); ``spans``
        is None when the surface is one piece spanning all of it (the common case, which needs
        no offset arithmetic)."""
        r = self._parts.get(surface)
        if r is None:
            pieces = self.surface(surface, self._word)
            spans = None if len(pieces) == 1 and pieces[0][2:] == (0, len(surface)) else \
                tuple((a, b) for _, _, a, b in pieces)
            r = (tuple(p[0] for p in pieces), tuple(p[1] for p in pieces), spans)
            if len(self._parts) > 200_000:
                self._parts.clear()
            self._parts[surface] = r
        return r
