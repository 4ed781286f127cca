"""The compiled dictionary's binary layout, shared by the writer (mbja_build) and every reader.

docs/dictionary-format.md is the specification; this module is its single executable copy, so
the toolchain that writes a dictionary and the runtime that reads it cannot drift apart. Each
file is a 64-byte header followed by fixed arrays whose lengths follow from the header's
``params``: no text to parse, every array aligned to 8 bytes, so Python can ``np.frombuffer``
an ``mmap`` and Kotlin can wrap a ``MappedByteBuffer`` without copying.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"MBJD"
#: 2: matrix.bin holds the costs as two byte planes (high i8, low u8) instead of one i16 array.
FORMAT_VERSION = 2
HEADER_SIZE = 64
ALIGN = 8

# magic, kind, version, header_size, crc32, payload_size, params[8], reserved
HEADER_STRUCT = struct.Struct("<4s4sHHIQ8I8x")
assert HEADER_STRUCT.size == HEADER_SIZE

#: The four files of a compiled dictionary, by kind.
FILES = {"TRIE": "trie.bin", "LEXI": "lexicon.bin", "CONN": "matrix.bin", "CHAR": "chars.bin"}
NOTICE = "NOTICE"

#: Number of BMP code points that have a row in the per-code-point tables (U+0000..U+FFFF).
BMP = 0x10000
#: Bytes of a category name (ASCII, NUL padded).
NAME_BYTES = 16


@dataclass(frozen=True)
class ArraySpec:
    name: str
    dtype: str
    count: int


def _params(kind: str, params: tuple[int, ...]) -> dict:
    names = {
        # n_slots: double-array size; alphabet: codes 1..alphabet; n_astral: code-map entries > U+FFFF
        "TRIE": ("n_slots", "alphabet", "n_astral", "n_keys"),
        "LEXI": ("n_entries",),
        # cell (left, right): left = class of the NEXT node's left context, right = PREVIOUS node's right
        "CONN": ("n_left", "n_right"),
        "CHAR": ("n_categories", "n_classes", "n_unknown", "max_grouping_size", "max_lookup_bytes",
                 "bos_right", "eos_left"),
    }[kind]
    return dict(zip(names, params))


def layout(kind: str, params: tuple[int, ...]) -> list[ArraySpec]:
    """The arrays of a file of ``kind`` in payload order; counts follow from the header params."""
    p = _params(kind, params)
    if kind == "TRIE":
        return [ArraySpec("base", "<i4", p["n_slots"]), ArraySpec("check", "<i4", p["n_slots"]),
                ArraySpec("code_bmp", "<u2", BMP), ArraySpec("astral_cp", "<u4", p["n_astral"]),
                ArraySpec("astral_code", "<u2", p["n_astral"])]
    if kind == "LEXI":
        n = p["n_entries"]
        return [ArraySpec("left", "<u2", n), ArraySpec("right", "<u2", n), ArraySpec("cost", "<i2", n)]
    if kind == "CONN":
        # cost = high * 256 + low (see split_costs): byte planes, because deflate (an APK's zip)
        # packs the nearly constant high bytes and the noisy low bytes far better apart
        n = p["n_left"] * p["n_right"]
        return [ArraySpec("high", "i1", n), ArraySpec("low", "u1", n)]
    if kind == "CHAR":
        c, k, u = p["n_categories"], p["n_classes"], p["n_unknown"]
        return [ArraySpec("class_of_bmp", "u1", BMP), ArraySpec("class_mask", "<u4", k),
                ArraySpec("class_category", "u1", k), ArraySpec("class_length", "u1", k),
                ArraySpec("class_group", "u1", k), ArraySpec("class_invoke", "u1", k),
                ArraySpec("category_name", "u1", c * NAME_BYTES), ArraySpec("unknown_offsets", "<u4", c + 1),
                ArraySpec("unk_left", "<u2", u), ArraySpec("unk_right", "<u2", u), ArraySpec("unk_cost", "<i2", u)]
    raise ValueError(f"unknown dictionary file kind {kind!r}")


def split_costs(cost) -> tuple[np.ndarray, np.ndarray]:
    """int16 connection costs -> (high i8, low u8) planes with ``cost == high * 256 + low``."""
    c = np.asarray(cost, np.int16).astype(np.int32)
    return (c >> 8).astype(np.int8), (c & 0xFF).astype(np.uint8)


def join_costs(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """The inverse of ``split_costs`` for gathered cells, as int64 (what Viterbi sums in)."""
    return high.astype(np.int64) * 256 + low


def param_dict(kind: str, params: tuple[int, ...]) -> dict:
    return _params(kind, params)


def padded(nbytes: int) -> int:
    return (nbytes + ALIGN - 1) // ALIGN * ALIGN


def array_offsets(specs: list[ArraySpec]) -> tuple[list[int], int]:
    """Byte offset of each array from the file start, and the total file size."""
    offsets, pos = [], HEADER_SIZE
    for s in specs:
        offsets.append(pos)
        pos += padded(np.dtype(s.dtype).itemsize * s.count)
    return offsets, pos


def pack_header(kind: str, crc: int, payload_size: int, params: tuple[int, ...]) -> bytes:
    full = tuple(params) + (0,) * (8 - len(params))
    return HEADER_STRUCT.pack(MAGIC, kind.encode("ascii"), FORMAT_VERSION, HEADER_SIZE, crc, payload_size, *full)


def unpack_header(raw: bytes) -> dict:
    magic, kind, version, hsize, crc, payload, *params = HEADER_STRUCT.unpack(raw[:HEADER_SIZE])
    return {"magic": magic, "kind": kind, "version": version, "header_size": hsize, "crc32": crc,
            "payload_size": payload, "params": tuple(params)}
