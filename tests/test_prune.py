"""Attention-head pruning (`mbja-build --prune-heads`): importance, surgery, export and verify of ragged models."""
from __future__ import annotations

import copy

import pytest
import torch

from conftest import read_json
from mbja_build.build import BuildOptions, build_bundle
from mbja_build.checkpoint import load_checkpoint
from mbja_build.cli import main
from mbja_build.prune import choose_heads, head_importance, heads_per_layer, prune_checkpoint, prune_model, zero_heads


def _encodings(tok, texts):
    return [tok(t, truncation=True, max_length=64, return_token_type_ids=True) for t in texts]


def _logits(model, enc):
    feeds = {k: torch.tensor([enc[k]]) for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        return model(**feeds).logits[0]


@pytest.fixture(scope="module")
def demo_importance(demo_reference, test_sentences):
    tok, model = demo_reference
    return head_importance(model, _encodings(tok, test_sentences[:20]))


def test_importance_one_finite_value_per_head(demo_importance, demo_reference, tiny_checkpoint, reference_tokenizer,
                                              test_sentences):
    _, model = demo_reference
    assert list(demo_importance.shape) == [len(heads_per_layer(model)), heads_per_layer(model)[0]]
    assert torch.isfinite(demo_importance).all() and (demo_importance >= 0).all()
    # per-layer L2 normalisation, and the heads are not all alike (the ranking means something)
    torch.testing.assert_close(demo_importance.norm(dim=-1), torch.ones(demo_importance.shape[0]))
    assert demo_importance.std() > 0.01
    tiny = load_checkpoint(str(tiny_checkpoint("mobilebert", "token-classification"))).model
    imp = head_importance(tiny, _encodings(reference_tokenizer, test_sentences[:5]))
    assert imp.shape == (2, 2) and torch.isfinite(imp).all()


@pytest.mark.parametrize("fraction,want", [(0.3, 7), (0.5, 12), (0.7, 17)])
def test_choose_heads_exact_count_and_one_head_per_layer(demo_importance, fraction, want):
    heads, requested = choose_heads(demo_importance, fraction)
    assert requested == want and sum(map(len, heads.values())) == want
    layers, per_layer = demo_importance.shape
    assert all(len(v) <= per_layer - 1 for v in heads.values())
    # the very least important head is always among the pruned
    flat = int(demo_importance.argmin())
    assert flat % per_layer in heads.get(flat // per_layer, [])


def test_never_empties_a_layer():
    imp = torch.tensor([[0.0, 0.1], [0.9, 1.0]])
    heads, requested = choose_heads(imp, 0.9)          # asks for 4 of 4: only one per layer can go
    assert requested == 4 and heads == {0: [0], 1: [0]}


def test_pruned_model_equals_masked_model_and_depends_on_input(demo_reference, demo_importance, test_sentences):
    tok, model = demo_reference
    heads, _ = choose_heads(demo_importance, 0.3)
    pruned, masked = copy.deepcopy(model), copy.deepcopy(model)
    prune_model(pruned, heads)
    zero_heads(masked, heads)
    counts = heads_per_layer(pruned)
    assert sum(counts) == 24 - 7 and min(counts) >= 1 and len(set(counts)) > 1     # ragged on purpose
    assert sum(p.numel() for p in pruned.parameters()) < sum(p.numel() for p in model.parameters())
    encs = _encodings(tok, test_sentences[:10])
    outs = [_logits(pruned, e) for e in encs]
    for e, o in zip(encs, outs):
        ref = _logits(masked, e)
        assert (o - ref).abs().max() <= 1e-4 * max(1.0, float(ref.abs().max()))
    # not a constant function, and not the unpruned one either
    assert (outs[0][1] - outs[1][1]).abs().max() > 0.1
    assert max(float((o - _logits(model, e)).abs().max()) for e, o in zip(encs, outs)) > 1e-3


def test_prune_checkpoint_report(tiny_checkpoint, test_sentences, tmp_path):
    ckpt = load_checkpoint(str(tiny_checkpoint("bert", "token-classification")))
    report = prune_checkpoint(ckpt, 0.5, test_sentences[:5], tmp_path / "ref")
    assert report["heads_before"] == 4 and report["heads_after"] == 2 == report["heads_requested"]
    assert report["heads_per_layer_before"] == [2, 2] and report["heads_per_layer_after"] == [1, 1]
    assert report["params_after"] < report["params_before"]
    assert heads_per_layer(ckpt.model) == [1, 1]
    assert (tmp_path / "ref" / "config.json").is_file() and (tmp_path / "ref" / "vocab.txt").is_file()


@pytest.mark.slow
def test_pruned_demo_exports_to_onnx_and_tflite_and_verifies(tmp_path, test_sentences):
    """Unequal heads per layer through both converters; verify holds the bundle to the pruned model."""
    out, manifest = build_bundle(BuildOptions(target="all", buckets="32,64", max_length=64, out=tmp_path / "b",
                                              verify=True, prune_heads=0.3, calibration=test_sentences[:30],
                                              verify_texts=test_sentences[:60]))
    p = manifest["pruning"]
    assert p["heads_after"] == 17 and len(set(p["heads_per_layer_after"])) > 1
    report = read_json(out / "verify.json")
    assert report["passed"] and set(report["backends"]) == {"onnx", "tflite"}
    assert "17 of 24 attention heads" in report["model"]
    for e in report["backends"].values():
        assert e["precision"] == "fp32" and e["entity_agreement"] >= 0.99


def test_pruned_tiny_bundle_verifies(tmp_path, tiny_checkpoint, test_sentences):
    out, manifest = build_bundle(BuildOptions(model=str(tiny_checkpoint("mobilebert", "token-classification")),
                                              target="all", buckets="16,64", max_length=64, out=tmp_path / "b",
                                              verify=True, prune_heads=0.25, calibration=test_sentences[:5],
                                              verify_texts=test_sentences[:20]))
    assert manifest["pruning"]["heads_per_layer_after"] in ([1, 2], [2, 1])
    assert read_json(out / "verify.json")["passed"]


@pytest.mark.parametrize("value", ["0", "1", "-1", "abc", "1.5", "nan"])
def test_cli_rejects_bad_fractions(value, capsys, tmp_path):
    assert main(["--prune-heads", value, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mbja-build: error:") and "\n" not in err and "prune-heads" in err


def test_cli_calibration_needs_prune_heads(tmp_path, capsys):
    f = tmp_path / "cal.txt"
    f.write_text("東京都に住む。\n", encoding="utf-8")
    assert main(["--calibration", str(f), "--out", str(tmp_path / "x")]) == 2
    assert "--prune-heads" in capsys.readouterr().err
