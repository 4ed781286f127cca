"""Build MeCab's lattices for a batch of texts: every candidate node, in MeCab's order.

The lattice's *shape* (which nodes exist, their spans and context classes) does not depend on
any cost, so it is built first and the Viterbi search (viterbi.py) runs over it afterwards.
MeCab's lookup rules are applied at *every* character position of every text at once, with
NumPy; a short Python pass then keeps the positions MeCab actually visits (those where some node
ends). Rules and their reasons: docs/dictionary-format.md ("Segmentation rules").

The result is a table of *records*, one per (lookup position, end, run of entries): a dictionary
surface found by the prefix search, or one unknown-word span with its category's entries. Entries
are numbered in one table: the lexicon's entries, then the unknown-word entries (``n_lex`` on).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MbjaError

_PAD = 64   # zero codes after the last text: the prefix walk stops there without bounds checks
_CUT = ("MeCab's 65,535-byte look-ahead (reached after a very long run of whitespace) cuts a character "
        "in half here and the reference tokenizer fails on it (invalid UTF-8)")


@dataclass
class Records:
    """Records of a batch, sorted by (text, lookup position, MeCab's generation order).

    ``pos`` lookup position, ``beg``/``end`` the surface span, ``at`` the position whose end
    list the node joins (``end``, except MeCab's 16-bit wrap: ``pos``), ``first``/``count`` the
    entry run; all positions are relative to the text. ``n``: length of every text.
    """
    text: np.ndarray
    pos: np.ndarray
    beg: np.ndarray
    end: np.ndarray
    at: np.ndarray
    first: np.ndarray
    count: np.ndarray
    n: np.ndarray


class LatticeBuilder:
    """Immutable; holds the dictionary tables as NumPy arrays."""

    def __init__(self, d):
        base, check = d.base, d.check          # the mapped int32 arrays themselves: no copies
        # term[s]: -1 if no key ends at slot s, else (value << 1) | (1 if s is a leaf)
        term = np.full(base.size, -1, np.int64)
        leaf = base < 0
        term[leaf] = ((-base[leaf].astype(np.int64) - 1) << 1) | 1
        inner = np.flatnonzero(base > 0)
        marked = inner[check[base[inner]] == inner]
        term[marked] = (-base[base[marked]].astype(np.int64) - 1) << 1
        self._base, self._check, self._term = base, check, term
        self._code_bmp = d.code_bmp
        self._astral = d.astral
        self._class_of_bmp = d.class_of_bmp
        self._mask = np.asarray(d.class_mask, np.int64)
        self._cat = np.asarray(d.class_category, np.int64)
        self._length = np.asarray(d.class_length, np.int64)
        self._group = np.asarray(d.class_group, bool)
        self._invoke = np.asarray(d.class_invoke, bool)
        self._max_group = d.max_grouping_size
        self._lookahead = d.max_lookup_bytes
        self._space_mask = int(d.class_mask[int(d.class_of_bmp[0x20])])
        self._nul_mask = int(d.class_mask[int(d.class_of_bmp[0])])     # what a cut character reads as
        off = np.asarray(d.unknown_offsets, np.int64)
        self._unk_first = d.left.size + off[:-1]                          # per category
        self._unk_count = np.diff(off)

    def _prefix_matches(self, codes: np.ndarray):
        """Every dictionary key starting anywhere: (start, end, trie value), sorted by start, then
        shortest first (MeCab's order). ``codes`` ends with >= _PAD zeros."""
        base, check, term = self._base, self._check, self._term
        idx = np.flatnonzero(codes)
        state = np.zeros(idx.size, np.int64)
        out_s, out_e, out_v = [], [], []
        d = 0
        while idx.size:
            c = codes[idx + d]
            t = base[state] + c
            ok = (c != 0) & (check[t] == state)
            idx, state = idx[ok], t[ok]
            d += 1
            tv = self._term[state]
            hit = tv >= 0
            if hit.any():
                out_s.append(idx[hit])
                out_e.append(idx[hit] + d)
                out_v.append(tv[hit] >> 1)
                go = ~(hit & (tv & 1).astype(bool))
                idx, state = idx[go], state[go]
        if not out_s:
            z = np.zeros(0, np.int64)
            return z, z, z
        s, e, v = np.concatenate(out_s), np.concatenate(out_e), np.concatenate(out_v)
        order = np.lexsort((e, s))
        return s[order], e[order], v[order]

    def build(self, texts: list[str]) -> Records:
        """Records of ``texts`` (each already NUL-free, surrogate-free and non-empty)."""
        joined = "\0".join(texts) + "\0" * _PAD      # NUL has trie code 0: no key crosses a text
        cps = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4")
        astral = cps > 0xFFFF
        bmp = np.where(astral, 0, cps)               # MeCab reads every 4-byte UTF-8 char as U+0000
        codes = self._code_bmp[bmp].astype(np.int64)
        for i in np.flatnonzero(astral).tolist():
            codes[i] = self._astral.get(int(cps[i]), 0)
        cls = self._class_of_bmp[bmp].astype(np.int64)
        masks = self._mask[cls]
        lens = np.array([len(t) for t in texts], np.int64)
        tstart = np.concatenate([[0], np.cumsum(lens + 1)[:-1]])
        tend = tstart + lens
        N = cps.size
        # run_end[j]: first k >= j where the chained class test fails between k-1 and k
        brk = np.union1d(np.flatnonzero((masks[:-1] & masks[1:]) == 0) + 1, tend)
        j = np.arange(N)
        run_end = brk[np.minimum(np.searchsorted(brk, j), brk.size - 1)]

        # every real character position, with its text's end and MeCab's look-ahead window
        tid = np.repeat(np.arange(len(texts)), lens)
        is_char = np.ones(N, bool)
        is_char[tend] = False
        is_char[int(tend[-1]):] = False
        P = np.flatnonzero(is_char)
        T = tend[tid]
        E, cut = T.copy(), np.zeros(P.size, np.int64)
        nbytes = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + astral
        boff = np.concatenate([[0], np.cumsum(nbytes)])
        capped = boff[T] - boff[P] > self._lookahead
        if capped.any():
            limit = boff[P[capped]] + self._lookahead
            e = np.searchsorted(boff, limit, "right") - 1
            E[capped] = e
            cut[capped] = np.where(e < T[capped], limit - boff[e], 0)
        # 1. skip SPACE-class characters (chained test starting from U+0020's class)
        sp = (masks[P] & self._space_mask) != 0
        B2 = np.where(sp, np.minimum(run_end[P + 1], E), P)
        live = B2 < T                                # only whitespace left: nothing MeCab keeps
        err = live & (cut > 0) & (B2 == E)
        wrap = live & capped & (cut == 0) & (B2 == E)
        look = live & ~wrap & ~err
        c0 = cls[np.minimum(B2, N - 1)]
        # 2. dictionary words starting at B2 (within the window), shortest first
        ms, me, mv = self._prefix_matches(codes)
        mptr = np.searchsorted(ms, np.arange(N + 1))
        lo, hi = mptr[B2], mptr[B2 + 1]
        k = np.where(look, hi - lo, 0)
        rp = np.repeat(np.arange(P.size), k)                       # record -> position row
        mi = lo[rp] + np.arange(rp.size) - np.repeat(np.cumsum(k) - k, k)
        keep = me[mi] <= E[rp]
        rp, mi = rp[keep], mi[keep]
        found = np.bincount(rp, minlength=P.size) > 0
        recs = [(rp, me[mi], mv[mi] >> 8, mv[mi] & 0xFF, np.arange(rp.size) - np.searchsorted(rp, rp))]
        # 3. unknown words: a grouped run, then lengths 1..length of the first character's class
        need = look & (~found | self._invoke[c0])
        uf, uc = self._unk_first[self._cat[c0]], self._unk_count[self._cat[c0]]
        q = np.minimum(run_end[np.minimum(B2 + 1, N - 1)], E)
        grp = need & self._group[c0]
        into = grp & (cut > 0) & (q == E) & ((masks[np.maximum(E - 1, 0)] & self._nul_mask) != 0)
        err |= into & (E - B2 - 1 + cut <= self._max_group)
        gadd = grp & ~into & (q - B2 - 1 <= self._max_group)
        gend = np.where(grp & ~into, q, -1)
        any_unk = gadd.copy()
        w = np.flatnonzero(gadd)
        recs.append((w, q[w], uf[w], uc[w], np.full(w.size, 1000)))
        going = need & (self._length[c0] > 0)
        b3 = B2 + 1
        for i in range(1, int(self._length.max(initial=0)) + 1):
            going &= (i <= self._length[c0]) & (b3 != gend)
            w = np.flatnonzero(going)
            recs.append((w, b3[w], uf[w], uc[w], np.full(w.size, 1000 + i)))
            any_unk |= going
            at_end = going & (b3 >= E)
            err |= at_end & (cut > 0) & ((masks[B2] & self._nul_mask) != 0) & (i < self._length[c0])
            going &= ~at_end & ((masks[B2] & masks[np.minimum(b3, N - 1)]) != 0)
            b3 = b3 + 1
        w = np.flatnonzero(need & ~found & ~any_unk)
        recs.append((w, B2[w] + 1, uf[w], uc[w], np.full(w.size, 2000)))
        # MeCab's 16-bit wrap: a 1-byte node of the last skipped character's category at the window's end
        w = np.flatnonzero(wrap)
        wcat = self._cat[cls[E[w] - 1]]
        recs.append((w, E[w] + 1, self._unk_first[wcat], self._unk_count[wcat], np.full(w.size, 3000)))

        row = np.concatenate([r[0] for r in recs])
        rend = np.concatenate([r[1] for r in recs])
        order = np.lexsort((np.concatenate([r[4] for r in recs]), row))
        row, rend = row[order], rend[order]
        first = np.concatenate([r[2] for r in recs])[order]
        count = np.concatenate([r[3] for r in recs])[order]
        at = np.where(wrap[row], P[row], rend)
        # positions MeCab visits: the text starts, then wherever a visited position's node ends
        reach = self._reachable(P, row, at, tstart, N)
        if (err & reach[P]).any():
            raise MbjaError(_CUT)
        self._check_wrap(wrap & reach[P], E, T, boff, cls)
        sel = reach[P[row]]
        row, rend, at, first, count = row[sel], rend[sel], at[sel], first[sel], count[sel]
        base = tstart[tid[row]]
        is_wrap = wrap[row]
        return Records(tid[row], P[row] - base, np.where(is_wrap, E[row], B2[row]) - base,
                       rend - base, at - base, first, count, lens)

    @staticmethod
    def _reachable(P, row, at, tstart, N):
        reach = bytearray(N + 1)
        for s in tstart.tolist():
            reach[s] = 1
        rptr = np.searchsorted(row, np.arange(P.size + 1)).tolist()
        ends = at.tolist()
        for r, p in enumerate(P.tolist()):
            if reach[p]:
                for e in ends[rptr[r]:rptr[r + 1]]:
                    reach[e] = 1
        return np.frombuffer(bytes(reach), np.uint8).astype(bool)

    def _check_wrap(self, wrap, E, T, boff, cls):
        """MeCab's wrapped node spans exactly one byte: fine for ASCII, half a character otherwise.
        (It joins its own position's end list; with several entries they would see each other,
        an order we do not model -- unidic-lite has one SPACE entry.)"""
        w = np.flatnonzero(wrap)
        if w.size:
            if (self._unk_count[self._cat[cls[E[w] - 1]]] != 1).any():
                raise MbjaError("65,535+ bytes of whitespace with a dictionary that has several SPACE "
                                "unknown-word entries is not supported")
            e = E[w]
            if ((boff[e] - boff[e - 1]) != 1).any() or ((e < T[w]) & ((boff[np.minimum(e + 1, boff.size - 1)]
                                                                     - boff[e]) != 1)).any():
                raise MbjaError("text has a run of 65,535+ bytes of whitespace next to a multi-byte character; "
                                "MeCab would cut that character in half and the reference tokenizer fails on it")
