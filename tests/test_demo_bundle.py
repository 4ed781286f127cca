"""The embedded demo, built as the README says, with parity against PyTorch on real sentences."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_avx2_emulation
from mbja_build.build import DEFAULT_BUCKETS
from mbja_build.demo import CHECKPOINT_DIR
from mbja_build.verify import FP32_MAX_ABS, FP32_MAX_REL, QUANT_MIN_AGREEMENT, compare, passes
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
    on_disk = {p.relative_to(int8_bundle).as_posix() for p in int8_bundle.rglob("*") if p.is_file()}
    assert on_disk == set(manifest["files"]) | {"manifest.json"}
    assert {"dictionary/trie.bin", "dictionary/matrix.bin", "vocab.txt"} <= on_disk
    assert manifest["source"]["model"] == "demo"
    assert manifest["buckets"] == list(DEFAULT_BUCKETS) == [32, 48, 64, 96, 128, 256, 512]
    assert {m["backend"]: m["precision"] for m in manifest["models"]} == {"onnx": "dynamic-int8",
                                                                          "tflite": "dynamic-int8"}
    assert "CC-BY-SA 3.0" in (int8_bundle / "NOTICE").read_text()
    # mbja-build verified it by default and the bundle carries the evidence
    assert manifest["verify"] == "verify.json" and "verify.json" in manifest["files"]
    report = json.loads((int8_bundle / "verify.json").read_text())
    assert report["passed"] and report["texts"] == 200
    assert report["tokenizer"]["same_input_ids"] == 200
    assert set(report["backends"]) == {"onnx", "tflite"}
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


def pytorch_fp32_error(texts) -> float:
    """How far PyTorch fp32 itself is from the exact (fp64) logits: the noise floor of any fp32 export."""
    import torch
    from transformers import AutoModelForTokenClassification

    from mbja_build.reference import reference_tokenizer

    tok = reference_tokenizer(CHECKPOINT_DIR / "vocab.txt")
    m32 = AutoModelForTokenClassification.from_pretrained(CHECKPOINT_DIR).eval()
    m64 = AutoModelForTokenClassification.from_pretrained(CHECKPOINT_DIR).eval().double()
    worst = 0.0
    with torch.no_grad():
        for t in texts:
            enc = tok(t, return_tensors="pt", truncation=True, max_length=128)
            worst = max(worst, float((m32(**enc).logits - m64(**enc).logits).abs().max()))
    return worst


def test_fp32_parity_on_real_sentences(demo_fp32_bundle, test_sentences):
    """fp32 exports match PyTorch to 1e-4 of the logit scale and never flip a label.

    The trained demo's NoNorm activations make an absolute 1e-4 meaningless (optimum#1027): the
    test measures PyTorch's own fp32 error and shows it is above that bound.
    """
    report = compare(demo_fp32_bundle, str(CHECKPOINT_DIR), test_sentences)
    assert set(report["backends"]) == {"onnx", "tflite"}
    for backend, entry in report["backends"].items():
        assert entry["max_rel_diff"] <= FP32_MAX_REL, (backend, entry)
        assert entry["argmax_agreement"] == 1.0, (backend, entry)
        assert entry["min_cosine"] > 0.99999, (backend, entry)
        assert passes(entry)
    floor = pytorch_fp32_error(test_sentences[:50])
    assert floor > FP32_MAX_ABS, "if PyTorch fp32 were this exact, the absolute bound should be used"


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


def test_readme_ner_example_is_what_the_bundle_returns(int8_bundle):
    """The README's NER example, run on the bundle its main command builds: the entities (types,
    texts, offsets) exactly, the scores as printed within int8's run-to-run spread, the logits
    shape and the offsets it shows."""
    import ast
    import re
    from pathlib import Path

    import mbja_runtime

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("**Token classification (NER)**", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    call = re.search(r'^m\("([^"]+)"\)\n((?:#.*\n)+)', block, re.M)
    text, shown = call.group(1), ast.literal_eval("".join(l[1:] for l in call.group(2).splitlines()))
    m = mbja_runtime.load(int8_bundle)
    got = m(text)
    assert [{k: e[k] for k in ("type", "text", "start", "end")} for e in got] == \
        [{k: e[k] for k in ("type", "text", "start", "end")} for e in shown]
    assert all(abs(g["score"] - s["score"]) < 1e-3 for g, s in zip(got, shown))
    shape = re.search(r'^m\.logits\("([^"]+)"\)\.shape +# \(tokens, labels\) = \((\d+), (\d+)\)', block, re.M)
    assert m.logits(shape.group(1)).shape == (int(shape.group(2)), int(shape.group(3)))
    offsets = re.search(r'^m\.tokenizer\.encode\("([^"]+)"\)\.offsets +# \[(.*), \.\.\.\]', block, re.M)
    want = ast.literal_eval(f"[{offsets.group(2)}]")
    assert m.tokenizer.encode(offsets.group(1)).offsets[:len(want)] == want


def test_onnx_int8_weights_cannot_saturate_an_avx2_kernel(int8_bundle):
    """ORT's uint8 x int8 GEMM without VNNI adds products in pairs saturated at int16 (vpmaddubsw);
    with every weight in -64..64 no pair can reach it: 255 * 64 * 2 < 2**15 (docs/bundle-format.md)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(int8_bundle / "model.onnx"))
    weights = [numpy_helper.to_array(t) for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(weights) >= 10                       # every weight matmul of the demo
    assert max(int(abs(w.astype(np.int32)).max()) for w in weights) * 255 * 2 < 2 ** 15


AVX2_RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "avx2_only" / "run.py"
CHILD = Path(__file__).resolve().parent / "_onnx_logits.py"


@needs_avx2_emulation
def test_onnx_int8_computes_the_same_on_avx2_as_on_vnni(int8_bundle, test_sentences, tmp_path):
    """The bundle the build verified (here: VNNI kernels) is the bundle an AVX2-only CPU runs: the
    same logits on AVX2 code paths (benchmarks/avx2_only). Full-range int8 weights differed by up
    to 2.5 (of logits up to 41) on 100 sentences; -64..64 weights by 0.008, argmax all equal."""
    from mbja_runtime.tokenize import Tokenizer

    ids = [e.input_ids for e in Tokenizer.from_bundle(int8_bundle).encode_batch(test_sentences[:100])]
    (tmp_path / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
    logits = {}
    for mode, prefix in (("vnni", []), ("avx2", [sys.executable, str(AVX2_RUN), "--"])):
        subprocess.run(prefix + [sys.executable, str(CHILD), str(int8_bundle / "model.onnx"), str(tmp_path / "ids.json"),
                                 str(tmp_path / f"{mode}.npy")], check=True, timeout=600)
        logits[mode] = np.load(tmp_path / f"{mode}.npy")
    vnni, avx2 = logits["vnni"], logits["avx2"]
    assert vnni.shape == avx2.shape == (sum(map(len, ids)), vnni.shape[1])
    assert np.abs(vnni - avx2).max() <= 1e-3 * np.abs(vnni).max()
    assert (vnni.argmax(-1) == avx2.argmax(-1)).all()
