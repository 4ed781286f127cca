"""Number the matrix classes so that deflate (the APK's zip) compresses matrix.bin well.

Row and column classes are internal ids: any numbering gives the same costs, as long as the
lexicon and the unknown-word entries use it too. Deflate only finds repeats within 32 KB, about
seven matrix rows of one byte plane, so it pays to put rows that share many cells next to each
other (and the same for columns). We do that greedily: start at class 0, then always append the
not yet placed class that agrees with the last one in the most cells. Agreement is counted on
evenly spaced sample cells (256 of ~4,600) to keep the compiler at a few seconds; the sample
changes nothing but the order. Measured on unidic-lite: the two byte planes deflate to 13.1 MB
instead of 16.3 MB (an i16 matrix in this order: 15.2 MB instead of 21.2 MB).
"""
from __future__ import annotations

import numpy as np

_SAMPLES = 256
_BLOCK = 64


def similarity_order(vectors: np.ndarray, samples: int = _SAMPLES) -> np.ndarray:
    """A deterministic order of the rows of ``vectors`` (2-D) that chains similar rows.

    Returns ``order``: ``order[k]`` is the row placed k-th.
    """
    n = vectors.shape[0]
    if n <= 2:
        return np.arange(n)
    step = max(1, vectors.shape[1] // samples)
    s = np.ascontiguousarray(vectors[:, ::step])
    agree = np.empty((n, n), np.int32)
    for i in range(0, n, _BLOCK):
        agree[i:i + _BLOCK] = (s[i:i + _BLOCK, None, :] == s[None, :, :]).sum(-1)
    taken = np.iinfo(np.int32).min
    agree[:, 0] = taken                      # row 0 starts the chain
    order = np.empty(n, np.int64)
    cur = order[0] = 0
    for k in range(1, n):
        cur = int(agree[cur].argmax())       # first maximum: ties go to the lowest index
        order[k] = cur
        agree[:, cur] = taken
    return order


def renumber(vectors: np.ndarray) -> np.ndarray:
    """``new_id[old_id]`` for the rows of ``vectors`` in ``similarity_order``."""
    order = similarity_order(vectors)
    new_id = np.empty(order.size, np.int64)
    new_id[order] = np.arange(order.size)
    return new_id
