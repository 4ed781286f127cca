"""The device tokenizer against the reference, computed here: transformers' BertJapaneseTokenizer
(MeCab via fugashi + unidic-lite, WordPiece) with the demo vocabulary, and fugashi's surfaces.

Any difference is a bug: input ids on every ner.json sentence, MeCab surfaces, an adversarial
list, huge inputs, random text (hypothesis), pairs/truncation/padding; plus offsets, which the
reference cannot give, checked for consistency with the text and with every ner.json entity.

Every test that takes ``tok`` runs once per segmentation engine: the C accelerator (skipped only
where it was not built) and the pure-Python fallback.
"""
from __future__ import annotations

import os
import re
import sys
import unicodedata
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mbja_build.demo import CHECKPOINT_DIR
from mbja_build.vectors.adversarial import ADVERSARIAL   # shared with the Kotlin SDK's token vectors
from mbja_runtime.errors import BundleError, MbjaError
from mbja_runtime.tokenize import Tokenizer
from mbja_runtime.tokenize.segmenter import c_engine_available

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from test_dictionary import build_once  # noqa: E402  (shares the session's compiled dictionary)

VOCAB = CHECKPOINT_DIR / "vocab.txt"
SETTINGS = {"model_max_length": 512}


@pytest.fixture(scope="session")
def dictionary_dir(tmp_path_factory):
    return build_once(tmp_path_factory)[0]


NOT_BUILT = ("the C segmenter (mbja_runtime.tokenize._segment) is not built here (no C compiler at install "
             "time); the pure-Python engine is tested alone")
ENGINES = [pytest.param("c", marks=pytest.mark.skipif(not c_engine_available(), reason=NOT_BUILT)), "python"]


@pytest.fixture(scope="session", params=ENGINES)
def tok(dictionary_dir, request):
    t = Tokenizer.from_files(VOCAB, dictionary_dir, SETTINGS, engine=request.param)
    assert t.segmenter.engine == request.param
    return t


@pytest.fixture(scope="session")
def ref():
    from transformers.utils import logging

    from mbja_build.reference import reference_tokenizer

    logging.set_verbosity_error()      # "sequence longer than 512" warnings for the huge inputs
    return reference_tokenizer(VOCAB, model_max_length=512)


@pytest.fixture(scope="session")
def tagger():
    import fugashi
    import unidic_lite

    d = unidic_lite.DICDIR
    return fugashi.GenericTagger(f'-d "{d}" -r "{d}/mecabrc"')


