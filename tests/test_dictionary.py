"""The compiled dictionary: built from unidic-lite once per session, checked against its source,
locked by a golden test, and refused (naming the file) when a file is missing or damaged."""
from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from mbja_build.dictionary import MecabDictionary, compile_dictionary, read_mecab_dictionary, write_compiled
from mbja_build.dictionary.double_array import build_double_array
from mbja_build.dictionary.writer import _notice
from mbja_runtime.errors import BundleError
from mbja_runtime.tokenize import Dictionary, Segmenter
from mbja_runtime.tokenize import format as fmt
from mbja_runtime.tokenize.segmenter import c_engine_available

_BUILT: dict = {}


def build_once(tmp_path_factory):
    """(directory, manifest info, source) of the unidic-lite dictionary, compiled once per session.

    Shared with test_tokenizer_parity.py through this module-level cache (conftest.py is not ours).
    """
    if "dir" not in _BUILT:
        src = read_mecab_dictionary()
        out = tmp_path_factory.mktemp("dictionary")
        info = write_compiled(compile_dictionary(src), out, _notice(src.source))
        _BUILT.update(dir=out, info=info, src=src)
    return _BUILT["dir"], _BUILT["info"], _BUILT["src"]


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    return build_once(tmp_path_factory)


@pytest.fixture(scope="session")
def dictionary(built):
    return Dictionary(built[0])


