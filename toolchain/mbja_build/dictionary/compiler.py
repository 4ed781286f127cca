"""Compile a MeCab dictionary into the compact, memory-mappable format the runtimes read.

What is dropped, and why it cannot change a segmentation (docs/dictionary-format.md):
  * features (POS strings): the tokenizer outputs surfaces only;
  * context ids are replaced by matrix classes: left ids whose matrix rows are identical share a
    row, right ids whose columns are identical share a column (5,981 ids -> ~4,600 each),
    numbered so that similar rows (columns) are neighbours, which deflate rewards (ordering.py);
  * within one surface, an entry whose (row, column) repeats an earlier one with a cost that is
    not lower is dropped: same span, same connections, never cheaper, so Viterbi can't pick it.
Everything kept stays in MeCab's order, because Viterbi ties are broken by that order.
"""
from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from mbja_runtime.tokenize import format as fmt

from ..errors import BuildError
from .double_array import build_double_array
from .mecab_source import MecabDictionary
from .ordering import renumber

MAX_LOOKUP_BYTES = 65535   # MeCab looks at most this many bytes ahead (node spans are u16)


@dataclass
class CompiledFile:
    kind: str
    params: tuple[int, ...]
    arrays: dict[str, np.ndarray]

    def to_bytes(self) -> bytes:
        """Header + arrays in layout order, each zero-padded to 8 bytes; CRC-32 over the payload."""
        specs = fmt.layout(self.kind, self.params)
        parts = []
        for spec in specs:
            a = np.ascontiguousarray(self.arrays[spec.name], dtype=spec.dtype).ravel()
            if a.size != spec.count:
                raise BuildError(f"{self.kind}.{spec.name}: {a.size} items, layout expects {spec.count}")
            raw = a.tobytes()
            parts.append(raw + bytes(fmt.padded(len(raw)) - len(raw)))
        payload = b"".join(parts)
        return fmt.pack_header(self.kind, zlib.crc32(payload), len(payload), self.params) + payload


@dataclass
class CompiledDictionary:
    files: dict[str, CompiledFile]
    stats: dict = field(default_factory=dict)