def ref_encode(ref, text, pair=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = ref(text, pair, return_token_type_ids=True, **kw)
    return r["input_ids"], r["token_type_ids"], r["attention_mask"]


def ours(enc):
    return enc.input_ids, enc.token_type_ids, enc.attention_mask


def test_ner_input_ids_identical(ner_records, tok, ref):
    texts = [r["text"] for r in ner_records]
    assert len(texts) == 5343
    batch = tok.encode_batch(texts)
    bad = [t for t, e in zip(texts, batch) if ours(e) != ref_encode(ref, t)]
    assert not bad, f"{len(bad)} sentences differ, e.g. {bad[:3]}"
    single = [tok.encode(t) for t in texts[::2]]
    assert [e.input_ids for e in single] == [e.input_ids for e in batch[::2]]


def test_ner_surfaces_identical_to_fugashi(ner_records, tok, tagger):
    texts = [unicodedata.normalize("NFKC", r["text"]) for r in ner_records]
    spans = [tok.segmenter.spans(t) for t in texts]
    bad = [t for t, sp in zip(texts, spans) if [t[a:b] for a, b in sp] != [w.surface for w in tagger(t)]]
    assert not bad, f"{len(bad)} sentences segment differently, e.g. {bad[:3]}"


def test_adversarial_inputs(tok, ref, tagger):
    diffs = []
    for text in ADVERSARIAL:
        if ours(tok.encode(text)) != ref_encode(ref, text) or tok.tokenize(text) != ref.tokenize(text):
            diffs.append(("ids", text))
        norm = unicodedata.normalize("NFKC", text)
        if tok.segmenter.surfaces(norm) != [w.surface for w in tagger(norm)]:
            diffs.append(("surfaces", text))
    assert not diffs


_REF_TOKENS: dict = {}


def test_huge_inputs_and_mecab_lookahead(tok, ref, ner_records):
    """10k and 100k characters, and MeCab's 65,535-byte look-ahead after long whitespace runs:
    identical where the reference returns something; a clear MbjaError where it crashes."""
    import random

    rnd = random.Random(0)
    texts = [r["text"] for r in ner_records]
    cases = ["".join(rnd.choice(texts) for _ in range(300))[:10_000],
             "".join(rnd.choice(texts) for _ in range(2500))[:100_000],
             "x" * 70_000, "😀" * 20_000, " " * 65_535, "abc" + " " * 70_000 + "x", "\t" * 65_535 + "a"]
    cases += [" " * n + "abc" for n in (65_533, 65_534, 65_535, 65_536)]
    cases += [" " * n + "あいう" for n in (65_530, 65_532, 65_533, 65_534, 65_535)]
    for text in cases:
        try:
            if text not in _REF_TOKENS:
                _REF_TOKENS[text] = ref.tokenize(text)
            want = _REF_TOKENS[text]
        except (UnicodeDecodeError, SystemError):          # fugashi fails on MeCab's half characters
            with pytest.raises(MbjaError, match="65,535"):
                tok.tokenize(text)
            continue
        assert tok.tokenize(text) == want, (len(text), text[:20], text[-20:])


def test_lone_surrogates_and_bad_arguments(tok, ref):
    with pytest.raises(UnicodeEncodeError):
        ref.tokenize("a\ud800b")                          # the reference crashes ...
    for text in ("a\ud800b", "\udfff", "x\x00\ud83d"):
        with pytest.raises(MbjaError, match="surrogate"):  # ... we say why
            tok.encode(text)
    with pytest.raises(MbjaError, match="str"):
        tok.encode(b"bytes")
    with pytest.raises(MbjaError, match="padding"):
        tok.encode("a", padding="everything")
    with pytest.raises(MbjaError, match="truncation"):
        tok.encode("a", truncation="sideways")
    with pytest.raises(MbjaError, match="max_length"):
        tok.encode("a", max_length=-1)
    with pytest.raises(MbjaError, match="same length"):
        tok.encode_batch(["a", "b"], pairs=["c"])


@pytest.mark.parametrize("pair", [None, "彼は毎日電車で通勤する。", ""])
def test_pairs_truncation_and_padding(tok, ref, pair):
    text = "東京都に住んでいる山田太郎は、株式会社ABCで働いている。"
    for max_length in (None, 0, 1, 3, 5, 8, 13, 20, 64):
        for padding in (False, True, "max_length"):
            for truncation in (True, False, "only_first", "only_second"):
                kw = dict(max_length=max_length, padding=padding, truncation=truncation)
                try:
                    want = ref_encode(ref, text, pair, **kw)
                except Exception:
                    continue
                assert ours(tok.encode(text, pair, **kw)) == want, kw
    texts = [text, "短い", "", "[MASK]です"]
    pairs = None if pair is None else [pair] * len(texts)
    for kw in (dict(padding=True, truncation=True), dict(padding="max_length", max_length=24, truncation=True),
               dict(padding="max_length", max_length=24, truncation=False), dict(max_length=9, truncation=True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = ref(texts, pairs, return_token_type_ids=True, **kw)
        got = tok.encode_batch(texts, pairs, **kw)
        assert [e.input_ids for e in got] == r["input_ids"] and [e.token_type_ids for e in got] == r["token_type_ids"]
        assert [e.attention_mask for e in got] == r["attention_mask"]


FRAGMENTS = ["東京", "都", "に", "住んで", "いる", "カタカナ", "ｶﾀｶﾅ", "ﾞ", "\u3099", "\u0301", "漢", "字", "123", "４５",
             "abc", "ＡＢＣ", " ", "\u3000", "\t", "\n", "\u00a0", "\u2028", "\x85", "\x00", "\x01", "[", "]", "[MASK]",
             "[CLS]", "[SEP", "MASK]", "[UNK]", "##", "😀", "\u200d", "👍🏽", "𠮷", "\ufe0f", "\U000E0100", "\uffff",
             "㍻", "①", "㌔", "ー", "・", "。", "、", "…", "x" * 26, "ア" * 26]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=14).map("".join),
                 st.text(max_size=60)))
