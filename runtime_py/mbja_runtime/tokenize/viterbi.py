"""MeCab's 1-best Viterbi over lattices from ``lattice.py``, for one text or a batch.

The rule (docs/dictionary-format.md, "Viterbi"):
  cost(node) = node.w + min over predecessors p of ( cost(p) + matrix[node.row][p.col] )
where the predecessors of a node looked up at position q are the nodes that end at q, scanned
newest first (later lookup position first; within one position, MeCab's generation order), and
the first minimum wins (MeCab compares with a strict ``<``). EOS joins the last position that
has nodes.

Speed comes from doing the irregular work once, vectorised: nodes of one lookup position that
share a matrix row share their best predecessor ("groups"), so we gather, for every group, the
row's connection costs to all its predecessors plus their word costs in one NumPy fancy-index.
What remains is a chain of tiny min-reductions in position order: a Python loop over groups for
one text (``_run_python``), a NumPy loop over positions across texts for a batch (``_run_numpy``).
"""
from __future__ import annotations

from dataclasses import dataclass
from operator import add

import numpy as np

from .lattice import Records



class Entries:
    """The combined entry table (lexicon, then unknown words); int32 (row offsets stay below
    n_left * n_right < 2**31) to halve the copy, widened to int64 where costs are summed."""

    def __init__(self, d):
        self.row = np.concatenate([d.left, d.unk_left]).astype(np.int32) * np.int32(d.n_right)
        self.col = np.concatenate([d.right, d.unk_right]).astype(np.int32)
        self.cost = np.concatenate([d.cost, d.unk_cost]).astype(np.int32)


@dataclass
class _Plan:
    groups: int          # group 0 is BOS (cost 0); groups 1.. are sorted by lookup position
    g_pos: np.ndarray    # lookup position of each group
    blocks: np.ndarray   # groups blocks[i]:blocks[i+1] share one predecessor list (text, position)
    p_start: np.ndarray  # pairs of group g: p_start[g]:p_start[g+1], in predecessor scan order
    pleft: np.ndarray    # per pair: the predecessor node
    lgroup: np.ndarray   # per pair: the predecessor's group
    wconn: np.ndarray    # per pair: predecessor word cost + connection cost
    # per node
    offset: np.ndarray   # nodes of text s: offset[s]:offset[s+1], BOS first
    gid: np.ndarray
    w: np.ndarray
    col: np.ndarray
    at: np.ndarray
    lookup: np.ndarray
    span_b: np.ndarray
    span_e: np.ndarray


