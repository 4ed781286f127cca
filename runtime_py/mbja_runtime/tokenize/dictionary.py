"""Map a compiled dictionary directory and refuse it unless every file is whole and consistent.

Validation happens once, at load, so that the segmenter's hot loop can index arrays without
bounds checks and still never crash: every id, offset and code that a lookup can reach is proven
in range here. Errors are BundleErrors that name the offending file.
"""
from __future__ import annotations

import mmap
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BundleError
from . import format as fmt


class ConnectionMatrix:
    """The n_left x n_right connection costs, read in place from matrix.bin's two byte planes.

    Nothing is decoded into memory: ``high``/``low`` are flat views on the mapped file and a cell
    is ``high[i] * 256 + low[i]`` with ``i = row * n_right + col`` (``format.join_costs``).
    ``m[rows, cols]`` gathers cells (NumPy indexing rules) as int64; ``m.cells(flat)`` takes flat
    indices.
    """

    def __init__(self, high: np.ndarray, low: np.ndarray, n_left: int, n_right: int):
        self.high, self.low = high, low
        self.shape = (n_left, n_right)

    def cells(self, flat) -> np.ndarray:
        return fmt.join_costs(self.high[flat], self.low[flat])

    def __getitem__(self, key) -> np.ndarray:
        rows, cols = key
        return self.cells(np.asarray(rows, np.int64) * self.shape[1] + np.asarray(cols, np.int64))


@dataclass
class DictionaryFile:
    path: Path
    params: dict
    arrays: dict


def _open(path: Path, kind: str, verify: bool) -> DictionaryFile:
    if not path.is_file():
        raise BundleError(f"dictionary file missing: {path}")
    size = path.stat().st_size
    if size < fmt.HEADER_SIZE:
        raise BundleError(f"dictionary file {path} is truncated ({size} bytes, the header alone is "
                          f"{fmt.HEADER_SIZE})")
    with open(path, "rb") as f:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    h = fmt.unpack_header(buf[:fmt.HEADER_SIZE])
    if h["magic"] != fmt.MAGIC:
        raise BundleError(f"{path} is not an mbja dictionary file (bad magic {h['magic']!r})")
    if h["kind"] != kind.encode("ascii"):
        raise BundleError(f"{path} holds a {h['kind']!r} section, expected {kind!r}")
    if h["version"] != fmt.FORMAT_VERSION:
        raise BundleError(f"{path}: dictionary format version {h['version']} is not supported (this runtime "
                          f"reads version {fmt.FORMAT_VERSION}); rebuild the bundle with a matching mbja-build")
    if h["header_size"] != fmt.HEADER_SIZE or h["payload_size"] != size - fmt.HEADER_SIZE:
        raise BundleError(f"{path} is truncated or padded: header says {h['payload_size']} payload bytes, "
                          f"file has {size - fmt.HEADER_SIZE}")
    try:
        specs = fmt.layout(kind, h["params"])
    except (KeyError, ValueError) as e:
        raise BundleError(f"{path}: bad header ({e})") from None
    offsets, total = fmt.array_offsets(specs)
    if total != size:
        raise BundleError(f"{path}: header counts describe {total} bytes, file has {size} (corrupt header)")
    if verify and zlib.crc32(buf[fmt.HEADER_SIZE:]) != h["crc32"]:
        raise BundleError(f"dictionary file {path} fails its CRC-32 check (corrupt or tampered)")
    arrays = {s.name: np.frombuffer(buf, dtype=s.dtype, count=s.count, offset=o) for s, o in zip(specs, offsets)}
    return DictionaryFile(path, fmt.param_dict(kind, h["params"]), arrays)