def test_fuzz_random_text_keeps_parity(tok, ref, text):
    enc = tok.encode(text)
    assert ours(enc) == ref_encode(ref, text)
    for t, off in zip(enc.tokens, enc.offsets):
        if off is not None:
            assert 0 <= off[0] <= off[1] <= len(text)
            if t not in tok.special_tokens:
                assert t.removeprefix("##") in unicodedata.normalize("NFKC", text[off[0]:off[1]]), (t, off)


def test_offsets_cover_every_entity_and_match_the_text(ner_records, tok):
    encs = tok.encode_batch([r["text"] for r in ner_records], truncation=False)
    for rec, enc in zip(ner_records, encs):
        text = rec["text"]
        spans = [o for o in enc.offsets if o is not None]
        assert spans == sorted(spans), text
        for t, (s, e) in zip([t for t, o in zip(enc.tokens, enc.offsets) if o is not None], spans):
            assert s < e, (text, t)
            if t != tok.unk_token:
                assert t.removeprefix("##") in unicodedata.normalize("NFKC", text[s:e]), (text, t, s, e)
        for ent in rec["entities"]:
            a, b = ent["span"]
            hit = [(s, e) for s, e in spans if s < b and e > a]
            assert hit and min(s for s, _ in hit) <= a and max(e for _, e in hit) >= b, (text, ent)


def test_offsets_of_special_tokens_and_normalised_text(tok):
    enc = tok.encode("東京[MASK]都")
    assert enc.tokens == ["[CLS]", "東京", "[MASK]", "都", "[SEP]"]
    assert enc.offsets == [None, (0, 2), (2, 8), (8, 9), None]
    enc = tok.encode("ＡＢＣは㍻元年", "ｶﾞｽ", padding="max_length", max_length=16)
    assert enc.offsets[-1] is None and enc.tokens[-1] == "[PAD]"
    second = [o for o, t in zip(enc.offsets, enc.token_type_ids) if t == 1 and o is not None]
    assert second[0][0] == 0 and second[-1][1] == 3          # offsets of the pair refer to the pair
    heisei = [o for t, o in zip(enc.tokens, enc.offsets) if t.lstrip("#") in ("平成", "平", "成")]
    assert heisei and all(o == (4, 5) for o in heisei)       # ㍻ -> 平成: both map to the one character


def test_split_on_whitespace_agrees_with_str_split():
    """WordPiece splits surfaces with str.split(); our offsets use \\S+ -- same set of separators."""
    word = re.compile(r"\S+")
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        s = "a" + chr(cp) + "b"
        assert s.split() == word.findall(s), hex(cp)


