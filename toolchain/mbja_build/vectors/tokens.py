"""Tokenizer vectors (ids, tokens, offsets) for every ner.json sentence, the adversarial set, long
texts, seeded random texts, pairs and truncation.

The Kotlin SDK's JVM tests (android-demo/sdk/src/test/kotlin/io/mbja/tokenizer/) read these
files and require identical input ids, token type ids, tokens and offsets from the Kotlin
tokenizer on the same bundle. Files are gzip'd JSON lines (UTF-8, one record per line):

* line 1, the header: ``{"format": "mbja-token-vectors", "version": 1, "vocab_sha256": ...,
  "offsets": "code points", "unicode": <Python's unicodedata version>, "records": N}``. The JVM test checks ``vocab_sha256`` against the
  bundle it runs on, so vectors from another vocabulary fail loudly instead of mismatching.
* then one record per case: ``text``, ``pair`` (or null), ``max_length`` (or null), ``truncation``
  and ``padding`` (the ``encode`` options), then either ``ids``, ``type_ids``, ``mask``, ``tokens`` and
  ``offsets`` (``[start, end]`` in Unicode code points of the original text -- of ``pair`` for
  tokens whose type id is 1 -- or null for [CLS]/[SEP]/[PAD]), or ``error`` (the text is refused;
  the message is informative only).

``nfkc.jsonl.gz`` holds Python's NFKC of single code points (``nfkc_records``), for the Kotlin
NFKC patch's exhaustive test. No record depends on the bundle's ``model_max_length``: untruncated cases say
``truncation: false``, truncated ones give ``max_length``. The gzip header carries no name or
time, so regenerating gives the same bytes for the same zlib.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import random
from pathlib import Path

FORMAT = "mbja-token-vectors"
VERSION = 1
NER_FILE = "tokens_ner.jsonl.gz"
EXTRA_FILE = "tokens_adversarial.jsonl.gz"
NFKC_FILE = "nfkc.jsonl.gz"


def _huge_cases(ner_texts: list[str]) -> list[str]:
    """Long inputs: a 30,000-character text (well past MeCab's 65,535-byte look-ahead) and
    whitespace runs around that window, some of which MeCab cannot process (errors)."""
    rnd = random.Random(0)
    long_text = "".join(rnd.choice(ner_texts) for _ in range(1000))[:30_000]
    cases = [long_text, "x" * 70_000, "😀" * 20_000, " " * 65_535, "abc" + " " * 70_000 + "x", "\t" * 65_535 + "a"]
    cases += [" " * n + "abc" for n in (65_533, 65_534, 65_535, 65_536)]
    cases += [" " * n + "あいう" for n in (65_530, 65_532, 65_533, 65_534, 65_535)]
    return cases


_FRAGMENTS = ["東京", "都", "に", "住んで", "いる", "カタカナ", "ｶﾀｶﾅ", "ﾞ", "\u3099", "\u0301", "漢", "字", "123", "４５",
              "abc", "ＡＢＣ", " ", "\u3000", "\t", "\n", "\u00a0", "\u2028", "\x85", "\x00", "\x01", "[", "]", "[MASK]",
              "[CLS]", "[SEP", "MASK]", "[UNK]", "##", "😀", "\u200d", "👍🏽", "𠮷", "\ufe0f", "\U000E0100", "\uffff",
              "㍻", "①", "㌔", "ー", "・", "。", "、", "…", "x" * 26, "ア" * 26, "가", "\u1161", "\u11a8", "ﬁ", "\u0345"]


def _fuzz_cases(n: int = 1000) -> list[str]:
    """Seeded random texts: fragments that stress one rule each, mixed with random code points
    from the whole Unicode range (no surrogates), as the Python parity test's fuzzing does."""
    rnd = random.Random(1)

    def char() -> str:
        cp = rnd.choice([rnd.randrange(0x20, 0x3100), rnd.randrange(0x3000, 0xA000), rnd.randrange(0xA000, 0x110000)])
        return chr(cp) if not 0xD800 <= cp <= 0xDFFF else "?"

    return ["".join(rnd.choice(_FRAGMENTS) if rnd.random() < 0.6 else char() for _ in range(rnd.randrange(1, 16)))
            for _ in range(n)]


#: Pairs and truncation: (text, pair, max_length, truncation, padding).
PAIRS = [
    (t, p, m, tr, pad)
    for t, p in [("東京都に住んでいる山田太郎は、株式会社ABCで働いている。", "彼は毎日電車で通勤する。"),
                 ("東京都に住んでいる山田太郎は、株式会社ABCで働いている。", ""),
                 ("短い", "[MASK]です。ｶﾀｶﾅと㍻"), ("ＡＢＣは㍻元年", "ｶﾞｽ")]
    for m, tr, pad in [(None, False, False), (8, True, False), (13, True, False), (20, True, False),
                       (5, True, False), (3, True, False), (1, True, False), (0, True, False),
                       (24, True, True), (40, True, True), (24, False, True)]
] + [("東京都に住んでいる山田太郎は、株式会社ABCで働いている。", None, m, True, pad)
     for m, pad in [(1, False), (2, False), (3, False), (8, False), (16, False), (16, True), (64, True)]]


def vocab_sha256(bundle_dir: Path) -> str:
    return hashlib.sha256((Path(bundle_dir) / "vocab.txt").read_bytes()).hexdigest()


def _record(tok, text, pair=None, max_length=None, truncation=False, padding=False) -> dict:
    from mbja_runtime.errors import MbjaError

    rec = {"text": text, "pair": pair, "max_length": max_length, "truncation": truncation, "padding": padding}
    try:
        enc = tok.encode(text, pair, max_length=max_length, truncation=truncation,
                         padding="max_length" if padding else False)
    except MbjaError as e:
        rec["error"] = str(e)
        return rec
    rec.update(ids=enc.input_ids, type_ids=enc.token_type_ids, mask=enc.attention_mask, tokens=enc.tokens,
               offsets=[list(o) if o is not None else None for o in enc.offsets])
    return rec


def _write(path: Path, records: list[dict], sha: str) -> Path:
    import unicodedata

    head = {"format": FORMAT, "version": VERSION, "vocab_sha256": sha, "offsets": "code points",
            "unicode": unicodedata.unidata_version, "records": len(records)}
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in [head, *records]]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(data)
    return path


