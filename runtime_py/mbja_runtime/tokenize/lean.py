"""The one-text segmenter: MeCab's lattice and Viterbi for a single short text, in plain Python.

(The optional C extension ``_segment.c`` implements the same walk and is used instead where it
was built; this module is the fallback and the readable reference. Segmenter.engine says which.)

Why a second implementation: the NumPy path (lattice.py, viterbi.py) is built for batches; for
one sentence it spends most of its time in the fixed cost of ~150 small NumPy calls. Here the
lattice is walked position by position as MeCab does (docs/dictionary-format.md, "Segmentation
rules"), reading the mapped dictionary through ``memoryview``s -- nothing is copied at load --
and NumPy is called only once per text, to gather every connection cost the search will need.

Three passes over the visited positions:
  1. lattice: whitespace skip, prefix search, unknown words; nodes of one position are grouped
     by matrix row (they share their best predecessor), predecessors listed in MeCab's scan
     order (later lookup position first, then generation order);
  2. one NumPy gather of the (group row, predecessor column) cells of every position, and EOS's;
  3. the search: per position, costs are packed as ``cost << 16 | scan rank`` so that one
     C-level ``min`` gives MeCab's *first* minimum; back-pointers follow the winning ranks.
Texts of up to ``MAX_CHARS`` characters take this path: at most 4 UTF-8 bytes each, they stay
inside MeCab's 65,535-byte look-ahead, so the window rules (and their 16-bit wrap) never apply.
"""
from __future__ import annotations

from itertools import chain
from operator import add

import numpy as np

#: Longest text (characters) for the one-text path; 4 * 16,000 < 65,535 bytes.
MAX_CHARS = 16_000
_RANK = 16                    # low bits of a packed cost: the scan rank (< 65,536 predecessors)
_CACHE = 200_000


def _view(a: np.ndarray, code: str) -> memoryview:
    """A zero-copy ``memoryview`` of a mapped little-endian array, indexable from Python."""
    return memoryview(a).cast("B").cast(code)


