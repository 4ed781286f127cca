"""Sliding windows over a token sequence longer than the model takes.

Texts longer than the model's length are not cut: the content tokens (between [CLS] and [SEP])
are covered by overlapping windows of the largest length the model takes, and each token keeps
the prediction of the window in which it has the most context on both sides (the SQuAD rule).
"""
from __future__ import annotations

import numpy as np

from ..errors import MbjaError


def check_stride(stride, size: int) -> None:
    """Refuse an overlap that windows of ``size`` content tokens cannot have (the pipeline checks
    the caller's option with it before any text, ``window_starts`` before it cuts)."""
    if isinstance(stride, bool) or not isinstance(stride, int) or not 0 <= stride < size:
        raise MbjaError(f"stride must be an int from 0 to {size - 1} (the windows' {size} content tokens "
                        f"minus one), not {stride!r}")


def window_starts(n: int, size: int, stride: int) -> list[int]:
    """Starts of windows of ``size`` tokens covering ``n`` tokens, neighbours overlapping by
    ``stride`` tokens (at least); the last window ends at ``n``, so every window is full."""
    if size < 1:
        raise MbjaError("the model takes no content tokens (max length < 3)")
    check_stride(stride, size)
    if n <= size:
        return [0]
    step = size - stride
    starts = list(range(0, n - size, step))
    starts.append(n - size)
    return starts


def best_window(n: int, size: int, starts: list[int]) -> np.ndarray:
    """For each of ``n`` tokens, the index of the window where it is farthest from an edge
    (the earliest window on ties)."""
    i = np.arange(n)[:, None]
    s = np.asarray(starts)[None, :]
    inside = (i >= s) & (i < s + size)
    context = np.where(inside, np.minimum(i - s, s + size - 1 - i), -1)
    return context.argmax(axis=1)


def windowed(run, ids: list[int], max_length: int, stride: int) -> np.ndarray:
    """Token-level output for ``[CLS] content [SEP]`` ids of any length.

    ``run(ids)`` runs the model on one window (a list starting with [CLS], ending with [SEP]) and
    returns (len(ids), dim). Returns (len(ids), dim): rows 0 and -1 ([CLS], [SEP]) come from the
    first and the last window.
    """
    if len(ids) <= max_length:
        return run(ids)
    cls, content, sep = ids[0], ids[1:-1], ids[-1]
    size = max_length - 2
    starts = window_starts(len(content), size, stride)
    outs = [run([cls] + content[s:s + size] + [sep]) for s in starts]
    pick = best_window(len(content), size, starts)
    body = np.stack([outs[w][1 + i - starts[w]] for i, w in enumerate(pick.tolist())])
    return np.concatenate([outs[0][:1], body, outs[-1][-1:]])
