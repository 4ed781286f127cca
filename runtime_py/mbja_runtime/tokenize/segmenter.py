"""MeCab-compatible word segmentation: what fugashi + unidic-lite output, surface for surface.

The work is split in two (see lattice.py and viterbi.py): building the lattice, whose shape does
not depend on costs, and the Viterbi search over it. This class only adds MeCab's view of the
input text: it is a C string (everything from the first NUL on is ignored), it must be valid
UTF-8 (a lone surrogate is an error, as it is for fugashi), and empty text has no words.

Two engines segment one text: the optional C extension ``_segment`` (built by ``pip install``
where a compiler exists; the same rules, 30-40x faster) and the plain-Python lean.py. The C
one is used when it was built, unless the environment sets ``MBJA_PURE_PYTHON=1``;
``Segmenter.engine`` says which is active. Both give identical spans (the parity tests run on
each).
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from ..errors import MbjaError
from .dictionary import Dictionary
from .lattice import LatticeBuilder
from .lean import MAX_CHARS, LeanSegmenter
from .viterbi import Entries, best_paths

try:
    from . import _segment
except ImportError:          # not built (no compiler at install time): the Python path is used
    _segment = None

_CHUNK = 256
ENGINES = ("c", "python")


def c_engine_available() -> bool:
    """Whether the C accelerator was built and imports."""
    return _segment is not None


def _c_segmenter(d: Dictionary):
    """The C engine over the dictionary's mapped arrays (buffers: nothing is copied)."""
    astral = sorted(d.astral.items())
    return _segment.Segmenter(
        base=d.base, check=d.check, code_bmp=d.code_bmp,
        astral_cp=np.array([a for a, _ in astral], np.uint32), astral_code=np.array([c for _, c in astral], np.uint16),
        class_of_bmp=d.class_of_bmp, class_mask=d.class_mask, class_category=d.class_category,
        class_length=d.class_length, class_group=d.class_group, class_invoke=d.class_invoke,
        unknown_offsets=d.unknown_offsets, unk_left=d.unk_left, unk_right=d.unk_right, unk_cost=d.unk_cost,
        left=d.left, right=d.right, cost=d.cost, high=d.matrix.high, low=d.matrix.low,
        n_left=d.n_left, n_right=d.n_right, max_grouping_size=d.max_grouping_size,
        max_lookup_bytes=d.max_lookup_bytes, bos_right=d.bos_right, eos_left=d.eos_left)
_MIN_BATCH = 8      # below this many texts the NumPy batch path's fixed cost outweighs its speed


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
    """Shareable between threads: per-call state lives in locals.

    ``engine``: "c", "python" or None (the C accelerator if it was built, unless the environment
    sets ``MBJA_PURE_PYTHON=1``). With "c", every text of up to ``max_lookup_bytes`` (65,535)
    UTF-8 bytes is segmented in C, one by one also in batches. With "python", one text goes
    through lean.py and batches of 8+ texts through the NumPy path (lattice.py, viterbi.py).
    Longer texts, where MeCab's look-ahead window rules may apply, always take the NumPy path,
    whose ~40 MB of int64 copies of the trie and lexicon are made on first use only (a harmless
    race: both threads build the same tables). The dictionary is read in place otherwise.
    """

    def __init__(self, dictionary: Dictionary, engine: str | None = None):
        if engine is None:
            engine = "c" if _segment is not None and os.environ.get("MBJA_PURE_PYTHON", "") in ("", "0") \
                else "python"
            auto = True
        elif engine not in ENGINES:
            raise MbjaError(f"engine must be one of {ENGINES} or None, not {engine!r}")
        else:
            auto = False
        self.dictionary = dictionary
        self._tables = None
        self._bos_col = dictionary.bos_right
        self._mat_np = dictionary.matrix
        self._eos_row = dictionary.eos_left * dictionary.n_right
        self._c = self._lean_seg = None
        if engine == "c":
            if _segment is None:
                raise MbjaError("the C segmenter (mbja_runtime.tokenize._segment) is not built; reinstall with a "
                                "C compiler available, or use engine='python'")
            try:
                self._c = _c_segmenter(dictionary)
            except (ValueError, NotImplementedError) as e:
                if not auto:
                    raise MbjaError(f"the C segmenter refused this dictionary: {e}") from None
                warnings.warn(f"mbja: C segmenter unavailable ({e}); using the Python path", RuntimeWarning)
                engine = "python"
        #: which engine segments: "c" (the _segment extension) or "python" (lean.py / NumPy)
        self.engine = engine

    @property
    def _lean(self) -> LeanSegmenter:
        if self._lean_seg is None:
            self._lean_seg = LeanSegmenter(self.dictionary)
        return self._lean_seg

    def _numpy_tables(self):
        if self._tables is None:
            self._tables = (LatticeBuilder(self.dictionary), Entries(self.dictionary))
        return self._tables

    @property
    def _builder(self) -> LatticeBuilder:
        return self._numpy_tables()[0]

    @property
    def _entries(self) -> Entries:
        return self._numpy_tables()[1]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets into ``text`` of each surface MeCab outputs: the
        surfaces are ``text[start:end]``. The C engine takes texts of up to 65,535 UTF-8 bytes,
        the Python one texts of up to ``MAX_CHARS`` (lean.py); longer ones take the NumPy path."""
        text = _mecab_text(text)
        if not text:
            return []
        if self._c is not None:
            r = self._c.spans(text)
            if r is not None:
                return r
        elif len(text) <= MAX_CHARS:
            return self._lean.spans(text)
        return self._long(text)

    def _long(self, text: str) -> list[tuple[int, int]]:
        """A text beyond the one-text paths' limits (MeCab's look-ahead window may apply)."""
        builder, entries = self._numpy_tables()
        recs = builder.build([text])
        return best_paths(recs, entries, self._mat_np, self._bos_col, self._eos_row, vectorised=False)[0]

    def spans_batch(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """``spans`` for many texts. Python engine: 8+ texts are segmented together by the NumPy
        path (vectorised across texts, faster per text than lean.py); C engine: one by one."""
        if self._c is not None:                          # C: one by one is faster than any batching
            return [self.spans(t) for t in texts]
        clean = [_mecab_text(t) for t in texts]
        todo = [i for i, t in enumerate(clean) if t]
        out: list[list[tuple[int, int]]] = [[] for _ in clean]
        if len(todo) < _MIN_BATCH:                       # a pair, a few texts: one at a time is faster
            for i in todo:
                out[i] = self.spans(clean[i])
            return out
        builder, entries = self._numpy_tables()
        for c in range(0, len(todo), _CHUNK):            # chunks keep the per-pair arrays in cache
            part = todo[c:c + _CHUNK]
            recs = builder.build([clean[i] for i in part])
            for i, path in zip(part, best_paths(recs, entries, self._mat_np, self._bos_col, self._eos_row)):
                out[i] = path
        return out

    def surfaces(self, text: str) -> list[str]:
        """MeCab's surfaces of ``text``; the caller normalises, nothing is normalised here."""
        text = _mecab_text(text)
        return [text[s:e] for s, e in self.spans(text)]
