"""Read the MeCab binary dictionary that unidic-lite installs, keeping only what segmentation needs.

We read MeCab's compiled files (sys.dic, unk.dic, matrix.bin, char.bin) rather than UniDic's CSV
sources because unidic-lite ships only the binaries, and because the binaries are exactly what
fugashi -- the reference -- segments with. Their layout is summarised in
docs/dictionary-format.md ("Source files"). Features (84 % of sys.dic) are never read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BuildError

_DIC_MAGIC_XOR = 0xEF718F77
_DIC_HEADER = 72
_DIC_VERSION = 102
_TOKEN = np.dtype([("left", "<u2"), ("right", "<u2"), ("posid", "<u2"), ("cost", "<i2"),
                   ("feature", "<u4"), ("compound", "<u4")])


@dataclass
class MecabDictionary:
    """Segmentation data of a MeCab dictionary, in MeCab's own id space and token order."""

    surfaces: list[str]            # one per key of sys.dic
    token_start: np.ndarray        # first token of each surface (int64)
    token_count: np.ndarray        # number of tokens of each surface (int64)
    left: np.ndarray               # per token: left context id (u2)
    right: np.ndarray              # per token: right context id (u2)
    cost: np.ndarray               # per token: word cost (i2)
    matrix: np.ndarray             # cost[next.left, prev.right] (i2, shape (n_left_ids, n_right_ids))
    category_names: list[str]      # index == category id (char.bin order)
    char_info: np.ndarray          # u4 per code point U+0000..U+FFFE, MeCab's packed CharInfo
    unknown: dict                  # category name -> (left, right, cost) arrays in unk.dic order
    max_grouping_size: int
    source: dict


def _read_dic(path: Path, expect_type: int):
    """Header-checked (double array, tokens) of a MeCab .dic file."""
    raw = np.fromfile(path, dtype=np.uint8)
    head = np.frombuffer(raw[:40].tobytes(), dtype="<u4")
    magic, version, dtype, lexsize, _lsize, _rsize, dsize, tsize, fsize, _ = (int(x) for x in head)
    if magic ^ _DIC_MAGIC_XOR != raw.size or version != _DIC_VERSION or dtype != expect_type:
        raise BuildError(f"{path}: not a MeCab v{_DIC_VERSION} dictionary of type {expect_type}")
    if _DIC_HEADER + dsize + tsize + fsize != raw.size or tsize != 16 * lexsize:
        raise BuildError(f"{path}: section sizes do not add up")
    units = np.frombuffer(raw[_DIC_HEADER:_DIC_HEADER + dsize].tobytes(), dtype="<i4").reshape(-1, 2)
    tokens = np.frombuffer(raw[_DIC_HEADER + dsize:_DIC_HEADER + dsize + tsize].tobytes(), dtype=_TOKEN)
    return units[:, 0].astype(np.int64), units[:, 1].view("<u4").astype(np.int64), tokens


def _enumerate_keys(base: np.ndarray, check: np.ndarray):
    """All keys of a Darts double array, bottom-up and vectorised.

    Darts stores, for every used unit p > 0, ``check[p]`` = base of the parent node and the
    byte label ``p - check[p] - 1``; an end-of-key unit has ``check[p] == p`` and holds
    ``-value - 1``. Internal nodes have distinct bases, so a base identifies its node and we
    can walk from every leaf to the root in parallel, one byte per step.
    Returns (keys as bytes, values).
    """
    n = base.size
    idx = np.arange(n)
    used = check != 0
    used[0] = True
    internal = used & (base > 0)
    node_of_base = np.full(int(base.max()) + 2, -1, dtype=np.int64)
    node_of_base[base[internal]] = idx[internal]
    leaves = idx[used & (check == idx) & (base < 0)]
    leaves = leaves[leaves > 0]
    values = -base[leaves] - 1
    cur = node_of_base[check[leaves]]
    columns = []
    while True:
        live = cur > 0
        if not live.any():
            break
        col = np.full(cur.size, -1, dtype=np.int64)
        col[live] = cur[live] - check[cur[live]] - 1
        columns.append(col)
        nxt = np.zeros_like(cur)
        nxt[live] = node_of_base[check[cur[live]]]
        cur = nxt
    labels = np.stack(columns[::-1], axis=1) if columns else np.zeros((leaves.size, 0), np.int64)
    depth = (labels >= 0).sum(axis=1)
    width = labels.shape[1]
    rows = np.where(labels >= 0, labels, 0).astype(np.uint8)
    keys = [rows[i, width - d:].tobytes() for i, d in enumerate(depth.tolist())]
    return keys, values


