"""Special-token splitting and NFKC with a map back to the original text's character offsets.

The reference (transformers' slow tokenizer) first cuts the *original* text at special tokens
([CLS], [SEP], [MASK], [UNK], [PAD]; leftmost match, longest first, no whitespace stripped since
their AddedTokens have lstrip = rstrip = False), then NFKC-normalises each remaining piece
separately. We do the same, and additionally remember where every normalised character came
from, so each token can report its span in the text the user passed in.

NFKC is not character-local: it composes (``か`` + U+3099 -> ``が``; half-width ``ｶ`` + ``ﾞ``),
reorders combining marks and expands (``㍻`` -> ``平成``). So we cut the text into chunks that
NFKC cannot join -- a new chunk starts at a character whose decomposition begins with a starter
that composes with nothing before it -- normalise chunk by chunk, and check that the pieces
concatenate to NFKC of the whole. If they ever do not (a composition we did not foresee), we
fall back to one chunk per piece: offsets get coarser, never wrong.
"""
from __future__ import annotations

import re
import unicodedata

_nfkc_cache: dict[str, tuple[str, bool]] = {}
# Hangul medial vowels and final consonants compose with the preceding syllable although their
# canonical combining class is 0; they are the common case of such "second starters".
_HANGUL_VT = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))


def special_token_pattern(tokens) -> re.Pattern | None:
    """Regex matching any special token, leftmost first and longest first at one position."""
    toks = sorted({t for t in tokens if t}, key=len, reverse=True)
    return re.compile("|".join(re.escape(t) for t in toks)) if toks else None


def split_special(text: str, pattern: re.Pattern | None):
    """[(piece, start, is_special)] covering ``text``; empty pieces are dropped, as transformers does."""
    if pattern is None:
        return [(text, 0, False)] if text else []
    out, pos = [], 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], pos, False))
        out.append((m.group(), m.start(), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], pos, False))
    return out


def _char(ch: str) -> tuple[str, bool]:
    """(NFKC of ch alone, whether ch may join the chunk before it under NFKC)."""
    r = _nfkc_cache.get(ch)
    if r is None:
        nf = unicodedata.normalize("NFKC", ch)
        d = unicodedata.normalize("NFKD", ch)
        joins = bool(d) and (unicodedata.combining(d[0]) != 0 or ord(d[0]) in _HANGUL_VT)
        r = (nf, joins)
        if len(_nfkc_cache) < 100_000:
            _nfkc_cache[ch] = r
    return r


def nfkc_with_offsets(piece: str) -> tuple[str, list[int] | None, list[int] | None]:
    """NFKC(piece), and for every normalised character the original (start, end) offsets.

    Returns (normalised, starts, ends) where normalised[i] came from piece[starts[i]:ends[i]];
    ``starts`` is None when NFKC changed nothing (the identity map).
    """
    norm = unicodedata.normalize("NFKC", piece)
    if norm == piece:
        return norm, None, None
    chunks = []           # (start, end) in piece
    for i, ch in enumerate(piece):
        if chunks and _char(ch)[1]:
            chunks[-1] = (chunks[-1][0], i + 1)
        else:
            chunks.append((i, i + 1))
    parts = [_char(piece[a])[0] if b == a + 1 else unicodedata.normalize("NFKC", piece[a:b]) for a, b in chunks]
    if "".join(parts) != norm:
        parts, chunks = _merge_until_consistent(piece, chunks, norm)
    starts, ends = [], []
    for (a, b), p in zip(chunks, parts):
        starts.extend([a] * len(p))
        ends.extend([b] * len(p))
    return norm, starts, ends


def _merge_until_consistent(piece, chunks, norm):
    """Merge neighbouring chunks that NFKC joins; last resort: the whole piece as one chunk."""
    merged = [chunks[0]]
    for a, b in chunks[1:]:
        pa, pb = merged[-1]
        joined = unicodedata.normalize("NFKC", piece[pa:b])
        if joined != unicodedata.normalize("NFKC", piece[pa:pb]) + unicodedata.normalize("NFKC", piece[a:b]):
            merged[-1] = (pa, b)
        else:
            merged.append((a, b))
    parts = [unicodedata.normalize("NFKC", piece[a:b]) for a, b in merged]
    if "".join(parts) == norm:
        return parts, merged
    return [norm], [(0, len(piece))]
