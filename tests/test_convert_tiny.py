"""Every registered task converts, for both architectures, with fp32 parity against PyTorch.

Parity is measured by mbja_build.verify, which computes the reference (BertJapaneseTokenizer +
PyTorch) itself, on real test-split sentences of ner.json.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mbja_build.build import BuildOptions, build_bundle
from mbja_build.checkpoint import load_checkpoint
from mbja_build.tasks import SUPPORTED_MODEL_TYPES, TASKS
from mbja_build.verify import FP32_MAX_ABS, compare, passes
from mbja_runtime.bundle import read_manifest


MODEL_TYPES = ["mobilebert", "bert"]  # written out, so adding a model type forces a test here


@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize("task", sorted(TASKS))
def test_tiny_checkpoint_converts_with_fp32_parity(tmp_path, tiny_checkpoint, test_sentences, model_type, task):
    ckpt_dir = tiny_checkpoint(model_type, task)
    out, manifest = build_bundle(BuildOptions(model=str(ckpt_dir), target="all", buckets="16,64",
                                              max_length=64, out=tmp_path / "bundle"))
    assert manifest["task"] == task
    assert {m["backend"] for m in manifest["models"]} == {"onnx", "tflite"}
    read_manifest(out)  # every listed file present with the right sha256

    texts = test_sentences[:40]
    report = compare(out, str(ckpt_dir), texts)
    for backend, entry in report["backends"].items():
        assert entry["max_abs_diff"] <= FP32_MAX_ABS, (backend, entry)
        assert passes(entry)

    # The comparison means something only if the model's output moves with its input and mask.
    model = load_checkpoint(str(ckpt_dir), task).model
    out_name = TASKS[task].output
    ids = torch.tensor([[2, 100, 200, 300, 400, 3]])
    with torch.no_grad():
        a = getattr(model(input_ids=ids, attention_mask=torch.ones_like(ids)), out_name)[0, 0]
        b = getattr(model(input_ids=ids + 7, attention_mask=torch.ones_like(ids)), out_name)[0, 0]
        c = getattr(model(input_ids=ids, attention_mask=torch.tensor([[1, 1, 1, 0, 0, 0]])), out_name)[0, 0]
    assert float((a - b).abs().max()) > 100 * FP32_MAX_ABS, "logits barely depend on the input"
    assert float((a - c).abs().max()) > 100 * FP32_MAX_ABS, "logits barely depend on the mask"


def test_every_supported_architecture_has_a_tiny_test():
    """Registering a model type without a tiny conversion test above is a defect (optimum's rule)."""
    assert set(MODEL_TYPES) == set(SUPPORTED_MODEL_TYPES)


def test_tflite_signatures_per_bucket(tmp_path, tiny_checkpoint):
    from ai_edge_litert.interpreter import Interpreter

    out, manifest = build_bundle(BuildOptions(model=str(tiny_checkpoint("mobilebert", "token-classification")),
                                              target="tflite", buckets="8,16,32", max_length=32, out=tmp_path / "b"))
    interp = Interpreter(model_path=str(out / "model.tflite"))
    sigs = interp.get_signature_list()
    assert sorted(sigs) == ["seq_16", "seq_32", "seq_8"]
    for name, sig in sigs.items():
        assert sorted(sig["inputs"]) == ["attention_mask", "input_ids", "token_type_ids"]
        assert sig["outputs"] == ["logits"]
        details = interp.get_signature_runner(name).get_input_details()
        assert all(d["dtype"] == np.int32 for d in details.values())
        assert all(list(d["shape"]) == [1, int(name[4:])] for d in details.values())
    assert [s["length"] for s in manifest["models"][0]["signatures"]] == [8, 16, 32]


def test_fp16_tflite_and_onnx_fallback(tmp_path, tiny_checkpoint, test_sentences):
    ckpt_dir = tiny_checkpoint("mobilebert", "token-classification")
    out, manifest = build_bundle(BuildOptions(model=str(ckpt_dir), target="all", quantize="fp16", buckets="64",
                                              max_length=64, out=tmp_path / "fp16"))
    precisions = {m["backend"]: m["precision"] for m in manifest["models"]}
    assert precisions == {"onnx": "fp32", "tflite": "fp16"}
    report = compare(out, str(ckpt_dir), test_sentences[:40])
    assert report["backends"]["onnx"]["max_abs_diff"] <= FP32_MAX_ABS
    fp16 = report["backends"]["tflite"]
    assert FP32_MAX_ABS / 100 < fp16["max_abs_diff"], "fp16 weights should not be bit-exact fp32"
    assert fp16["max_rel_diff"] < 1e-2 and fp16["min_cosine"] > 0.9999, fp16


@pytest.mark.parametrize("task", sorted(TASKS))
def test_manifest_output_shapes_are_the_real_ones(tiny_task_bundle, task):
    """Each model's manifest output shape, with its named axes resolved (batch, sequence, labels,
    vocab, hidden), equals the shape the engine really returns (it once said [.., sequence,
    labels] for every logits output, and no runtime noticed because they read ndim instead)."""
    import json

    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    bundle = tiny_task_bundle(task)
    manifest = read_manifest(bundle)
    config = json.loads((bundle / "config.json").read_text(encoding="utf-8"))
    named = {"labels": len(config.get("id2label") or {}) or None, "vocab": config["vocab_size"],
             "hidden": config["hidden_size"]}
    axes = TASKS[task].output_axes
    assert all(named.get(a) for a in axes if a != "sequence"), (task, named)
    feeds = lambda n, dtype: {k: np.ones((1, n), dtype) for k in ("input_ids", "attention_mask", "token_type_ids")}  # noqa: E731
    for spec in manifest["models"]:
        if spec["backend"] == "onnx":
            (out,) = spec["outputs"]
            session = ort.InferenceSession(str(bundle / spec["file"]), providers=["CPUExecutionProvider"])
            got = session.run([out["name"]], feeds(10, np.int64))[0].shape
            want = [{"batch": 1, "sequence": 10}.get(a, named.get(a)) for a in out["shape"]]
            assert out["shape"] == ["batch", *axes] and list(got) == want, (task, out, got)
        else:
            interpreter = Interpreter(model_path=str(bundle / spec["file"]))
            for sig in spec["signatures"]:
                (out,) = sig["outputs"]
                got = interpreter.get_signature_runner(sig["name"])(**feeds(sig["length"], np.int32))[out["name"]].shape
                want = [named.get(a, a) for a in out["shape"]]
                assert len(out["shape"]) == 1 + len(axes) and list(got) == want, (task, sig["name"], out, got)