def read_mecab_dictionary(dicdir: str | os.PathLike | None = None) -> MecabDictionary:
    """Load unidic-lite (or another MeCab binary dictionary directory) for compilation."""
    if dicdir is None:
        try:
            import unidic_lite
        except ModuleNotFoundError:
            raise BuildError("unidic-lite is not installed (pip install unidic-lite==1.0.8)") from None
        dicdir = unidic_lite.DICDIR
    d = Path(dicdir)
    for name in ("sys.dic", "unk.dic", "matrix.bin", "char.bin"):
        if not (d / name).is_file():
            raise BuildError(f"MeCab dictionary file missing: {d / name}")

    base, check, tokens = _read_dic(d / "sys.dic", 0)
    keys, values = _enumerate_keys(base, check)
    order = np.argsort(values >> 8, kind="stable")   # MeCab token order; any order works for us
    surfaces = [keys[i].decode("utf-8") for i in order.tolist()]
    values = values[order]
    start, count = values >> 8, values & 0xFF
    if int(count.sum()) != tokens.size:
        raise BuildError(f"{d / 'sys.dic'}: keys do not cover every token exactly once")

    ubase, ucheck, utokens = _read_dic(d / "unk.dic", 2)
    ukeys, uvalues = _enumerate_keys(ubase, ucheck)
    unknown = {}
    for k, v in zip(ukeys, uvalues.tolist()):
        t = utokens[v >> 8:(v >> 8) + (v & 0xFF)]
        unknown[k.decode("ascii")] = (t["left"].copy(), t["right"].copy(), t["cost"].copy())

    m = np.fromfile(d / "matrix.bin", dtype="<i2")
    lsize, rsize = int(m[:1].view("<u2")[0]), int(m[1:2].view("<u2")[0])
    if m.size != 2 + lsize * rsize:
        raise BuildError(f"{d / 'matrix.bin'}: size does not match its {lsize}x{rsize} header")
    # MeCab indexes cost(prev -> next) as flat[prev.right + lsize * next.left]
    matrix = m[2:].reshape(rsize, lsize)

    raw = np.fromfile(d / "char.bin", dtype=np.uint8)
    ncat = int(np.frombuffer(raw[:4].tobytes(), "<u4")[0])
    names = [raw[4 + 32 * i:36 + 32 * i].tobytes().split(b"\0", 1)[0].decode("ascii") for i in range(ncat)]
    char_info = np.frombuffer(raw[4 + 32 * ncat:].tobytes(), "<u4").copy()
    if char_info.size != 0xFFFF:
        raise BuildError(f"{d / 'char.bin'}: expected 65535 code point entries, found {char_info.size}")
    missing = [n for n in names if n not in unknown]
    if missing:
        raise BuildError(f"{d / 'unk.dic'}: no unknown-word entries for categories {missing}")

    max_group = 24   # MeCab's default; unidic-lite's dicrc leaves max-grouping-size commented out
    dicrc = d / "dicrc"
    if dicrc.is_file():
        for line in dicrc.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, val = line.partition("=")
            if key.strip() == "max-grouping-size" and not line.lstrip().startswith(";"):
                max_group = int(val.strip())
    version = (d / "version").read_text().strip() if (d / "version").is_file() else "unknown"
    return MecabDictionary(
        surfaces=surfaces, token_start=start, token_count=count,
        left=tokens["left"].copy(), right=tokens["right"].copy(), cost=tokens["cost"].copy(),
        matrix=matrix, category_names=names, char_info=char_info, unknown=unknown,
        max_grouping_size=max_group, source={"dicdir": str(d), "unidic_version": version},
    )