def test_manifest_info_lists_every_file(built):
    out, info, _ = built
    assert info["format"] == "mbja-dictionary" and info["format_version"] == fmt.FORMAT_VERSION
    on_disk = {p.name for p in out.iterdir() if p.is_file()}
    assert set(info["files"]) == on_disk == set(fmt.FILES.values()) | {fmt.NOTICE}
    for name, meta in info["files"].items():
        assert meta["size"] == (out / name).stat().st_size
        assert meta["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    assert "BSD" in (out / fmt.NOTICE).read_text() and "UniDic" in (out / fmt.NOTICE).read_text()
    st = info["stats"]
    assert st["surfaces"] == 570_018 and 700_000 < st["entries"] <= 756_264
    assert st["entries"] + st["entries_dropped"] == 756_264
    # what the format promises on phones: well under MeCab's 260 MB, matrix classes deduplicated
    assert sum(m["size"] for m in info["files"].values()) < 60_000_000
    assert st["matrix"][0] < 5000 and st["matrix"][1] < 5000


def test_golden_header_bytes(built):
    """Magic, kind, version and header size are pinned byte for byte: a format change must bump
    FORMAT_VERSION and update this test and docs/dictionary-format.md together."""
    assert fmt.MAGIC == b"MBJD" and fmt.FORMAT_VERSION == 2 and fmt.HEADER_SIZE == 64
    for kind, name in fmt.FILES.items():
        head = (built[0] / name).read_bytes()[:12]
        assert head == b"MBJD" + kind.encode() + bytes([2, 0, 64, 0]), name


def _tiny_source() -> MecabDictionary:
    """A hand-made MeCab-like dictionary: 3 context ids, 2 categories, 4 surfaces."""
    info = np.full(0xFFFF, (1 << 0) | (0 << 18) | (1 << 30), np.uint32)          # DEFAULT, group
    info[0x20] = (1 << 1) | (1 << 18) | (1 << 30)                                 # SPACE
    for cp in range(0x3041, 0x3097):                                              # hiragana -> DEFAULT, length 2
        info[cp] = (1 << 0) | (0 << 18) | (2 << 26) | (1 << 30)
    surfaces = ["あ", "あい", "い", "う"]
    mat = np.array([[0, 10, 20], [5, -5, 15], [7, 7, 7]], np.int16)
    unk = {"DEFAULT": (np.array([1], np.uint16), np.array([1], np.uint16), np.array([500], np.int16)),
           "SPACE": (np.array([2], np.uint16), np.array([2], np.uint16), np.array([900], np.int16))}
    return MecabDictionary(
        surfaces=surfaces, token_start=np.array([0, 2, 3, 4]), token_count=np.array([2, 1, 1, 1]),
        left=np.array([1, 1, 2, 1, 2], np.uint16), right=np.array([1, 1, 2, 1, 2], np.uint16),
        cost=np.array([100, 150, 30, 80, 60], np.int16), matrix=mat, category_names=["DEFAULT", "SPACE"],
        char_info=info, unknown=unk, max_grouping_size=24, source={"dicdir": "tiny"})


# sha256 of each file compiled from _tiny_source(): the golden files of format version 2
GOLDEN = {
    "trie.bin": "4445afcedbd9608e96a3f7742c0665b9435e3b33aa080cc1ee8ec66ca0c4cd3c",
    "lexicon.bin": "01eda0817691bc5b0fffcfa2b6261df1a829efa9212ebadfda7a394a98a32bde",
    "matrix.bin": "024c03c7c68c09095cfbce370293bd3ea70ed989ad3188f4f74d14e6b54b00f6",
    "chars.bin": "7c2666210ae9b01dfebb712e7b04afdbdaab14c14e629703a55b32c58d02ff5d",
}


@pytest.mark.parametrize("engine", [
    pytest.param("c", marks=pytest.mark.skipif(not c_engine_available(), reason="the C segmenter is not built here")),
    "python"])
def test_golden_files_of_a_tiny_dictionary(tmp_path, engine):
    info = write_compiled(compile_dictionary(_tiny_source()), tmp_path)
    assert {n: m["sha256"] for n, m in info["files"].items()} == GOLDEN, (
        "the compiled bytes changed: if the format changed, bump FORMAT_VERSION, update "
        "docs/dictionary-format.md and these hashes")
    seg = Segmenter(Dictionary(tmp_path), engine=engine)
    assert seg.engine == engine
    assert seg.surfaces("あいう") == ["あい", "う"]      # cost 124 against 267 for あ+い+う (by hand)
    assert seg.surfaces("  あ  えお") == ["あ", "えお"]  # spaces skipped; unknown hiragana grouped
    assert seg.surfaces("   ") == [] and seg.surfaces("い𠮷") == ["い", "𠮷"]


def _exact_match(d, surface: str) -> tuple[int, int]:
    """(first entry, count) of ``surface`` in the double array, walked as docs/dictionary-format.md
    describes it (independently of the segmenters)."""
    base, check = d.base, d.check
    s = 0
    for ch in surface:
        o = ord(ch)
        code = int(d.code_bmp[o]) if o <= 0xFFFF else d.astral.get(o, 0)
        assert code, surface
        t = int(base[s]) + code
        assert int(check[t]) == s, surface
        s = t
    b = int(base[s])
    value = -b - 1 if b < 0 else -int(base[b]) - 1
    assert b < 0 or (b > 0 and int(check[b]) == s), surface
    return value >> 8, value & 0xFF


def test_entries_and_costs_match_the_source(built, dictionary):
    """Random surfaces: the trie finds them and holds exactly the source's tokens, deduplicated
    as documented; every connection cost through the classes equals MeCab's matrix cell."""
    from mbja_build.dictionary.compiler import _matrix

    _, _, src = built
    row_class, col_class, _ = _matrix(src)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(src.surfaces), 500, replace=False).tolist():
        surface = src.surfaces[i]
        f, c = _exact_match(dictionary, surface)
        got = [(int(dictionary.left[e]), int(dictionary.right[e]), int(dictionary.cost[e])) for e in range(f, f + c)]
        kept: dict = {}
        for t in range(int(src.token_start[i]), int(src.token_start[i] + src.token_count[i])):
            key = (int(row_class[src.left[t]]), int(col_class[src.right[t]]))
            if key not in kept or int(src.cost[t]) < kept[key][1]:
                kept[key] = (t, int(src.cost[t]))
        want = [k + (w,) for k, (t, w) in sorted(kept.items(), key=lambda kv: kv[1][0])]
        assert got == want, surface
    prev = rng.integers(0, len(src.right), 20000)
    nxt = rng.integers(0, len(src.left), 20000)
    lefts = np.r_[src.left[nxt], np.zeros(50, np.uint16)].astype(int)        # id 0: EOS as next
    rights = np.r_[src.right[prev], src.right[prev[:50]]].astype(int)
    rights[:50] = 0                                                           # id 0: BOS as previous
    m = np.asarray(src.matrix)
    assert (dictionary.matrix[row_class[lefts], col_class[rights]] == m[lefts, rights]).all()
    assert dictionary.bos_right == col_class[0] and dictionary.eos_left == row_class[0]


