"""The embedded demo, built as the README says, with parity against PyTorch on real sentences."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mbja_build.build import BuildOptions, build_bundle
from mbja_build.demo import CHECKPOINT_DIR
from mbja_build.verify import FP32_MAX_ABS, QUANT_MIN_AGREEMENT, compare
from mbja_runtime.bundle import read_manifest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def int8_bundle(tmp_path_factory):
    """Exactly the issue's command: no --model, all targets, dynamic int8, default buckets."""
    out = tmp_path_factory.mktemp("demo") / "X"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "mbja_build", "--target", "all", "--quantize", "dynamic-int8",
                           "--out", str(out)], capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"bundle written to {out}" in proc.stdout
    return out


def test_int8_bundle_is_complete_and_loadable(int8_bundle):
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    manifest = read_manifest(int8_bundle)  # checks every sha256
    on_disk = {p.name for p in int8_bundle.iterdir()}
    assert on_disk == set(manifest["files"]) | {"manifest.json"}
    assert manifest["source"]["model"] == "demo"
    assert manifest["buckets"] == [32, 64, 128, 256, 512]
    assert {m["backend"]: m["precision"] for m in manifest["models"]} == {"onnx": "dynamic-int8",
                                                                          "tflite": "dynamic-int8"}
    assert "CC-BY-SA 3.0" in (int8_bundle / "NOTICE").read_text()
    interp = Interpreter(model_path=str(int8_bundle / "model.tflite"))
    assert sorted(interp.get_signature_list()) == sorted(f"seq_{n}" for n in manifest["buckets"])
    sess = ort.InferenceSession(str(int8_bundle / "model.onnx"))
    assert [i.name for i in sess.get_inputs()] == ["input_ids", "attention_mask", "token_type_ids"]
    # int8 weights really are int8 in the ONNX graph
    assert any("Integer" in n.op_type or "Quant" in n.op_type
               for n in __import__("onnx").load(str(int8_bundle / "model.onnx")).graph.node)


def test_int8_argmax_agreement_on_real_sentences(int8_bundle, test_sentences):
    report = compare(int8_bundle, str(CHECKPOINT_DIR), test_sentences)
    for backend, entry in report["backends"].items():
        assert entry["argmax_agreement"] >= QUANT_MIN_AGREEMENT, (backend, entry)
        assert entry["positions"] > 5000


def test_fp32_parity_on_real_sentences(tmp_path, test_sentences):
    out, _ = build_bundle(BuildOptions(target="all", buckets="32,64,128", max_length=128, out=tmp_path / "fp32"))
    report = compare(out, str(CHECKPOINT_DIR), test_sentences)
    assert set(report["backends"]) == {"onnx", "tflite"}
    for backend, entry in report["backends"].items():
        assert entry["max_abs_diff"] <= FP32_MAX_ABS, (backend, entry)
        assert entry["argmax_agreement"] == 1.0, (backend, entry)


def test_recorded_demo_f1_is_reproducible(ner_records):
    """The F1 in metrics.json (and the README) is recomputed here from the committed weights."""
    from transformers import AutoModelForTokenClassification

    from mbja_build.demo.align import Aligner
    from mbja_build.demo.data import LABELS, split
    from mbja_build.demo.train import encode_split, predict_entities
    from mbja_runtime.iob import entity_f1

    metrics = json.loads((CHECKPOINT_DIR / "metrics.json").read_text())
    assert metrics["test_sentences"] == 2140
    _, test = split(ner_records)
    model = AutoModelForTokenClassification.from_pretrained(CHECKPOINT_DIR)
    examples, skipped = encode_split(Aligner(str(CHECKPOINT_DIR / "vocab.txt")), test,
                                     {l: i for i, l in enumerate(LABELS)})
    assert skipped == 0
    pred = predict_entities(model, examples, model.config.id2label)
    gold = [{(e["type"], *e["span"]) for e in ex["record"]["entities"]} for ex in examples]
    got = entity_f1(gold, pred)
    assert got["f1"] == pytest.approx(metrics["f1"], abs=1e-9)
    assert got["gold"] == metrics["gold"] > 5000
