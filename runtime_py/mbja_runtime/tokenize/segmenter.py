"""MeCab-compatible word segmentation: what fugashi + unidic-lite output, surface for surface.

One design, two engines: the optional C extension ``_segment`` (built by ``pip install`` where
a compiler exists; 15-20x faster) and pure_python.py, the readable fallback. Both implement every
rule of docs/dictionary-format.md ("Segmentation rules", the 65,535-byte look-ahead window
included) in the same sequential walk as the Kotlin SDK's Segmenter.kt, and give identical spans
(the parity tests run on each). The C one is used when it was built, unless the environment sets
``MBJA_PURE_PYTHON=1``; ``Segmenter.engine`` says which is active.

This class adds MeCab's view of the input text: it is a C string (everything from the first NUL
on is ignored), it must be valid UTF-8 (a lone surrogate is an error, as it is for fugashi), and
empty text has no words.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from ..errors import MbjaError
from .dictionary import Dictionary
from .pure_python import PurePythonSegmenter

try:
    from . import _segment
except ImportError:          # not built (no compiler at install time): the Python engine is used
    _segment = None

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
    """Shareable between threads: per-call state lives in locals (the Python engine's cache of
    per-surface entry lists is a dict that only grows or is cleared whole).

    ``engine``: "c", "python" or None (the C accelerator if it was built, unless the environment
    sets ``MBJA_PURE_PYTHON=1``). The dictionary is read in place by both.
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
        self._c = self._py = None
        if engine == "c":
            if _segment is None:
                raise MbjaError("the C segmenter (mbja_runtime.tokenize._segment) is not built; reinstall with a "
                                "C compiler available, or use engine='python'")
            try:
                self._c = _c_segmenter(dictionary)
            except (ValueError, NotImplementedError) as e:
                if not auto:
                    raise MbjaError(f"the C segmenter refused this dictionary: {e}") from None
                warnings.warn(f"mbja: C segmenter unavailable ({e}); using the Python engine", RuntimeWarning)
                engine = "python"
        if engine == "python":
            self._py = PurePythonSegmenter(dictionary)
        #: which engine segments: "c" (the _segment extension) or "python" (pure_python.py)
        self.engine = engine

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets into ``text`` of each surface MeCab outputs: the
        surfaces are ``text[start:end]``. Where MeCab's look-ahead window would cut a character
        in half (the reference tokenizer then fails on invalid UTF-8): MbjaError."""
        text = _mecab_text(text)
        if not text:
            return []
        if self._c is None:
            return self._py.spans(text)
        try:
            return self._c.spans(text)
        except _segment.Unsupported as e:
            raise MbjaError(str(e)) from None

    def surfaces(self, text: str) -> list[str]:
        """MeCab's surfaces of ``text``; the caller normalises, nothing is normalised here."""
        text = _mecab_text(text)
        return [text[s:e] for s, e in self.spans(text)]
