"""The device tokenizer against the reference, computed here: transformers' BertJapaneseTokenizer
(MeCab via fugashi + unidic-lite, WordPiece) with the demo vocabulary, and fugashi's surfaces.

Any difference is a bug: input ids on every ner.json sentence, MeCab surfaces, an adversarial
list, huge inputs, random text (hypothesis), pairs/truncation/padding; plus offsets, which the
reference cannot give, checked for consistency with the text and with every ner.json entity.
"""
from __future__ import annotations

import re
import sys
import unicodedata
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mbja_build.demo import CHECKPOINT_DIR
from mbja_runtime.errors import BundleError, MbjaError
from mbja_runtime.tokenize import Tokenizer

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from test_dictionary import build_once  # noqa: E402  (shares the session's compiled dictionary)

VOCAB = CHECKPOINT_DIR / "vocab.txt"
SETTINGS = {"model_max_length": 512}


@pytest.fixture(scope="session")
def dictionary_dir(tmp_path_factory):
    return build_once(tmp_path_factory)[0]


@pytest.fixture(scope="session")
def tok(dictionary_dir):
    return Tokenizer.from_files(VOCAB, dictionary_dir, SETTINGS)


@pytest.fixture(scope="session")
def ref():
    from transformers import BertJapaneseTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()      # "sequence longer than 512" warnings for the huge inputs
    return BertJapaneseTokenizer(str(VOCAB), word_tokenizer_type="mecab", mecab_kwargs={"mecab_dic": "unidic_lite"},
                                 subword_tokenizer_type="wordpiece", do_lower_case=False, model_max_length=512)


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
    # the one-text path (Python Viterbi) must agree with the batch path (NumPy Viterbi)
    single = [tok.encode(t) for t in texts[::2]]
    assert [e.input_ids for e in single] == [e.input_ids for e in batch[::2]]


def test_ner_surfaces_identical_to_fugashi(ner_records, tok, tagger):
    texts = [unicodedata.normalize("NFKC", r["text"]) for r in ner_records]
    spans = tok.segmenter.spans_batch(texts)
    bad = [t for t, sp in zip(texts, spans) if [t[a:b] for a, b in sp] != [w.surface for w in tagger(t)]]
    assert not bad, f"{len(bad)} sentences segment differently, e.g. {bad[:3]}"


ADVERSARIAL = [
    "ｱｲｳｴｵ ﾊﾝｶｸｶﾀｶﾅ ｶﾞｷﾞｸﾞｹﾞｺﾞ ﾊﾟﾋﾟﾌﾟ ﾟﾞ", "ＡＢＣｄｅｆ０１２３４５６７８９ ＠＃＄％", "ＣＬＳ［ＭＡＳＫ］",
    "👨‍👩‍👧‍👦家族👍🏽いいね🏳️‍🌈😀😀😀", "𠮷野家と𩸽と𠀋", "葛󠄀城市と辻󠄀", "e\u0301cole cafe\u0301 か\u3099き\u3099 \u0300\u0301abc",
    "㍻㍼㍽ ①②③ ㌔㌘㍍ ™ ℃ ½ (株)（有）㈱", "https://example.com/path?q=東京&x=1 mail@example.jp",
    "123,456.78円 -3.14 1e10 ¥1,000 ５０％ 〇一二三四五六七八九十百千万億兆",
    "ア" * 20, "ア" * 25, "ア" * 26, "ア" * 60, "ｱ" * 30, "x" * 25, "x" * 26, "x" * 40, "1" * 30 + "年", "あ" * 101,
    "a" * 101, "x" * 99 + "y", "東京都" * 50, "ヴァヴィヴ ゔ ヴァイオリンとヴィオラ", "・・・…‥！？!?", "ぁぃぅぇぉゎ",
    "a\u3000b\u00a0c\u2028d\u2029e\tf\ng\rh\x0bi\x0cj\x1ck\x85l\u200bm\u2002n\u205fo\ufeffp\u1680q",
    "  先頭と末尾の空白  ", "\u3000全角空白\u3000", "\t\n\x0b \r\n", "", " ", "\u3000", "\n\n",
    "\x01\x02\x1f\x7f\x80\x9f制御文字", "a\x00b[MASK]c\x00d", "\x00", "nul\x00", "\uffff", "a\uffff\uffffb", "\ufffe\ufffe",
    "\U000F0000\U0010FFFF", "ΑΒΓ αβγ ελληνικά Привет мир", "한국어 텍스트", "漢字かなカナ混じり文、iPhone15Proを買った。",
    "東京[MASK]都", "東京 [MASK] 都", "[CLS]a[SEP]b", " [MASK] ", "[[MASK]]", "[MASK", "MASK]", "[UNK][PAD][SEP][CLS]",
    "[mask] [Mask]", "[MASK][MASK]", "x[SEP]" * 20,
]


def test_adversarial_inputs(tok, ref, tagger):
    diffs = []
    for text in ADVERSARIAL:
        if ours(tok.encode(text)) != ref_encode(ref, text) or tok.tokenize(text) != ref.tokenize(text):
            diffs.append(("ids", text))
        norm = unicodedata.normalize("NFKC", text)
        if tok.segmenter.surfaces(norm) != [w.surface for w in tagger(norm)]:
            diffs.append(("surfaces", text))
    assert not diffs


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
            want = ref.tokenize(text)
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
    (b / "manifest.json").write_text(json.dumps({"format": "mbja-bundle", "format_version": 1,
                                                 "files": {"vocab.txt": {"sha256": "0", "size": 0}}}))
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