def _plan(R: Records, entries: Entries, mat, bos_col: int) -> _Plan:
    S = R.n.size
    cnt = R.count
    per_sent = np.bincount(R.text, weights=cnt, minlength=S).astype(np.int64) + 1
    offset = np.concatenate([[0], np.cumsum(per_sent)])
    total = int(offset[-1])
    cand = np.ones(total, bool)
    cand[offset[:-1]] = False
    cand = np.flatnonzero(cand)                                   # every node but the BOS nodes
    node_rec = np.repeat(np.arange(cnt.size), cnt)
    entry = R.first[node_rec] + np.arange(cand.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    sent = np.repeat(np.arange(S), per_sent)
    row = np.zeros(total, np.int64)
    col = np.full(total, bos_col, np.int64)
    w = np.zeros(total, np.int64)
    lookup = np.full(total, -1, np.int64)
    at = np.zeros(total, np.int64)
    span_b, span_e = np.zeros(total, np.int64), np.zeros(total, np.int64)
    row[cand], col[cand], w[cand] = entries.row[entry], entries.col[entry], entries.cost[entry]
    lookup[cand], at[cand] = R.pos[node_rec], R.at[node_rec]
    span_b[cand], span_e[cand] = R.beg[node_rec], R.end[node_rec]

    # predecessor lists per (text, position), scan order; wrapped nodes precede only EOS
    width = int(R.n.max(initial=0)) + 2
    skey = (sent * width + at) * width + (width - 1 - lookup)
    lorder = np.argsort(skey, kind="stable")
    lorder = lorder[~((lookup[lorder] == at[lorder]) & (lookup[lorder] >= 0))]
    lkey = sent[lorder] * width + at[lorder]
    # groups: (position, text, row), numbered from 1 in position order; BOS nodes are group 0
    gkey = (lookup[cand] * S + sent[cand]) * (int(row.max()) + 1) + row[cand]
    uniq, first_of, inv = np.unique(gkey, return_index=True, return_inverse=True)
    gid = np.zeros(total, np.int64)
    gid[cand] = inv.ravel() + 1
    rep = cand[first_of]
    qkey = sent[rep] * width + lookup[rep]
    per_key = np.bincount(lkey, minlength=S * width)
    l_len = per_key[qkey]
    l_start = (np.cumsum(per_key) - per_key)[qkey]
    if l_len.size and (l_len.min() == 0 or l_len.max() >= 65536):
        raise AssertionError("a lookup position without predecessors, or with 65,536 or more")
    p_start = np.concatenate([[0, 0], np.cumsum(l_len)])       # group 0 (BOS) has no pairs
    pg = np.repeat(np.arange(uniq.size), l_len)
    pleft = lorder[l_start[pg] + np.arange(int(p_start[-1])) - p_start[1:-1][pg]]
    wconn = w[pleft] + mat.cells(row[rep][pg] + col[pleft])
    blocks = np.concatenate([[1], np.flatnonzero(qkey[1:] != qkey[:-1]) + 2, [uniq.size + 1]]) \
        if uniq.size else np.array([1])
    return _Plan(uniq.size + 1, np.concatenate([[-1], lookup[rep]]), blocks, p_start, pleft, gid[pleft], wconn,
                 offset, gid, w, col, at, lookup, span_b, span_e)


def _run_python(plan: _Plan):
    """Best cost and predecessor per group, in Python (fast for a single text): the groups of one
    position share their predecessors, whose costs are read once per position."""
    gbest = [0] * plan.groups
    garg = [0] * plan.groups
    ps, pl, lg, wc = plan.p_start.tolist(), plan.pleft.tolist(), plan.lgroup.tolist(), plan.wconn.tolist()
    get = gbest.__getitem__
    bl = plan.blocks.tolist()
    for ga, gb in zip(bl[:-1], bl[1:]):
        q = ps[ga]
        n = ps[ga + 1] - q
        lc = list(map(get, lg[q:q + n]))
        left = pl[q:q + n]
        if n == 1:
            c, node = lc[0], left[0]
            for g in range(ga, gb):
                gbest[g] = c + wc[ps[g]]
                garg[g] = node
            continue
        for g in range(ga, gb):
            q = ps[g]
            tot = list(map(add, lc, wc[q:q + n]))
            m = min(tot)
            gbest[g] = m
            garg[g] = left[tot.index(m)]
    return np.asarray(gbest, np.int64), np.asarray(garg, np.int64)


def _run_numpy(plan: _Plan):
    """Best cost and predecessor per group, all groups of one position at once (for batches)."""
    gbest = np.zeros(plan.groups, np.int64)
    garg = np.zeros(plan.groups, np.int64)
    steps, lo = np.unique(plan.g_pos[1:], return_index=True)
    lo = lo + 1
    hi = np.append(lo[1:], plan.groups)
    rank = np.arange(plan.pleft.size) - np.repeat(plan.p_start[1:-1], np.diff(plan.p_start[1:]))
    for a, b in zip(lo.tolist(), hi.tolist()):
        qa, qb = int(plan.p_start[a]), int(plan.p_start[b])
        key = (gbest[plan.lgroup[qa:qb]] + plan.wconn[qa:qb]) * 65536 + rank[qa:qb]
        m = np.minimum.reduceat(key, plan.p_start[a:b] - qa)
        gbest[a:b] = m >> 16
        garg[a:b] = plan.pleft[plan.p_start[a:b] + (m & 0xFFFF)]
    return gbest, garg


def _paths(plan: _Plan, gbest, garg, mat, eos_row: int) -> list[list[tuple[int, int]]]:
    """EOS per text (first minimum in scan order), then follow predecessors back to BOS."""
    S = plan.offset.size - 1
    sent = np.repeat(np.arange(S), np.diff(plan.offset))
    last = np.maximum.reduceat(plan.at, plan.offset[:-1])
    fin = np.flatnonzero(plan.at == last[sent])
    fin = fin[np.lexsort((fin, -plan.lookup[fin], sent[fin]))]        # per text, scan order
    tot = gbest[plan.gid[fin]] + plan.w[fin] + mat.cells(eos_row + plan.col[fin])
    starts = np.flatnonzero(np.r_[True, sent[fin][1:] != sent[fin][:-1]])
    rank = np.arange(fin.size) - np.repeat(starts, np.diff(np.r_[starts, fin.size]))
    best = np.minimum.reduceat(tot * 65536 + rank, starts)
    cur = fin[starts + (best & 0xFFFF)]
    bos = plan.offset[:-1]
    prev = garg[plan.gid]
    if plan.lookup.size and int(plan.lookup.max()) > 4096:      # long paths: follow them in Python
        pl, sb, se = prev.tolist(), plan.span_b.tolist(), plan.span_e.tolist()
        out = []
        for lo, i in zip(bos.tolist(), cur.tolist()):
            path = []
            while i > lo:
                path.append((sb[i], se[i]))
                i = pl[i]
            path.reverse()
            out.append(path)
        return out
    # short paths: follow all texts' back-pointers in lock-step
    texts, nodes = [], []
    live = np.flatnonzero(cur > bos)
    while live.size:
        texts.append(live)
        nodes.append(cur[live])
        cur[live] = prev[cur[live]]
        live = live[cur[live] > bos[live]]
    if not texts:
        return [[] for _ in range(S)]
    t, n = np.concatenate(texts), np.concatenate(nodes)
    order = np.lexsort((n, t))                     # node ids grow along a path
    n = n[order]
    spans = list(zip(plan.span_b[n].tolist(), plan.span_e[n].tolist()))
    cut = np.concatenate([[0], np.cumsum(np.bincount(t, minlength=S))]).tolist()
    return [spans[a:b] for a, b in zip(cut[:-1], cut[1:])]


def best_paths(R: Records, entries: Entries, mat, bos_col: int, eos_row: int,
               vectorised: bool | None = None) -> list[list[tuple[int, int]]]:
    """Surface spans of the best path of every text of ``R`` (``mat``: the ``ConnectionMatrix``;
    cells are addressed by flat index ``row * n_right + col``)."""
    plan = _plan(R, entries, mat, bos_col)
    vec = R.n.size > 4 if vectorised is None else vectorised
    gbest, garg = (_run_numpy if vec else _run_python)(plan)
    return _paths(plan, gbest, garg, mat, eos_row)