def test_character_classes_and_unknown_entries(built, dictionary):
    _, _, src = built
    names = dictionary.category_names
    assert names[:4] == ["DEFAULT", "SPACE", "KANJI", "SYMBOL"] and len(names) == 11
    cls = dictionary.class_of_bmp
    assert names[dictionary.class_category[cls[0x20]]] == "SPACE"
    assert names[dictionary.class_category[cls[ord("東")]]] == "KANJI"
    # U+FFFF has no row in char.bin: MeCab reads zeros there -- a class of its own that never groups
    ffff = cls[0xFFFF]
    assert dictionary.class_mask[ffff] == 0 and dictionary.class_group[ffff] == 0
    assert dictionary.class_mask[cls[0]] != 0 and dictionary.class_group[cls[0]] == 1
    counts = np.diff(dictionary.unknown_offsets.astype(int)).tolist()
    assert counts == [len(src.unknown[n][0]) for n in names]
    assert dictionary.max_grouping_size == 24 and dictionary.max_lookup_bytes == 65535


def test_double_array_finds_exactly_its_keys():
    rng = np.random.default_rng(1)
    keys = sorted({tuple(rng.integers(1, 40, rng.integers(1, 7)).tolist()) for _ in range(3000)})
    base, check = build_double_array(keys, list(range(len(keys))), 40)

    def find(key):
        s = 0
        for c in key:
            if base[s] < 0:
                return None
            t = base[s] + c
            if check[t] != s:
                return None
            s = t
        if base[s] < 0:
            return -base[s] - 1
        return -base[base[s]] - 1 if check[base[s]] == s else None

    assert all(find(k) == i for i, k in enumerate(keys))
    present = set(keys)
    for _ in range(2000):
        k = tuple(rng.integers(1, 40, rng.integers(1, 7)).tolist())
        if k not in present:
            assert find(k) is None


def _damage(path, offset, value=None):
    data = bytearray(path.read_bytes())
    data[offset] = (data[offset] ^ 0x01) if value is None else value
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", sorted(fmt.FILES.values()))
def test_missing_or_damaged_files_are_refused_by_name(built, tmp_path, name):
    src_dir = built[0]
    d = tmp_path / "d"
    shutil.copytree(src_dir, d)
    f = d / name
    f.unlink()
    with pytest.raises(BundleError, match=f"missing.*{name}"):
        Dictionary(d)
    shutil.copy(src_dir / name, f)
    f.write_bytes(f.read_bytes()[:-8])                       # truncated
    with pytest.raises(BundleError, match=name):
        Dictionary(d)
    shutil.copy(src_dir / name, f)
    _damage(f, f.stat().st_size - 9)                         # one bit flipped in the payload
    with pytest.raises(BundleError, match=f"{name}.*CRC"):
        Dictionary(d)
    shutil.copy(src_dir / name, f)
    _damage(f, 0, ord("X"))                                  # not our magic
    with pytest.raises(BundleError, match=f"{name}.*magic"):
        Dictionary(d)
    shutil.copy(src_dir / name, f)
    _damage(f, 8, 3)                                         # a future format version
    with pytest.raises(BundleError, match=f"{name}.*version 3 is not supported"):
        Dictionary(d)
    shutil.copy(src_dir / name, f)
    Dictionary(d)


def test_swapped_files_and_missing_directory(built, tmp_path):
    d = tmp_path / "d"
    shutil.copytree(built[0], d)
    (d / "trie.bin").write_bytes((built[0] / "chars.bin").read_bytes())
    with pytest.raises(BundleError, match="trie.bin.*CHAR"):
        Dictionary(d)
    with pytest.raises(BundleError, match="not found"):
        Dictionary(tmp_path / "nowhere")