def test_from_bundle_and_from_files(tmp_path, dictionary_dir, tok):
    import hashlib
    import json
    import shutil

    b = tmp_path / "bundle"
    b.mkdir()
    shutil.copy(VOCAB, b / "vocab.txt")
    (b / "tokenizer.json").write_text(json.dumps({
        "normalization": "NFKC", "word_tokenizer": "mecab", "dictionary": "unidic-lite",
        "subword_tokenizer": "wordpiece",
        "do_lower_case": False, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
        "mask_token": "[MASK]", "max_input_chars_per_word": 100, "model_max_length": 512, "vocab": "vocab.txt"}))
    (b / "dictionary").symlink_to(dictionary_dir, target_is_directory=True)
    vocab = (b / "vocab.txt").read_bytes()
    (b / "manifest.json").write_text(json.dumps({"format": "mbja-bundle", "format_version": 1,
                                                 "task": "token-classification", "max_length": 512,
                                                 "files": {"vocab.txt": {"sha256": hashlib.sha256(vocab).hexdigest(),
                                                                         "size": len(vocab)}}}))
    text = "東京[MASK]都に住む。"
    assert Tokenizer.from_bundle(b).encode(text) == tok.encode(text)
    with pytest.raises(BundleError, match="vocab.txt"):
        Tokenizer.from_files(tmp_path / "vocab.txt", dictionary_dir)
    (b / "tokenizer.json").write_text(json.dumps({"do_lower_case": True}))
    with pytest.raises(BundleError, match="do_lower_case"):
        Tokenizer.from_bundle(b)
    (b / "tokenizer.json").write_text("{not json")
    with pytest.raises(BundleError, match="tokenizer.json"):
        Tokenizer.from_bundle(b)


# ---------------------------------------------------------------- the two segmentation engines

def _compiler_available() -> bool:
    import shutil
    import sysconfig

    cc = (sysconfig.get_config_var("CC") or "cc").split()
    headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
    return bool(cc) and shutil.which(cc[0]) is not None and os.path.exists(headers)


def test_c_engine_is_built_where_a_compiler_exists(dictionary_dir, monkeypatch):
    """``pip install -e .`` builds the optional extension wherever it can (CI included); only a
    machine without a C compiler and Python headers may fall back to the pure-Python engine."""
    from mbja_runtime.tokenize import Dictionary, Segmenter

    if not (_compiler_available() or os.environ.get("CI", "").lower() in ("1", "true")):
        pytest.skip("no C compiler or Python headers here: the install falls back to the pure-Python engine")
    assert c_engine_available(), ("a C compiler is available but mbja_runtime.tokenize._segment is not importable: "
                                  "run `pip install -e .` again (it builds the extension in place)")
    monkeypatch.delenv("MBJA_PURE_PYTHON", raising=False)
    assert Segmenter(Dictionary(dictionary_dir, verify=False)).engine == "c"


def test_engine_selection(dictionary_dir, monkeypatch):
    from mbja_runtime.tokenize import Dictionary, Segmenter
    from mbja_runtime.tokenize import segmenter as segmod

    d = Dictionary(dictionary_dir, verify=False)
    monkeypatch.setenv("MBJA_PURE_PYTHON", "1")
    assert Segmenter(d).engine == "python"
    assert Tokenizer.from_files(VOCAB, dictionary_dir, SETTINGS, verify=False).segmenter.engine == "python"
    with pytest.raises(MbjaError, match="engine"):
        Segmenter(d, engine="rust")
    monkeypatch.setattr(segmod, "_segment", None)         # as on a machine without a compiler
    monkeypatch.delenv("MBJA_PURE_PYTHON")
    assert Segmenter(d).engine == "python"
    with pytest.raises(MbjaError, match="not built"):
        Segmenter(d, engine="c")


