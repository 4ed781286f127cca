"""The adversarial tokenizer inputs: one list, shared by the parity test against transformers
(tests/test_tokenizer_parity.py) and the token vectors the Kotlin SDK must reproduce (tokens.py).

Each string targets one rule of docs/dictionary-format.md or of the pipeline around it: half-width
kana and NFKC composition, astral characters (MeCab reads them as U+0000), variation selectors,
combining marks, compatibility ideographs, unknown-word grouping limits (24), WordPiece's
100-character limit, every kind of whitespace Python and MeCab disagree on, NUL (MeCab stops
there), U+FFFF, special tokens inside text and their near misses, NFKC offsets (chunks NFKC joins), and the
characters whose NFKC is new in Unicode 14 (what the Kotlin SDK patches on JDK 17's Unicode 13).
"""
from __future__ import annotations

ADVERSARIAL: list[str] = [
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
    # NFKC offsets: Hangul jamo and compositions across chunks
    "\u1100\u1161\u11a8 가\u11a8 \u1100 \u1161", "ｶﾞｷﾞｸﾞ ｶ\u3099 か\u309a", "Å Å Å ﬁ ﬀ ǅ ㋿ ㍿",
    "a\u0345\u0301 e\u0327\u0301", "A\u0308\u0304 ᾅ", "\u3099\u309a で\u3099", "東京\u0301都", "[MASK]\u0301",
    # new in Unicode 14 (Python 3.11's unicodedata; JDK 17 has 13): compatibility letters, combining marks
    "\U00010781\U000107ba と \u1ac1 \u0898 x\u1dfa", "e\u1ac1\u0327 e\u0327\u1ac1 \u0c46\u0c3c\u0c56 \ua7f2\u0327",
    "e\u030d\u1ac1\u0301\u030d a\u302a\u1dfa\u0316\u302a",
]
