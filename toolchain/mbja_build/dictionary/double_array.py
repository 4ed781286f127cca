"""Build the double-array trie over code-point labels that the runtime searches.

Why a double array over *code points* (not UTF-8 bytes as MeCab does): a lookup then costs one
step per character -- two array reads and a compare -- which is what makes a pure-Python (and a
Kotlin) common-prefix search fast. Characters are mapped to dense codes 1..K, most frequent
first, so child blocks are short and the array stays densely filled.

Array semantics (docs/dictionary-format.md, "trie.bin"):
  * slot 0 is the root; ``check[s] == -1`` marks a free slot;
  * a node at slot s with ``base[s] >= 1`` has its child for code c at ``t = base[s] + c`` iff
    ``check[t] == s``; code 0 is the end-of-key marker whose ``base`` holds ``-value - 1``;
  * a node with ``base[s] < 0`` is a leaf: a key ends there with value ``-base[s] - 1``.
"""
from __future__ import annotations

import numpy as np

_WINDOW = 4096


def build_double_array(keys: list[tuple[int, ...]], values: list[int], alphabet: int):
    """Double array for ``keys`` (sorted, unique, non-empty code tuples; codes 1..alphabet).

    Placement is first-fit in depth-first order. Nodes with one child (most of them) take the
    first free slot, found by a C-speed ``bytearray.find``; nodes with several children are
    placed by a vectorised NumPy scan over a window of candidate bases, which stays fast in the
    dense front of the array where a per-candidate Python loop would retry the same holes.
    Returns (base, check) as int32 arrays, padded so that ``base + code`` never runs past the end.
    """
    # upper bound on slots: one per trie node (<= total key length + 1) plus end markers,
    # plus head room for the widest child block
    size = sum(len(k) for k in keys) + len(keys) + 4 * alphabet + 2 * _WINDOW + 16
    used = bytearray(size)
    occupied = np.frombuffer(used, dtype=np.uint8)   # a view: writes to ``used`` show up here
    base = [0] * size
    check = [-1] * size
    used[0] = 1
    next_free = 1
    multi_from = 1   # where searches for multi-child nodes start; skips >= 95 % full regions

    stack = [(0, 0, 0, len(keys))]   # (slot, depth, lo, hi): keys[lo:hi] share the slot's prefix
    while stack:
        slot, depth, lo, hi = stack.pop()
        labels, starts = [], []
        i = lo
        terminal_value = None
        if len(keys[i]) == depth:        # sorted order puts the key equal to the prefix first
            terminal_value = values[i]
            i += 1
        while i < hi:
            c = keys[i][depth]
            labels.append(c)
            starts.append(i)
            i += 1
            while i < hi and keys[i][depth] == c:
                i += 1
        starts.append(hi)
        if not labels:                   # leaf: the value lives in base
            base[slot] = -terminal_value - 1
            continue
        if terminal_value is not None:
            labels.insert(0, 0)
        first = labels[0]
        if len(labels) == 1:
            b = used.find(0, max(next_free, first + 1)) - first
        else:
            start = max(next_free, multi_from)
            b = _first_fit(occupied, labels, max(start - first, 1))
            # Darts' heuristic: a scanned stretch that was >= 95 % full is not worth rescanning
            if b + first - start > 64 and np.count_nonzero(occupied[start:b + first]) >= 0.95 * (b + first - start):
                multi_from = b + first
        if b < 1 or b + labels[-1] >= size:
            raise RuntimeError("double array overflow (size estimate too small)")
        base[slot] = b
        for c in labels:
            used[b + c] = 1
            check[b + c] = slot
        if used[next_free]:
            next_free = used.find(0, next_free)
        if terminal_value is not None:
            base[b] = -terminal_value - 1
            labels = labels[1:]
        for k in range(len(labels) - 1, -1, -1):   # reversed push: smallest label is placed first
            stack.append((b + labels[k], depth + 1, starts[k], starts[k + 1]))

    n = max(used.rfind(1) + 1, max(x for x in base if x > 0) + alphabet + 1)
    return np.asarray(base[:n], dtype=np.int32), np.asarray(check[:n], dtype=np.int32)


def _first_fit(occupied: np.ndarray, labels: list[int], lo: int) -> int:
    """Smallest base >= lo with every ``base + label`` slot free (``occupied`` is 0 where free)."""
    last = labels[-1]
    while True:
        hi = min(lo + _WINDOW, occupied.size - last)
        if hi <= lo:
            return -1
        ok = occupied[lo + labels[0]:hi + labels[0]] == 0
        for k in range(1, len(labels)):
            c = labels[k]
            ok &= occupied[lo + c:hi + c] == 0
            if k & (k - 1) == 0 and not ok.any():   # test for a dead window now and then only
                break
        hits = np.flatnonzero(ok)
        if hits.size:
            return lo + int(hits[0])
        lo = hi
