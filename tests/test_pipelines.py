"""Task pipelines against transformers' own pipelines, computed here on the same checkpoints.

NER runs on the trained demo (fp32 bundle: ONNX and TFLite); the other tasks run on tiny random
MobileBERTs whose outputs move with their input (conftest.make_tiny_checkpoint).
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest
import torch

import mbja_runtime
from mbja_runtime.errors import BundleError, MbjaError
from mbja_runtime.pipelines import decode_entities, windows

BACKENDS = ("onnx", "tflite")


def _joined(word: str) -> str:
    """transformers' slow-tokenizer entity word (tokens joined by spaces) without the joins."""
    return re.sub(r"\s+", "", word).removeprefix("##")


def _ours_as_word(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.fixture(scope="module")
def hf_ner(demo_reference):
    from transformers import pipeline

    tok, model = demo_reference
    return {agg: pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy=agg)
            for agg in ("simple", "none")}


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_ner_entities_equal_transformers_pipeline(demo_fp32_bundle, hf_ner, ner_records, backend):
    """Same entities (type, text, score) as transformers' pipeline, sentence by sentence."""
    from mbja_build.demo.data import split

    _, test = split(ner_records)
    texts = [r["text"] for r in test[:400]]
    m = mbja_runtime.load(demo_fp32_bundle, backend=backend, task="token-classification")
    same = 0
    found = 0
    for text in texts:
        ref, got = hf_ner["simple"](text), m(text)
        found += len(got)
        ok = [r["entity_group"] for r in ref] == [g["type"] for g in got] and all(
            _joined(r["word"]) == _ours_as_word(g["text"]) and abs(float(r["score"]) - g["score"]) < 1e-3
            for r, g in zip(ref, got))
        same += ok
        for g in got:  # spans point into the original text
            assert text[g["start"]:g["end"]] == g["text"] and g["text"]
    assert found > 300, "the demo should find entities"
    assert same / len(texts) >= 0.99, f"{same}/{len(texts)} sentences with identical entities"


@pytest.mark.slow
def test_ner_token_level_equals_transformers(demo_fp32_bundle, hf_ner, test_sentences):
    m = mbja_runtime.load(demo_fp32_bundle, backend="onnx")
    for text in test_sentences[:50]:
        ref, got = hf_ner["none"](text), m(text, aggregation="none")
        assert [(r["entity"], r["index"], r["word"]) for r in ref] == [(g["entity"], g["index"], g["word"]) for g in got]
        assert np.allclose([float(r["score"]) for r in ref], [g["score"] for g in got], atol=1e-3)


@pytest.mark.slow
def test_ner_word_aggregations_follow_their_definition(demo_fp32_bundle, test_sentences):
    m = mbja_runtime.load(demo_fp32_bundle, backend="onnx")
    for text in test_sentences[:30]:
        enc = m.encode(text)
        logits = m.logits(text)
        for agg in ("first", "average", "max"):
            ents = m(text, aggregation=agg)
            assert ents == decode_entities(logits, enc, text, m.id2label, agg)
            for e in ents:   # word-level: an entity never starts or ends inside a word
                starts = {o[0] for o, t in zip(enc.offsets, enc.tokens) if o and not t.startswith("##")}
                assert e["start"] in starts


