"""The committed token vectors (vectors/ at the repository root, read by every runtime) are current.

The Kotlin SDK's JVM tests require the Kotlin tokenizer to reproduce these vectors exactly, so
they must be what the Python runtime produces today: here they are regenerated from the tiny
bundle built in this session (tokens depend only on the vocabulary, the compiled dictionary and
the tokenizer settings, which the tiny bundle shares with the demo bundle -- checked below) and
compared with the committed copy, record by record. Regenerate with
``mbja-build vectors --bundle build/demo-bundle``; never edit the files by hand.
"""
from __future__ import annotations

import json

from mbja_build.demo import CHECKPOINT_DIR
from mbja_build.vectors import DEFAULT_OUT
from mbja_build.vectors import tokens
from mbja_build.vectors.adversarial import ADVERSARIAL

REGENERATE = "regenerate with: mbja-build --target onnx --out build/demo-bundle && mbja-build vectors --bundle build/demo-bundle"


def test_tiny_bundle_tokenizes_like_the_demo_bundle(tiny_bundle):
    assert (tiny_bundle / "vocab.txt").read_bytes() == (CHECKPOINT_DIR / "vocab.txt").read_bytes()
    settings = json.loads((tiny_bundle / "tokenizer.json").read_text(encoding="utf-8"))
    demo = json.loads((CHECKPOINT_DIR / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert settings["word_tokenizer"] == "mecab" and settings["dictionary"] == "unidic-lite"
    assert settings["do_lower_case"] is False and demo.get("do_lower_case", False) is False
    assert settings["max_input_chars_per_word"] == 100


def test_token_vectors_are_current(tiny_bundle, tmp_path):
    written = tokens.write(tiny_bundle, tmp_path)
    assert sorted(p.name for p in written) == sorted([tokens.NER_FILE, tokens.EXTRA_FILE, tokens.NFKC_FILE])
    for path in written:
        committed = DEFAULT_OUT / path.name
        assert committed.is_file(), f"{committed} missing; {REGENERATE}"
        want, have = tokens.read(path), tokens.read(committed)
        assert have[0] == want[0], f"{committed.name}: header differs (vocabulary?); {REGENERATE}"
        stale = [w["text"][:40] for w, h in zip(want[1:], have[1:]) if w != h]
        assert len(have) == len(want) and not stale, \
            f"{committed.name} is stale ({len(stale)} records differ, e.g. {stale[:3]}); {REGENERATE}"


def test_token_vectors_cover_every_sentence_and_case_and_stay_small(ner_records):
    head, *ner = tokens.read(DEFAULT_OUT / tokens.NER_FILE)
    assert head["offsets"] == "code points" and head["records"] == len(ner) == len(ner_records) == 5343
    assert [r["text"] for r in ner] == [r["text"] for r in ner_records]
    _, *extra = tokens.read(DEFAULT_OUT / tokens.EXTRA_FILE)
    texts = [r["text"] for r in extra]
    assert all(t in texts for t in ADVERSARIAL)
    assert any(r["pair"] is not None for r in extra) and any(r.get("error") for r in extra)
    assert any(r["truncation"] and r["max_length"] for r in extra) and any(r["padding"] for r in extra)
    size = sum((DEFAULT_OUT / n).stat().st_size for n in (tokens.NER_FILE, tokens.EXTRA_FILE, tokens.NFKC_FILE))
    assert size < 4_000_000, size