@pytest.mark.skipif(not c_engine_available(), reason=NOT_BUILT)
def test_engines_agree_around_mecab_lookahead_window(dictionary_dir, tagger, ner_records):
    """Both engines implement the 65,535-byte window themselves (no hand-over to a third path):
    texts just below, at and above it, with long whitespace runs that reach the window's end,
    give the same spans in C and Python, and fugashi's surfaces where fugashi answers."""
    import random

    from mbja_runtime.tokenize import Dictionary, Segmenter

    d = Dictionary(dictionary_dir, verify=False)
    c, py = Segmenter(d, engine="c"), Segmenter(d, engine="python")
    rnd = random.Random(1)
    joined = unicodedata.normalize("NFKC", "".join(rnd.choice([r["text"] for r in ner_records]) for _ in range(700)))
    cut = joined.encode("utf-8")[:65_535].decode("utf-8", "ignore")
    cases = [cut, cut + "あ", "あいう" * 7281 + "xy", "x" * 65_536, "😀" * 16_384, "😀" * 16_383 + "abc",
             "\t" * 60_000 + "東京" * 900, " " * 65_540 + "abc", "ab" + " " * 65_533 + "cd" * 10,
             joined[:3000] + " " * 65_535 + "x" + joined[3000:6000]]
    checked = 0
    for text in cases:
        got = c.spans(text)
        assert got == py.spans(text), (len(text), text[:20])
        try:
            want = [w.surface for w in tagger(text)]
        except (UnicodeDecodeError, SystemError):
            continue
        assert [text[a:b] for a, b in got] == want, (len(text), text[:20])
        checked += 1
    assert checked >= 8
    for text in (" " * 65_534 + "あいう", " " * 65_533 + "😀"):   # the window cuts a character
        for seg in (c, py):
            with pytest.raises(MbjaError, match="65,535"):
                seg.spans(text)


@pytest.mark.skipif(not c_engine_available(), reason=NOT_BUILT)
def test_c_engine_arguments_and_corrupt_tables_never_crash(dictionary_dir):
    """Wrong arguments raise; tables that passed no validation (random trie slots) give some
    answer or a ValueError, never a crash: every index the C code derives is bounds-checked."""
    import numpy as np

    from mbja_runtime.tokenize import Dictionary
    from mbja_runtime.tokenize import _segment
    from mbja_runtime.tokenize.segmenter import _c_segmenter

    d = Dictionary(dictionary_dir, verify=False)
    seg = _c_segmenter(d)
    with pytest.raises(TypeError):
        seg.spans(b"bytes")
    with pytest.raises(ValueError, match="not initialised"):
        _segment.Segmenter.__new__(_segment.Segmenter).spans("a")
    with pytest.raises(TypeError):
        _segment.Segmenter(d.base)                        # keyword arguments only, all of them
    assert seg.spans("東京\0都") == seg.spans("東京") and seg.spans("\0x") == []

    class Bad:
        pass

    for name, bad in (("code_bmp", d.code_bmp[:100]), ("check", d.check[:-1]), ("high", d.matrix.high[:-1]),
                      ("class_of_bmp", np.full(65536, 200, np.uint8)), ("left", Bad())):
        bad_d = type("D", (), {k: getattr(d, k) for k in dir(d) if not k.startswith("__")})()
        if name == "high":
            bad_d.matrix = type("M", (), {"high": bad, "low": d.matrix.low})()
        else:
            setattr(bad_d, name, bad)
        with pytest.raises((ValueError, TypeError)):
            _c_segmenter(bad_d)

    rng = np.random.default_rng(0)
    texts = ["東京都に住んでいる山田太郎", "ｶﾀｶﾅとabc123 😀𠮷", "あ" * 50, " x \u3000y"]
    for trial in range(6):
        bad_d = type("D", (), {k: getattr(d, k) for k in dir(d) if not k.startswith("__")})()
        base, check = d.base.copy(), d.check.copy()
        idx = rng.integers(0, base.size, 200_000)
        if trial % 2:
            base[idx] = rng.integers(-2**31, 2**31 - 1, idx.size, dtype=np.int64).astype(np.int32)
        else:
            check[idx] = rng.integers(-2**31, 2**31 - 1, idx.size, dtype=np.int64).astype(np.int32)
        bad_d.base, bad_d.check = base, check
        seg = _c_segmenter(bad_d)
        for t in texts:
            try:
                spans = seg.spans(t)
            except ValueError:
                continue
            assert all(0 <= a < b <= len(t) for a, b in spans)