@pytest.mark.slow
def test_long_text_windows(demo_fp32_bundle, test_sentences):
    """A text of ~10 model lengths is covered by windows, not cut; a text that fits gets the single
    pass; forced into small windows, the real model keeps its token predictions about as well as it
    keeps them when a sentence is moved into another context (the demo is context-sensitive)."""
    m = mbja_runtime.load(demo_fp32_bundle, backend="onnx")
    long_text = "".join(test_sentences[:60])
    enc = m.encode(long_text)
    assert len(enc) > 10 * m.max_length
    logits = m.logits(long_text)
    assert logits.shape == (len(enc), len(m.id2label))
    ents = m(long_text)
    assert ents and ents[-1]["end"] > len(long_text) - 200, "entities found up to the end of the text"
    for e in ents:
        assert long_text[e["start"]:e["end"]] == e["text"]

    def run(ids):
        return m.backend.run(np.asarray(ids))

    agree = alone = total = total_alone = 0
    for i in range(0, 60, 3):
        block = test_sentences[i:i + 3]
        text = "".join(block)
        enc = m.encode(text)
        if len(enc) > m.max_length:
            continue
        full = m.logits(text)
        assert m(text) == decode_entities(full, enc, text, m.id2label)        # fits: one pass
        win = windows.windowed(run, enc.input_ids, 40, 12)
        assert win.shape == full.shape
        agree += int((win.argmax(-1) == full.argmax(-1)).sum())
        total += len(enc)
        first = m.encode(block[0])
        n = len(first) - 2
        alone += int((m.logits(block[0]).argmax(-1)[1:1 + n] == full.argmax(-1)[1:1 + n]).sum())
        total_alone += n
    assert total > 600
    assert agree / total >= min(0.9, alone / total_alone - 0.03), (agree / total, alone / total_alone)


def test_windows_stitch_exactly_for_a_context_free_model():
    """With a model whose output depends on the token alone, windows must reproduce the single pass
    bit for bit: every content token taken once, [CLS]/[SEP] rows kept, nothing shifted."""
    rng = np.random.default_rng(0)
    table = rng.normal(size=(1000, 7))

    def run(ids):
        return table[np.asarray(ids)]

    for n in (1, 5, 38, 39, 100, 517):
        ids = [2] + rng.integers(5, 1000, n).tolist() + [3]
        for max_length, stride in ((40, 0), (40, 12), (16, 7), (512, 128)):
            assert np.array_equal(windows.windowed(run, ids, max_length, stride), run(ids))


def test_window_arithmetic():
    assert windows.window_starts(10, 20, 5) == [0]
    starts = windows.window_starts(100, 30, 10)
    assert starts[0] == 0 and starts[-1] == 70 and all(b - a <= 20 for a, b in zip(starts, starts[1:]))
    pick = windows.best_window(100, 30, starts)
    for i, w in enumerate(pick):
        s = starts[w]
        assert s <= i < s + 30
        best = max(min(i - t, t + 29 - i) for t in starts if t <= i < t + 30)
        assert min(i - s, s + 29 - i) == best
    with pytest.raises(MbjaError):
        windows.window_starts(100, 30, 30)


@pytest.mark.parametrize("backend", BACKENDS)
def test_text_classification_equals_transformers(tiny_task_bundle, tiny_checkpoint, reference_tokenizer,
                                                 test_sentences, backend):
    from transformers import AutoModelForSequenceClassification, pipeline

    bundle = tiny_task_bundle("sequence-classification")
    model = AutoModelForSequenceClassification.from_pretrained(tiny_checkpoint("mobilebert",
                                                                               "sequence-classification")).eval()
    ref = pipeline("text-classification", model=model, tokenizer=reference_tokenizer, top_k=None)
    m = mbja_runtime.load(bundle, backend=backend)
    labels_seen = set()
    texts = [t for t in test_sentences[:40] if len(reference_tokenizer(t)["input_ids"]) <= 64]  # the bundle's max
    assert len(texts) > 20
    for text in texts:
        out = ref(text)
        want = {r["label"]: r["score"] for r in (out[0] if isinstance(out[0], list) else out)}
        got = m(text, top_k=None)
        assert [g["score"] for g in got] == sorted((g["score"] for g in got), reverse=True)
        assert {g["label"] for g in got} == set(want)
        assert max(abs(g["score"] - want[g["label"]]) for g in got) < 1e-4
        top = m(text)
        assert len(top) == 1 and top[0] == got[0]
        labels_seen.add(top[0]["label"])
    assert len(labels_seen) > 1, "the tiny model's label should depend on the text"
    assert m(test_sentences[:3], top_k=2) == [m(t, top_k=2) for t in test_sentences[:3]]
    assert len(m("")) == 1  # empty text: a defined result ([CLS] [SEP])