class LeanSegmenter:
    """Immutable apart from a bounded cache of per-surface entry lists; thread-safe in CPython."""

    def __init__(self, d):
        self._base, self._check = _view(d.base, "i"), _view(d.check, "i")
        self._code = _view(d.code_bmp, "H")
        self._astral = d.astral
        self._cls = bytes(d.class_of_bmp)                 # 64 KB
        self._mask = d.class_mask.tolist()                # per class (13)
        self._cat = d.class_category.tolist()
        self._length = d.class_length.tolist()
        self._group = d.class_group.tolist()
        self._invoke = d.class_invoke.tolist()
        self._space = int(d.class_mask[int(d.class_of_bmp[0x20])])
        self._max_group = d.max_grouping_size
        self._left, self._right, self._cost = _view(d.left, "H"), _view(d.right, "H"), _view(d.cost, "h")
        self._nr = d.n_right
        off = d.unknown_offsets.tolist()
        self._unk = [self._run(d.unk_left[a:b].tolist(), d.unk_right[a:b].tolist(), d.unk_cost[a:b].tolist())
                     for a, b in zip(off[:-1], off[1:])]
        self._bos_col = d.bos_right
        self._eos_row = d.eos_left * d.n_right
        self._high, self._low = d.matrix.high, d.matrix.low
        self._entries: dict[int, tuple] = {}

    def _run(self, left, right, cost) -> tuple:
        """(flat matrix row offsets, columns, costs << 16) of a run of entries."""
        return (tuple(r * self._nr for r in left), tuple(right), tuple(c << _RANK for c in cost))

    def _lexicon_run(self, value: int) -> tuple:
        r = self._entries.get(value)
        if r is None:
            a, n = value >> 8, value & 0xFF
            r = self._run(self._left[a:a + n].tolist(), self._right[a:a + n].tolist(),
                          self._cost[a:a + n].tolist())
            if len(self._entries) >= _CACHE:
                self._entries.clear()
            self._entries[value] = r
        return r

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each surface of MeCab's best path; ``text`` is non-empty, NUL-free,
        valid Unicode and at most MAX_CHARS long."""
        n = len(text)
        ords = list(map(ord, text))
        cls_of = self._cls
        if max(ords) > 0xFFFF:      # MeCab reads a 4-byte UTF-8 character's class as U+0000's
            codes = [self._code[o] if o <= 0xFFFF else self._astral.get(o, 0) for o in ords]
            classes = [cls_of[o] if o <= 0xFFFF else cls_of[0] for o in ords]
        else:
            codes = list(map(self._code.__getitem__, ords))
            classes = list(map(cls_of.__getitem__, ords))
        masks = list(map(self._mask.__getitem__, classes))
        # run_end[k]: first j >= k where the chained compatibility test fails (or the text ends)
        run_end = [n] * (n + 1)
        for k in range(n - 1, 0, -1):
            run_end[k] = run_end[k + 1] if masks[k - 1] & masks[k] else k
        base, check = self._base, self._check
        space, max_group = self._space, self._max_group

        # pass 1: the lattice. Node 0 is BOS. Per node: column, end, surface start.
        n_col, n_end, n_beg = [self._bos_col], [0], [0]
        ends: list[list] = [[] for _ in range(n + 1)]   # per end position: id lists, one per lookup
        ends[0].append([0])
        reach = bytearray(n + 1)
        reach[0] = 1
        steps = []          # per searched position: (pred ids, first node, group index per node, w << 16)
        g_rows, p_cols, g_n, p_n = [], [], [], []
        for p in range(n):
            if not reach[p]:
                continue
            b2 = p
            if masks[p] & space:
                b2 = run_end[p + 1]
                if b2 == n:
                    continue
            rows, cols, ws, runs = [], [], [], []      # runs: (end, number of nodes)
            # dictionary words, shortest first
            s, j = 0, b2
            while j < n:
                c = codes[j]
                if not c:
                    break
                t = base[s] + c
                if check[t] != s:
                    break
                s = t
                j += 1
                b = base[s]
                if b < 0:
                    v = -b - 1
                elif b > 0 and check[b] == s:
                    v = -base[b] - 1
                else:
                    continue
                r = self._lexicon_run(v)
                rows += r[0]
                cols += r[1]
                ws += r[2]
                runs.append((j, len(r[0])))
                if b < 0:
                    break
            # unknown words
            c0 = classes[b2]
            found = bool(rows)
            if not found or self._invoke[c0]:
                urow, ucol, uw = self._unk[self._cat[c0]]
                k = len(urow)
                spans = []
                gend = -1
                if self._group[c0]:
                    gend = run_end[b2 + 1]
                    if gend - b2 - 1 <= max_group:
                        spans.append(gend)
                e, m0 = b2 + 1, masks[b2]
                for _ in range(self._length[c0]):
                    if e == gend:
                        break
                    spans.append(e)
                    if e >= n or not m0 & masks[e]:
                        break
                    e += 1
                if not found and not spans:
                    spans.append(b2 + 1)
                for e in spans:
                    rows += urow
                    cols += ucol
                    ws += uw
                    runs.append((e, k))
            # predecessors, in scan order, and this position's groups (distinct rows)
            pred = list(chain.from_iterable(reversed(ends[p])))
            first = len(n_col)
            groups = dict.fromkeys(rows)
            if len(groups) == len(rows):
                gidx = range(len(rows))
            else:
                index = {r: i for i, r in enumerate(groups)}
                gidx = list(map(index.__getitem__, rows))
            steps.append((pred, first, gidx, ws, len(groups)))
            g_rows += groups
            p_cols += map(n_col.__getitem__, pred)
            g_n.append(len(groups))
            p_n.append(len(pred))
            n_col += cols
            n_beg += [b2] * len(rows)
            # new nodes join the end lists (generation order within this lookup)
            by_end: dict[int, list] = {}
            i = first
            for e, k in runs:
                n_end += [e] * k
                lst = by_end.get(e)
                if lst is None:
                    by_end[e] = lst = []
                    reach[e] = 1
                lst += range(i, i + k)
                i += k
            for e, lst in by_end.items():
                ends[e].append(lst)
        last = max(n_end)
        if last == 0:
            return []
        eos_pred = list(chain.from_iterable(reversed(ends[last])))
        g_rows.append(self._eos_row)
        p_cols += map(n_col.__getitem__, eos_pred)
        g_n.append(1)
        p_n.append(len(eos_pred))

        # pass 2: every connection cost the search reads, in one gather
        cells = self._cells(g_rows, p_cols, g_n, p_n)

        # pass 3: the search
        cost = [0]                      # per node, cost << 16
        get = cost.__getitem__
        mins_of = []
        a = 0
        for pred, first, gidx, ws, g in steps:
            c = len(pred)
            keys = list(map(add, map(get, pred), range(c)))
            b = a + g * c
            if c == 1:
                mins = list(map(add, cells[a:b], keys * g))
            else:
                mins = list(map(min, zip(*[map(add, cells[a:b], keys * g)] * c)))
            a = b
            mins_of.append(mins)
            best = [m >> _RANK << _RANK for m in mins]
            cost += map(add, map(best.__getitem__, gidx), ws)
        keys = list(map(add, map(get, eos_pred), range(len(eos_pred))))
        m = min(map(add, cells[a:], keys))
        node = eos_pred[m & 0xFFFF]
        # back-pointers: a node's group at its position holds the winning scan rank
        out = []
        k = len(steps) - 1
        while node:
            out.append((n_beg[node], n_end[node]))
            while steps[k][1] > node:
                k -= 1
            pred, first, gidx = steps[k][:3]
            node = pred[mins_of[k][gidx[node - first]] & 0xFFFF]
        out.reverse()
        return out

    def _cells(self, g_rows, p_cols, g_n, p_n) -> list[int]:
        """For every step, its groups x predecessors cells (group-major), costs << 16."""
        gn, pn = np.array(g_n), np.array(p_n)
        size = gn * pn
        step = np.repeat(np.arange(gn.size), size)
        local = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
        npred = pn[step]
        g = (np.cumsum(gn) - gn)[step] + local // npred
        q = (np.cumsum(pn) - pn)[step] + local % npred
        flat = np.array(g_rows)[g] + np.array(p_cols)[q]
        return ((self._high[flat].astype(np.int64) * 256 + self._low[flat]) << _RANK).tolist()
