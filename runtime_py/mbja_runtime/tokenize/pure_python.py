"""The pure-Python segmenter: MeCab's lattice and Viterbi over the mapped dictionary, every rule.

It is the readable form of docs/dictionary-format.md ("Segmentation rules", 1-6) and the
fallback where the C engine (``_segment.c``) was not built; both walk the text the same way as
Kotlin's Segmenter.kt: positions in order, one lookup per visited position (look-ahead window,
whitespace skip, dictionary words, unknown words), each node's best predecessor taken from the
end list of its lookup position, the first minimum in MeCab's scan order winning. The mapped
arrays are read through ``memoryview``s: nothing is copied at load.

One liberty, for speed: a Python loop reading the connection matrix cell by cell would spend
most of the time there, and the lattice's shape does not depend on any cost. So the walk runs
in three passes over the visited positions, each in position order:
  1. lattice: the lookups; nodes of one position are grouped by matrix row (they share their
     best predecessor), predecessors listed in MeCab's scan order (later lookup position first,
     then generation order);
  2. a NumPy gather of the (group row, predecessor column) cells of every position, and EOS's,
     in chunks of at most ``_CELLS`` cells so that a huge text needs little memory;
  3. the search: per position, costs are packed as ``cost << 32 | scan rank`` so that one
     C-level ``min`` gives MeCab's *first* minimum; back-pointers follow the winning ranks.
"""
from __future__ import annotations

from itertools import accumulate, chain
from operator import add

import numpy as np

from ..errors import MbjaError

_RANK = 32                    # low bits of a packed cost: the predecessor's scan rank
_LOW = (1 << _RANK) - 1
_CACHE = 200_000              # per-surface entry lists kept
_CELLS = 1 << 20              # connection cells gathered at once (pass 2)
CUT = ("MeCab's 65,535-byte look-ahead (reached after a very long run of whitespace) cuts a character in half "
       "here and the reference tokenizer fails on it (invalid UTF-8)")


def _view(a: np.ndarray, code: str) -> memoryview:
    """A zero-copy ``memoryview`` of a mapped little-endian array, indexable from Python."""
    return memoryview(a).cast("B").cast(code)