def test_the_score_function_reads_a_label_count_as_every_runtime_does():
    """1 and 1.0 are one label (sigmoid); ``true`` is no label count (it was 1 to Python only:
    Kotlin and TypeScript gave softmax for the same config.json)."""
    from mbja_runtime.pipelines.text_classification import score_function

    assert [score_function({"num_labels": n}) for n in (1, 1.0, True, 2, None)] == \
        ["sigmoid", "sigmoid", "softmax", "softmax", "softmax"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_fill_mask_equals_transformers(tiny_task_bundle, tiny_checkpoint, reference_tokenizer, backend):
    from transformers import AutoModelForMaskedLM, pipeline

    bundle = tiny_task_bundle("fill-mask")
    model = AutoModelForMaskedLM.from_pretrained(tiny_checkpoint("mobilebert", "fill-mask")).eval()
    ref = pipeline("fill-mask", model=model, tokenizer=reference_tokenizer, top_k=5)
    m = mbja_runtime.load(bundle, backend=backend)
    for text in ("東京は日本の[MASK]です。", "[MASK]株式会社は大阪に本社を置く。", "彼は[MASK]で[MASK]を買った。"):
        want = ref(text)
        want = [want] if isinstance(want[0], dict) else want
        got = m(text)
        assert len(got) == len(want) == text.count("[MASK]")
        for w, g in zip(want, got):
            assert [c["token"] for c in g] == [c["token"] for c in w]
            assert np.allclose([c["score"] for c in g], [c["score"] for c in w], atol=1e-5)
        first = got[0][0]
        assert first["sequence"] == text.replace("[MASK]", first["token_str"].removeprefix("##"), 1)
    with pytest.raises(MbjaError, match=r"no \[MASK\]"):
        m("マスクのない文")
    with pytest.raises(MbjaError, match="beyond"):
        m("東京" * 200 + "[MASK]")


@pytest.mark.parametrize("backend", BACKENDS)
def test_feature_extraction_pooling(tiny_task_bundle, tiny_checkpoint, reference_tokenizer, test_sentences, backend):
    from transformers import AutoModel

    bundle = tiny_task_bundle("feature-extraction")
    model = AutoModel.from_pretrained(tiny_checkpoint("mobilebert", "feature-extraction")).eval()
    m = mbja_runtime.load(bundle, backend=backend)
    for text in test_sentences[:10]:   # longer than 64 tokens: both sides truncate
        enc = reference_tokenizer(text, return_tensors="pt", truncation=True, max_length=64)
        with torch.no_grad():
            hidden = model(**enc).last_hidden_state[0].double().numpy()
        assert np.abs(m(text) - hidden[0]).max() < 1e-4
        mean = m(text, pooling="mean")
        assert np.abs(mean - hidden.mean(axis=0)).max() < 1e-4
        unit = m(text, pooling="mean", normalize=True)
        assert abs(np.linalg.norm(unit) - 1) < 1e-5
        assert np.allclose(unit, mean / np.linalg.norm(mean), atol=1e-6)
    with pytest.raises(MbjaError, match="pooling"):
        m("テキスト", pooling="max")


def test_wrong_task_missing_file_tampered_and_future_bundles(tiny_task_bundle, tmp_path):
    import json
    import shutil

    src = tiny_task_bundle("token-classification")
    with pytest.raises(MbjaError, match="token-classification bundle, not fill-mask"):
        mbja_runtime.load(src, task="fill-mask")
    with pytest.raises(MbjaError, match="unknown backend"):
        mbja_runtime.load(src, backend="coreml")

    m = mbja_runtime.load(src)
    assert m("") == []                       # empty text: no entities
    assert m(["", "東京"]) == [[], m("東京")]  # batch = one result per text
    with pytest.raises(MbjaError, match="aggregation"):
        m("東京", aggregation="mean")
    with pytest.raises(MbjaError, match="str"):
        m(42)

    tampered = tmp_path / "tampered"
    shutil.copytree(src, tampered)
    raw = bytearray((tampered / "model.onnx").read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (tampered / "model.onnx").write_bytes(bytes(raw))
    with pytest.raises(BundleError, match="model.onnx does not match its sha256"):
        mbja_runtime.load(tampered)

    missing = tmp_path / "missing"
    shutil.copytree(src, missing)
    (missing / "model.tflite").unlink()
    with pytest.raises(BundleError, match="bundle file missing: .*model.tflite"):
        mbja_runtime.load(missing)

    future = tmp_path / "future"
    shutil.copytree(src, future)
    manifest = json.loads((future / "manifest.json").read_text())
    manifest["format_version"] = 2
    (future / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="format version 2 is not supported"):
        mbja_runtime.load(future)


def test_odd_inputs_give_results_or_clear_errors(tiny_task_bundle):
    m = mbja_runtime.load(tiny_task_bundle("token-classification"))
    checked = 0
    for text in ("\0", "絵文字👨‍👩‍👧 と 𠮷野家", "\t\n\u3000", "ｶﾀｶﾅ①㍻", "x" * 20_000, "東京都千代田区の山田太郎"):
        for aggregation in ("simple", "first"):
            for e in m(text, aggregation=aggregation):
                assert text[e["start"]:e["end"]] == e["text"]
                checked += 1
    assert checked > 0, "the model found no entity: nothing was checked"
    with pytest.raises(MbjaError):
        m("lone \ud800 surrogate")


def test_results_have_exactly_their_typed_keys(tiny_task_bundle):
    """Each result is the TypedDict mbja_runtime.results declares: the same keys at every
    aggregation of its kind (entities; per-token tags for "none"), values of the declared types."""
    from typing import get_type_hints

    from mbja_runtime.results import Entity, Filler, Label, TokenTag

    def check(results, kind):
        hints = get_type_hints(kind)
        assert results, f"nothing to check for {kind.__name__}"
        for r in results:
            assert set(r) == set(hints), (kind.__name__, r)
            assert all(isinstance(r[k], t) for k, t in hints.items()), (kind.__name__, r)

    text = "レッドフォックス株式会社は東京都千代田区にある。山田太郎が社長を務める。"
    ner = mbja_runtime.load(tiny_task_bundle("token-classification"))
    check(ner(text, aggregation="none"), TokenTag)
    for aggregation in ("simple", "first", "average", "max"):
        check(ner(text, aggregation=aggregation, ignore_labels=()), Entity)   # "O" kept: never empty
    check(mbja_runtime.load(tiny_task_bundle("sequence-classification"))(text, top_k=None), Label)
    masks = mbja_runtime.load(tiny_task_bundle("fill-mask"))("東京は[MASK]の首都です。")
    assert len(masks) == 1
    check(masks[0], Filler)


def test_steps_are_preprocess_forward_postprocess(tiny_task_bundle, test_sentences):
    """run_one is the three steps, each taking its own options, and an unknown option is an
    MbjaError naming the known ones (it used to be a TypeError from deep inside)."""
    m = mbja_runtime.load(tiny_task_bundle("token-classification"))
    for text in test_sentences[:20]:
        inputs = m.preprocess(text)
        outputs = m.forward(inputs, stride=16)
        assert outputs["logits"].shape == (len(inputs["encoding"]), len(m.id2label))
        assert m.postprocess(outputs, aggregation="first") == m(text, aggregation="first", stride=16)
    for task, bad in (("token-classification", "pooling"), ("feature-extraction", "aggregation"),
                      ("sequence-classification", "stride"), ("fill-mask", "top")):
        with pytest.raises(MbjaError, match=f"unknown option\\(s\\) {bad} for {task}"):
            mbja_runtime.load(tiny_task_bundle(task))("東京は[MASK]です", **{bad: 1})
