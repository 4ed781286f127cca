"""MeCab-compatible word segmentation: what fugashi + unidic-lite output, surface for surface.

The work is split in two (see lattice.py and viterbi.py): building the lattice, whose shape does
not depend on costs, and the Viterbi search over it. This class only adds MeCab's view of the
input text: it is a C string (everything from the first NUL on is ignored), it must be valid
UTF-8 (a lone surrogate is an error, as it is for fugashi), and empty text has no words.
"""
from __future__ import annotations

import numpy as np

from ..errors import MbjaError
from .dictionary import Dictionary
from .lattice import LatticeBuilder
from .viterbi import Entries, best_paths

_CHUNK = 256


def _mecab_text(text: str) -> str:
    if not isinstance(text, str):
        raise MbjaError(f"text must be a str, not {type(text).__name__}")
    try:
        text.encode("utf-8")        # before the NUL cut: fugashi encodes the whole string
    except UnicodeEncodeError as e:
        raise MbjaError(f"text contains a lone surrogate at index {e.start} (U+{ord(text[e.start]):04X}); "
                        "it is not valid Unicode and MeCab cannot read it") from None
    z = text.find("\0")
    return text[:z] if z >= 0 else text


class Segmenter:
    """Immutable and shareable between threads: per-call state lives in locals."""

    def __init__(self, dictionary: Dictionary):
        self.dictionary = dictionary
        self._builder = LatticeBuilder(dictionary)
        self._entries = Entries(dictionary)
        self._bos_col = dictionary.bos_right
        self._mat_np = np.ascontiguousarray(dictionary.matrix).reshape(-1)
        self._eos_row = dictionary.eos_left * dictionary.n_right

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets into ``text`` of each surface MeCab outputs: the
        surfaces are ``text[start:end]``. Uses the one-text (Python) Viterbi."""
        text = _mecab_text(text)
        if not text:
            return []
        recs = self._builder.build([text])
        return best_paths(recs, self._entries, self._mat_np, self._bos_col, self._eos_row, vectorised=False)[0]

    def spans_batch(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """``spans`` for many texts; faster per text because the search is vectorised across them."""
        clean = [_mecab_text(t) for t in texts]
        todo = [i for i, t in enumerate(clean) if t]
        out: list[list[tuple[int, int]]] = [[] for _ in clean]
        if todo:
            for c in range(0, len(todo), _CHUNK):        # chunks keep the per-pair arrays in cache
                part = todo[c:c + _CHUNK]
                recs = self._builder.build([clean[i] for i in part])
                for i, path in zip(part, best_paths(recs, self._entries, self._mat_np, self._bos_col, self._eos_row)):
                    out[i] = path
        return out

    def surfaces(self, text: str) -> list[str]:
        """MeCab's surfaces of ``text``; the caller normalises, nothing is normalised here."""
        text = _mecab_text(text)
        return [text[s:e] for s, e in self.spans(text)]