class PurePythonSegmenter:
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
        self._nul = int(d.class_mask[int(d.class_of_bmp[0])])     # what a character cut by the window reads as
        self._max_group = d.max_grouping_size
        self._lookahead = d.max_lookup_bytes
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
        """(flat matrix row offsets, columns, costs << _RANK) of a run of entries."""
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
        """(start, end) of each surface of MeCab's best path; ``text`` is non-empty, NUL-free and
        valid Unicode."""
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
        space, nul, max_group = self._space, self._nul, self._max_group
        # rule 6: only a text of more than max_lookup_bytes can meet MeCab's look-ahead window
        boff = None
        if 4 * n > self._lookahead and len(text.encode("utf-8")) > self._lookahead:
            boff = list(accumulate((1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4 for o in ords),
                                   initial=0))
        window = 0          # last character boundary inside the window; moves forward

        # pass 1: the lattice. Node 0 is BOS. Per node: column, end, surface start.
        n_col, n_end, n_beg = [self._bos_col], [0], [0]
        ends: list[list] = [[] for _ in range(n + 1)]   # per end position: id lists, one per lookup
        ends[0].append([0])
        reach = bytearray(n + 1)
        reach[0] = 1
        last = 0            # the last position that has nodes (EOS joins it)
        wrapped = []        # MeCab's wrapped nodes: (node, lookup position)
        steps = []          # per searched position: (pred ids, first node, group index per node, w << 32, groups)
        g_rows, p_cols, g_n, p_n = [], [], [], []
        for p in range(n):
            if not reach[p]:
                continue
            e = n                                      # the window's last character boundary ...
            cut = 0                                    # ... and the bytes of a character it cuts
            if boff is not None and boff[n] - boff[p] > self._lookahead:
                limit = boff[p] + self._lookahead
                window = max(window, p)
                while boff[window + 1] <= limit:
                    window += 1
                e, cut = window, limit - boff[window]
            b2 = p
            if masks[p] & space:
                b2 = min(run_end[p + 1], e)
                if b2 >= n:
                    continue
            rows, cols, ws, runs = [], [], [], []      # runs: (end, number of nodes)
            if b2 == e:                                # only with the window: e < n
                if cut:
                    raise MbjaError(CUT)
                rows, cols, ws = self._wrap_node(classes[e - 1], boff, e, n)
                wrapped.append((len(n_col), p))
                last = max(last, p)
            else:
                # dictionary words, shortest first
                s, j = 0, b2
                while j < e:
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
                    m0 = masks[b2]
                    if self._group[c0]:
                        q = min(run_end[b2 + 1], e)
                        if cut and q == e and masks[e - 1] & nul:
                            if e - b2 - 1 + cut <= max_group:   # the group would take half a character
                                raise MbjaError(CUT)
                        else:
                            if q - b2 - 1 <= max_group:
                                spans.append(q)
                            gend = q
                    b3 = b2 + 1
                    length = self._length[c0]
                    for i in range(1, length + 1):
                        if b3 == gend:
                            break
                        spans.append(b3)
                        if b3 >= e:
                            if cut and m0 & nul and i < length:
                                raise MbjaError(CUT)
                            break
                        if not m0 & masks[b3]:
                            break
                        b3 += 1
                    if not found and not spans:
                        spans.append(b2 + 1)
                    for end in spans:
                        rows += urow
                        cols += ucol
                        ws += uw
                        runs.append((end, k))
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
            if not runs:                               # the wrapped node joins no end list
                n_end.append(e + 1)
                continue
            # new nodes join the end lists (generation order within this lookup)
            by_end: dict[int, list] = {}
            i = first
            for end, k in runs:
                n_end += [end] * k
                lst = by_end.get(end)
                if lst is None:
                    by_end[end] = lst = []
                    reach[end] = 1
                    if end > last:
                        last = end
                lst += range(i, i + k)
                i += k
            for end, lst in by_end.items():
                ends[end].append(lst)
        # EOS: a wrapped node at the last position (made by the latest lookup) first, then its end list
        eos_pred = [i for i, q in wrapped if q == last] + list(chain.from_iterable(reversed(ends[last])))
        g_rows.append(self._eos_row)
        p_cols += map(n_col.__getitem__, eos_pred)
        g_n.append(1)
        p_n.append(len(eos_pred))

        # passes 2 and 3: the connection costs the search reads, gathered chunk by chunk, and the search
        chunks = self._cells(g_rows, p_cols, g_n, p_n)
        cells, a = next(chunks), 0
        cost = [0]                      # per node, cost << 32
        get = cost.__getitem__
        mins_of = []
        for pred, first, gidx, ws, g in steps:
            if a == len(cells):
                cells, a = next(chunks), 0
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
        if a == len(cells):
            cells, a = next(chunks), 0
        keys = list(map(add, map(get, eos_pred), range(len(eos_pred))))
        m = min(map(add, cells[a:], keys))
        node = eos_pred[m & _LOW]
        # back-pointers: a node's group at its position holds the winning scan rank
        out = []
        k = len(steps) - 1
        while node:
            out.append((n_beg[node], n_end[node]))
            while steps[k][1] > node:
                k -= 1
            pred, first, gidx = steps[k][:3]
            node = pred[mins_of[k][gidx[node - first]] & _LOW]
        out.reverse()
        return out

    def _wrap_node(self, cls: int, boff: list, e: int, n: int) -> tuple:
        """Rule 6's wrapped node: one byte of the last skipped character's category at ``e``."""
        cat = self._cat[cls]
        if len(self._unk[cat][0]) != 1:
            raise MbjaError("65,535+ bytes of whitespace with a dictionary that has several SPACE "
                            "unknown-word entries is not supported")
        if boff[e] - boff[e - 1] != 1 or (e < n and boff[e + 1] - boff[e] != 1):
            raise MbjaError("text has a run of 65,535+ bytes of whitespace next to a multi-byte character; "
                            "MeCab would cut that character in half and the reference tokenizer fails on it")
        return self._unk[cat]

    def _cells(self, g_rows, p_cols, g_n, p_n):
        """Per step, its groups x predecessors cells (group-major), costs << 32; yielded in chunks
        of whole steps of about ``_CELLS`` cells."""
        gn, pn = np.array(g_n), np.array(p_n)
        size = gn * pn
        g0, p0 = np.cumsum(gn) - gn, np.cumsum(pn) - pn
        rows, cols = np.array(g_rows), np.array(p_cols)
        total = np.cumsum(size)
        lo = 0
        while lo < size.size:
            hi = max(int(np.searchsorted(total, (total[lo] - size[lo]) + _CELLS, "right")), lo + 1)
            sz = size[lo:hi]
            step = np.repeat(np.arange(lo, hi), sz)
            local = np.arange(int(sz.sum())) - np.repeat(np.cumsum(sz) - sz, sz)
            npred = pn[step]
            flat = rows[g0[step] + local // npred] + cols[p0[step] + local % npred]
            yield ((self._high[flat].astype(np.int64) * 256 + self._low[flat]) << _RANK).tolist()
            lo = hi