class Dictionary:
    """The four files of a compiled dictionary, memory-mapped and cross-checked.

    Attributes are read-only NumPy views on the mapped files: ``base``/``check`` (trie),
    ``code_bmp`` and ``astral`` (char -> trie code), entry ``left``/``right``/``cost``,
    ``matrix`` (a ``ConnectionMatrix``, n_left x n_right), the character-class tables and the unknown-word entries.
    """

    def __init__(self, directory: str | os.PathLike, verify: bool = True):
        d = Path(directory)
        if not d.is_dir():
            raise BundleError(f"dictionary directory not found: {d}")
        self.directory = d
        f = {k: _open(d / name, k, verify) for k, name in fmt.FILES.items()}
        self._files = f
        trie, lex, conn, chars = f["TRIE"], f["LEXI"], f["CONN"], f["CHAR"]
        self.base, self.check = trie.arrays["base"], trie.arrays["check"]
        self.code_bmp = trie.arrays["code_bmp"]
        self.astral = dict(zip(trie.arrays["astral_cp"].tolist(), trie.arrays["astral_code"].tolist()))
        self.alphabet = trie.params["alphabet"]
        self.left, self.right, self.cost = lex.arrays["left"], lex.arrays["right"], lex.arrays["cost"]
        self.n_left, self.n_right = conn.params["n_left"], conn.params["n_right"]
        self.matrix = ConnectionMatrix(conn.arrays["high"], conn.arrays["low"], self.n_left, self.n_right)
        c = chars.arrays
        self.class_of_bmp = c["class_of_bmp"]
        self.class_mask, self.class_category = c["class_mask"], c["class_category"]
        self.class_length, self.class_group, self.class_invoke = c["class_length"], c["class_group"], c["class_invoke"]
        names = c["category_name"].reshape(-1, fmt.NAME_BYTES)
        self.category_names = [bytes(r).split(b"\0", 1)[0].decode("ascii", "replace") for r in names]
        self.unknown_offsets = c["unknown_offsets"]
        self.unk_left, self.unk_right, self.unk_cost = c["unk_left"], c["unk_right"], c["unk_cost"]
        p = chars.params
        self.max_grouping_size = p["max_grouping_size"]
        self.max_lookup_bytes = p["max_lookup_bytes"]
        self.bos_right, self.eos_left = p["bos_right"], p["eos_left"]
        self._validate()

    def _fail(self, kind: str, what: str):
        raise BundleError(f"dictionary file {self._files[kind].path} is inconsistent: {what}")

    def _validate(self) -> None:
        n = self.base.size
        if n < 1 or self.check.size != n:
            self._fail("TRIE", "empty double array")
        if not (1 <= self.alphabet <= 0xFFFF) or int(self.code_bmp.max()) > self.alphabet or \
                any(not (1 <= v <= self.alphabet) for v in self.astral.values()):
            self._fail("TRIE", "character codes outside the alphabet")
        if self.check.min() < -1 or self.check.max() >= n:
            self._fail("TRIE", "check values out of range")
        inner = self.base[self.base >= 0]
        if inner.size and int(inner.max()) + self.alphabet >= n:
            self._fail("TRIE", "a base points past the end of the array")
        values = (-self.base[self.base < 0].astype(np.int64)) - 1
        if values.size and int(((values >> 8) + (values & 0xFF)).max()) > self.left.size:
            self._fail("TRIE", "a key points past the end of the lexicon")
        for kind, left, right in (("LEXI", self.left, self.right), ("CHAR", self.unk_left, self.unk_right)):
            if left.size and (int(left.max()) >= self.n_left or int(right.max()) >= self.n_right):
                self._fail(kind, f"context classes outside the {self.n_left}x{self.n_right} matrix")
        k = self.class_mask.size
        if k < 1 or int(self.class_of_bmp.max()) >= k:
            self._fail("CHAR", "character class index out of range")
        ncat = len(self.category_names)
        off = self.unknown_offsets.astype(np.int64)
        if int(self.class_category.max()) >= ncat or off[0] != 0 or off[-1] != self.unk_left.size or \
                (np.diff(off) < 0).any():
            self._fail("CHAR", "categories or unknown-word ranges out of range")
        if self.bos_right >= self.n_right or self.eos_left >= self.n_left or self.max_lookup_bytes < 1:
            self._fail("CHAR", "BOS/EOS context or look-ahead setting out of range")