def nfkc_records() -> list[dict]:
    """Python's NFKC, code point by code point: every code point (surrogates excepted) that NFKC
    changes or that may join the text before it (``normalize.py``'s chunking test), with its NFKC
    and that flag. The Kotlin SDK normalises with the JDK's tables (an older Unicode) plus a patch;
    this file lets its tests prove that all 1,112,064 code points come out as here."""
    from mbja_runtime.tokenize.normalize import _char

    out = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        nf, joins = _char(chr(cp))
        if nf != chr(cp) or joins:
            out.append({"cp": cp, "nfkc": nf, "joins": joins})
    return out


def records(bundle_dir: Path) -> dict[str, list[dict]]:
    """file name -> records, computed with the Python runtime's tokenizer on ``bundle_dir``."""
    from mbja_runtime.tokenize import Tokenizer

    from ..demo.data import load_ner
    from .adversarial import ADVERSARIAL

    tok = Tokenizer.from_bundle(bundle_dir)
    ner = [r["text"] for r in load_ner()]
    encs = tok.encode_batch(ner, truncation=False)     # batch: the same result as encode, one by one
    ner_recs = [{"text": t, "pair": None, "max_length": None, "truncation": False, "padding": False,
                 "ids": e.input_ids, "type_ids": e.token_type_ids, "mask": e.attention_mask, "tokens": e.tokens,
                 "offsets": [list(o) if o is not None else None for o in e.offsets]} for t, e in zip(ner, encs)]
    extra = [_record(tok, t) for t in ADVERSARIAL + _huge_cases(ner) + _fuzz_cases()]
    extra += [_record(tok, *case) for case in PAIRS]
    return {NER_FILE: ner_recs, EXTRA_FILE: extra, NFKC_FILE: nfkc_records()}


def read(path: Path) -> list[dict]:
    """Header and records of a vector file (what the test compares)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as f:
        return [json.loads(line) for line in f.read().split("\n") if line]


def write(bundle_dir: Path, out_dir: Path) -> list[Path]:
    sha = vocab_sha256(bundle_dir)
    return [_write(Path(out_dir) / name, recs, sha) for name, recs in records(Path(bundle_dir)).items()]