def _classes(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dedupe rows: (index of each row's class, representative row per class), first-seen order."""
    _, first, inverse = np.unique(vectors, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)                 # class ids in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse.ravel()], first[order]


def _matrix(src: MecabDictionary):
    unk_left = np.concatenate([v[0] for v in src.unknown.values()])
    unk_right = np.concatenate([v[1] for v in src.unknown.values()])
    lefts = np.unique(np.concatenate([src.left, unk_left, [0]]).astype(np.int64))   # 0 = EOS
    rights = np.unique(np.concatenate([src.right, unk_right, [0]]).astype(np.int64))  # 0 = BOS
    n_left_ids, n_right_ids = src.matrix.shape
    if lefts[-1] >= n_left_ids or rights[-1] >= n_right_ids:
        raise BuildError("a context id is outside the connection matrix")
    sub = np.asarray(src.matrix)[np.ix_(lefts, rights)]
    row_of, row_rep = _classes(sub)
    col_of, col_rep = _classes(np.ascontiguousarray(sub.T))
    cost = sub[row_rep][:, col_rep]
    new_row, new_col = renumber(cost), renumber(np.ascontiguousarray(cost.T))
    row_of, col_of = new_row[row_of], new_col[col_of]
    cost = cost[np.argsort(new_row)][:, np.argsort(new_col)]
    row_class = np.full(n_left_ids, -1, np.int64)
    row_class[lefts] = row_of
    col_class = np.full(n_right_ids, -1, np.int64)
    col_class[rights] = col_of
    return row_class, col_class, cost


def _alphabet(surfaces: list[str]) -> dict[str, int]:
    counts = Counter(c for s in surfaces for c in s)
    ranked = sorted(counts, key=lambda ch: (-counts[ch], ord(ch)))
    if len(ranked) > 0xFFFF:
        raise BuildError(f"{len(ranked)} distinct characters in surfaces; the format allows 65,535")
    return {ch: i + 1 for i, ch in enumerate(ranked)}


def _entries(src: MecabDictionary, row_class, col_class):
    """Entries of every surface, deduplicated as described in the module docstring."""
    n_tok = src.left.size
    key_of = np.repeat(np.arange(len(src.surfaces)), src.token_count)
    tok = np.concatenate([np.arange(s, s + c) for s, c in zip(src.token_start.tolist(), src.token_count.tolist())]) \
        if n_tok else np.zeros(0, np.int64)
    row = row_class[src.left[tok].astype(np.int64)]
    col = col_class[src.right[tok].astype(np.int64)]
    cost = src.cost[tok].astype(np.int64)
    order = np.lexsort((tok, cost, col, row, key_of))     # best (cheapest, then earliest) first
    k, r, c = key_of[order], row[order], col[order]
    head = np.ones(order.size, bool)
    head[1:] = (k[1:] != k[:-1]) | (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    keep = order[head]
    keep = keep[np.lexsort((tok[keep], key_of[keep]))]     # back to MeCab order within each key
    return key_of[keep], row[keep], col[keep], cost[keep], n_tok - keep.size


def compile_dictionary(src: MecabDictionary) -> CompiledDictionary:
    row_class, col_class, matrix = _matrix(src)
    key_of, e_row, e_col, e_cost, dropped = _entries(src, row_class, col_class)

    code = _alphabet(src.surfaces)
    coded = [tuple(code[ch] for ch in s) for s in src.surfaces]
    key_order = sorted(range(len(coded)), key=coded.__getitem__)
    rank = np.empty(len(coded), np.int64)
    rank[key_order] = np.arange(len(coded))
    per_key = np.bincount(key_of, minlength=len(coded))
    if per_key.max() > 255:
        raise BuildError("a surface has more than 255 entries; the trie value packs the count in 8 bits")
    order = np.lexsort((np.arange(key_of.size), rank[key_of]))   # entries grouped in trie key order
    e_row, e_col, e_cost = e_row[order], e_col[order], e_cost[order]
    counts = per_key[key_order]
    firsts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    values = (firsts << 8) | counts
    if values.size and values.max() >= 2 ** 31:
        raise BuildError("too many entries for 31-bit trie values")
    base, check = build_double_array([coded[i] for i in key_order], values.tolist(), len(code))

    code_bmp = np.zeros(fmt.BMP, np.uint16)
    astral = sorted((ord(ch), c) for ch, c in code.items() if ord(ch) >= fmt.BMP)
    for ch, c in code.items():
        if ord(ch) < fmt.BMP:
            code_bmp[ord(ch)] = c
    trie = CompiledFile("TRIE", (base.size, len(code), len(astral), len(coded)), {
        "base": base, "check": check, "code_bmp": code_bmp,
        "astral_cp": np.array([a for a, _ in astral], np.uint32),
        "astral_code": np.array([c for _, c in astral], np.uint16)})
    lexicon = CompiledFile("LEXI", (e_row.size,), {"left": e_row, "right": e_col, "cost": e_cost})
    high, low = fmt.split_costs(matrix)
    conn = CompiledFile("CONN", matrix.shape, {"high": high, "low": low})
    chars = _chars(src, row_class, col_class)
    stats = {"surfaces": len(coded), "entries": int(e_row.size), "entries_dropped": int(dropped),
             "alphabet": len(code), "trie_slots": int(base.size),
             "trie_fill": round(float((check >= 0).sum() + 1) / base.size, 4),
             "matrix": [int(matrix.shape[0]), int(matrix.shape[1])],
             "context_ids": [int(src.matrix.shape[0]), int(src.matrix.shape[1])]}
    return CompiledDictionary({"TRIE": trie, "LEXI": lexicon, "CONN": conn, "CHAR": chars}, stats)


def _chars(src: MecabDictionary, row_class, col_class) -> CompiledFile:
    """Character classes (a palette of distinct per-code-point records) and unknown-word entries.

    MeCab's char.bin has no row for U+FFFF: MeCab reads one past its table and finds zeros, so
    U+FFFF behaves as a character of no category that never groups. We make that explicit: the
    all-zero record is a class of its own and U+FFFF points at it.
    """
    info = np.concatenate([src.char_info.astype(np.uint32), np.zeros(1, np.uint32)])
    words, first, class_of = np.unique(info, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    words = words[order]
    if words.size > 255:
        raise BuildError("more than 255 distinct character classes")
    names = src.category_names
    if len(names) > 24:
        raise BuildError("more than 24 character categories")
    name_block = np.zeros((len(names), fmt.NAME_BYTES), np.uint8)
    for i, n in enumerate(names):
        b = n.encode("ascii")[:fmt.NAME_BYTES - 1]
        name_block[i, :len(b)] = np.frombuffer(b, np.uint8)
    # MeCab's packed CharInfo: type mask bits 0-17, default type 18-25, length 26-29, group 30, invoke 31
    offsets, ul, ur, uc = [0], [], [], []
    for n in names:
        left, right, cost = src.unknown[n]
        ul.append(row_class[left.astype(np.int64)])
        ur.append(col_class[right.astype(np.int64)])
        uc.append(cost)
        offsets.append(offsets[-1] + left.size)
    return CompiledFile("CHAR", (len(names), words.size, offsets[-1], src.max_grouping_size, MAX_LOOKUP_BYTES,
                                 int(col_class[0]), int(row_class[0])), {
        "class_of_bmp": rank[class_of.ravel()].astype(np.uint8),
        "class_mask": words & 0x3FFFF, "class_category": (words >> 18) & 0xFF,
        "class_length": (words >> 26) & 0xF, "class_group": (words >> 30) & 1, "class_invoke": (words >> 31) & 1,
        "category_name": name_block, "unknown_offsets": np.array(offsets, np.uint32),
        "unk_left": np.concatenate(ul), "unk_right": np.concatenate(ur), "unk_cost": np.concatenate(uc)})
