"""The compute-limit measurement: its MAC count equals an independent count from the PyTorch model,
and its report is consistent. Never speed: only that the numbers are computed as documented.
"""
from __future__ import annotations

import json

import pytest
import torch

from mbja_build.bench.compute_limit import count_macs, measure


def torch_macs(checkpoint, length: int) -> int:
    """Count MACs by running the PyTorch model: every nn.Linear call (hooked) plus the two
    attention products per layer (QK^T and PV: heads x L x L x head_dim each)."""
    from transformers import AutoConfig, AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(checkpoint).eval()
    config = AutoConfig.from_pretrained(checkpoint)
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        x = inputs[0]
        total += (x.numel() // module.in_features) * module.in_features * module.out_features

    for m in model.modules():
        if isinstance(m, torch.nn.Linear):
            m.register_forward_hook(hook)
    with torch.no_grad():
        ids = torch.full((1, length), 7, dtype=torch.long)
        model(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids))
    width = getattr(config, "true_hidden_size", config.hidden_size)
    return total + config.num_hidden_layers * 2 * length * length * width


@pytest.mark.parametrize("length", [16, 64])
def test_mac_count_matches_pytorch(tiny_task_bundle, tiny_checkpoint, length):
    bundle = tiny_task_bundle("token-classification")
    count = count_macs(bundle / "model.tflite", f"seq_{length}")
    assert count.total == torch_macs(tiny_checkpoint("mobilebert", "token-classification"), length)
    assert count.by_op["BATCH_MATMUL"] > 0 and count.ops["FULLY_CONNECTED"] > 0
    assert count.total == sum(count.by_op.values())


def test_unknown_signature_is_named(tiny_task_bundle):
    with pytest.raises(KeyError, match="seq_16, seq_64"):
        count_macs(tiny_task_bundle("token-classification") / "model.tflite", "seq_128")


def test_measure_is_consistent(tiny_task_bundle):
    from mbja_build.bench.compute_limit import ENGINES
    from mbja_runtime.cpu import features

    r = measure(tiny_task_bundle("token-classification") / "model.tflite", 64, rounds=3, vocab_size=100,
                peak=(16, 32, 32), nominal_gmacs=100.0).to_dict()
    json.dumps(r)   # the report is plain JSON
    assert r["gmac"] == pytest.approx(sum(r["macs_by_op"].values()) / 1e9)
    assert r["nominal_limit_ms"] == pytest.approx(r["gmac"] / 100.0 * 1e3)
    assert r["peak_limit_ms"] == pytest.approx(r["gmac"] / r["peak_gmacs"] * 1e3)
    assert r["x_nominal"] == pytest.approx(r["model_ms"] / r["nominal_limit_ms"])
    assert r["x_peak"] == pytest.approx(r["model_ms"] / r["peak_limit_ms"])
    # the CPU's limit is the best engine measured here, each engine's GEMM timed, and it is named
    assert set(r["engine_gmacs"]) == set(ENGINES) and all(v > 0 for v in r["engine_gmacs"].values())
    assert r["engine_gmacs"]["xnnpack dynamic-int8"] == r["peak_gmacs"]
    assert r["cpu_gmacs"] == max(r["engine_gmacs"].values()) == r["engine_gmacs"][r["cpu_engine"]]
    assert r["cpu_limit_ms"] == pytest.approx(r["gmac"] / r["cpu_gmacs"] * 1e3)
    assert r["x_cpu"] == pytest.approx(r["model_ms"] / r["cpu_limit_ms"]) and r["x_cpu"] >= r["x_peak"]
    assert r["cpu_features"] == features() and all(f in r["cpu"] for f in features())
    # without a stated rate there is no nominal column
    r16 = measure(tiny_task_bundle("token-classification") / "model.tflite", 16, rounds=1, vocab_size=100,
                  peak=(16, 32, 32)).to_dict()
    assert r16["nominal_gmacs"] is None and r16["x_nominal"] is None and r16["x_cpu"] > 0
    # every FC shape of the signature was timed, and the GEMM total is their counted sum
    count = count_macs(tiny_task_bundle("token-classification") / "model.tflite", "seq_64")
    assert {tuple(g["shape"]): g["count"] for g in r["gemms"]} == count.gemms
    assert r["gemm_ms"] == pytest.approx(sum(g["count"] * g["ms"] for g in r["gemms"]))
    assert r["x_gemm"] == pytest.approx(r["model_ms"] / r["gemm_ms"])
    assert 0 < r["model_p10_ms"] <= r["model_ms"] * 1.0001
