"""Accuracy-driven int8 (repair.py) on checkpoints that break plain int8 the way real MobileBERTs do.

The outlier twins are made here from the trained demo (residual_scale.py: 3 residual channels
scaled by s, every reader divided by s, so the fp32 function is unchanged); the tests first prove
that they are what they claim (fp32 logits unchanged against PyTorch, plain int8 really broken),
then that the search repairs them, leaves a healthy model untouched, lists exactly what it kept
in float and fails with every attempt's numbers when the target is out of reach. References: the
PyTorch model (fp32) and the model's own fp32 ONNX export run by ONNX Runtime.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from mbja_build.calibration import default_calibration_texts
from mbja_build.convert.onnx_export import export_onnx
from mbja_build.demo import CHECKPOINT_DIR
from mbja_build.int8_error import onnx_ranking
from mbja_build.quantize import ONNX_WEIGHT_LEVELS, quantize_onnx
from mbja_build import repair
from mbja_build.repair import REPAIR_TARGET, RepairError, Route, cliff_counts, fallback_counts, search
from mbja_build.residual_scale import outlier_scales, residual_absmax, write_outlier_twin
from mbja_build.verify import Agreement, fp32_tolerance, quantized_passes

MAX_LENGTH = 128


@pytest.fixture(scope="module")
def calibration_inputs(tiny_bundle):
    from mbja_runtime.tokenize import Tokenizer

    tok = Tokenizer.from_bundle(tiny_bundle, verify=False)   # the demo's vocabulary and dictionary
    return [e.input_ids for e in tok.encode_batch(default_calibration_texts(), max_length=MAX_LENGTH)]


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    cache = {}

    def get(scale: float):
        if scale not in cache:
            from transformers import AutoModelForTokenClassification

            path = write_outlier_twin(CHECKPOINT_DIR, tmp_path_factory.mktemp(f"twin{scale:g}"), 3, scale)
            cache[scale] = AutoModelForTokenClassification.from_pretrained(path).eval()
        return cache[scale]

    return get


@pytest.fixture(scope="module")
def demo_model():
    from transformers import AutoModelForTokenClassification

    return AutoModelForTokenClassification.from_pretrained(CHECKPOINT_DIR).eval()


def onnx_route(vocab_size: int) -> Route:
    def export(model, path):
        return export_onnx(model, "token-classification", path, MAX_LENGTH, vocab_size)

    return repair.onnx_route("dynamic-int8", export)


def exported(model, tmp_path, name="raw.onnx"):
    route = onnx_route(model.config.vocab_size)
    raw = tmp_path / name
    return route, raw, route.export(model, raw)


def plain_int8_agreement(route, raw, info, inputs) -> dict:
    out = raw.with_name("plain.onnx")
    route.quantize(raw, out, [])
    ref, got = route.open(raw, info), route.open(out, info)
    agreement = Agreement()
    for ids in inputs:
        agreement.add(ref.run(ids), got.run(ids))
    return agreement.as_dict()


@pytest.mark.parametrize("scale", [100, 1000])
def test_outlier_twin_keeps_fp32_and_breaks_plain_int8(twin, demo_model, calibration_inputs, tmp_path, scale):
    model = twin(scale)
    feeds = [{"input_ids": torch.as_tensor(np.asarray(ids))[None]} for ids in calibration_inputs[:40]]
    with torch.no_grad():
        for f in feeds:
            want = demo_model(**f).logits[0].numpy()
            assert np.abs(model(**f).logits[0].numpy() - want).max() <= fp32_tolerance(want)
    before, after = residual_absmax(demo_model, feeds), residual_absmax(model, feeds)
    assert float(after.max() / after.median()) > 0.3 * scale > float(before.max() / before.median())
    route, raw, info = exported(model, tmp_path)
    plain = plain_int8_agreement(route, raw, info, calibration_inputs)
    assert plain["decisive_positions"] > 5000
    assert not quantized_passes(plain), plain        # really broken: the cases stay meaningful


def test_gate_judges_decisions_not_ties(calibration_inputs, tmp_path):
    """A default-init MobileBERT (near-tied logits): int8 flips coin tosses, which the old
    all-positions rule called damage; the gate does not (and the twin test above keeps it failing
    real damage)."""
    import transformers

    from mbja_build.bench.shapes import MOBILEBERT_FULL

    torch.manual_seed(0)
    config = transformers.MobileBertConfig(vocab_size=10000, num_labels=17, **{**MOBILEBERT_FULL,
                                                                              "num_hidden_layers": 4})
    model = transformers.MobileBertForTokenClassification(config).eval()
    route, raw, info = exported(model, tmp_path)
    plain = plain_int8_agreement(route, raw, info, calibration_inputs[:100])
    assert plain["argmax_agreement"] < 0.99          # the old rule's false alarm, reproduced
    assert plain["decisive_positions"] == 0 and plain["min_cosine"] > 0.999
    assert quantized_passes(plain)


def test_search_leaves_a_healthy_model_untouched(demo_model, calibration_inputs, tmp_path):
    route, raw, info = exported(demo_model, tmp_path)
    quantize_onnx(raw, tmp_path / "today.onnx", "dynamic-int8", keep_src=True)
    precision, record = search(route, demo_model, raw, info, tmp_path / "model.onnx", calibration_inputs,
                               REPAIR_TARGET)
    assert precision == "dynamic-int8" and record["chosen"] == "plain" and len(record["attempts"]) == 1
    assert record["target_reached"]
    assert record["float_ops"] == [] and "migrated_channels" not in record
    assert (tmp_path / "model.onnx").read_bytes() == (tmp_path / "today.onnx").read_bytes()
    assert not raw.exists()


def test_migration_repairs_the_twin(twin, calibration_inputs, tmp_path):
    model = twin(1000)
    route, raw, info = exported(model, tmp_path)
    precision, record = search(route, model, raw, info, tmp_path / "model.onnx", calibration_inputs,
                               REPAIR_TARGET)
    plain, final = record["attempts"][0], record["attempts"][-1]
    assert not quantized_passes(plain) and quantized_passes(final, REPAIR_TARGET) and record["chosen"] == "migrate"
    scaled = set(torch.nonzero(outlier_scales(model.config.hidden_size, 3, 1000) > 1).flatten().tolist())
    assert scaled <= {c["channel"] for c in record["migrated_channels"]}
    assert record["float_ops"] == []
    # every op is still int8: the repaired file is as small as the plain int8 one
    assert final["size_bytes"] <= 1.01 * plain["size_bytes"] <= 0.4 * record["fp32_size_bytes"]


def _float_matmuls(path) -> set[str]:
    import onnx

    m = onnx.load(str(path))
    weights = {t.name for t in m.graph.initializer if t.data_type == onnx.TensorProto.FLOAT}
    return {n.name for n in m.graph.node if n.op_type == "MatMul" and n.input[1] in weights}


def test_float_fallback_lists_exactly_what_stayed_float(twin, calibration_inputs, tmp_path):
    model = twin(1000)
    route, raw, info = exported(model, tmp_path)
    precision, record = search(route, model, raw, info, tmp_path / "model.onnx", calibration_inputs, 0.99,
                               migrate=False)
    assert record["chosen"].startswith("float") and quantized_passes(record["attempts"][-1])
    kept = {f["op"] for f in record["float_ops"]}
    assert kept and _float_matmuls(tmp_path / "model.onnx") == kept
    assert all(f["error"] > 0.5 for f in record["float_ops"])    # the outlier readers, nothing else


def test_unreachable_aim_keeps_the_best_attempt_above_the_floor(twin, calibration_inputs, tmp_path):
    model = twin(1000)
    route, raw, info = exported(model, tmp_path)
    precision, record = search(route, model, raw, info, tmp_path / "model.onnx", calibration_inputs, 1.0,
                               migrate=False)
    assert not record["target_reached"] and record["floor"] == 0.99
    chosen = next(a for a in record["attempts"] if a["name"] == record["chosen"])
    passing = [a for a in record["attempts"] if quantized_passes(a, 0.99)]
    assert chosen["decisive_agreement"] == max(a["decisive_agreement"] for a in passing) < 1.0
    assert _float_matmuls(tmp_path / "model.onnx") == {f["op"] for f in record["float_ops"]}
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]      # no attempt or export left behind


def test_unreachable_floor_fails_with_every_attempt(twin, calibration_inputs, tmp_path):
    model = twin(1000)
    route, raw, info = exported(model, tmp_path)
    with pytest.raises(RepairError) as err:
        search(route, model, raw, info, tmp_path / "model.onnx", calibration_inputs, 1.0, migrate=False, floor=1.0)
    message = str(err.value)
    ranking = onnx_ranking(_reexport(route, model, tmp_path), calibration_inputs, ONNX_WEIGHT_LEVELS)
    errors = [e for _, e in ranking]
    tried = re.findall(r"(\w+) [\d.]+% \(", message)
    counts = [int(name.removeprefix("float")) for name in tried[1:]]
    # every attempt is named with its numbers: plain first, then ascending fallbacks, every cliff
    # among them (after two attempts that gained nothing only cliffs are tried)
    assert tried[0] == "plain" and all(name.startswith("float") for name in tried[1:]), message
    assert counts == sorted(counts) and set(counts) <= set(fallback_counts(errors)), message
    assert cliff_counts(errors) <= set(counts) and message.count("ms/text") == len(tried)
    assert not (tmp_path / "model.onnx").exists()


def _reexport(route, model, tmp_path):
    path = tmp_path / "again.onnx"
    route.export(model, path)
    return path


def test_fallback_counts_follow_the_cliff():
    errors = [1.0] * 19 + [0.009] * 49
    assert fallback_counts(errors) == [1, 2, 4, 8, 16, 19]
    # what a stalled search still tries: the cliff; a flat ranking (static int8's) has none
    assert cliff_counts(errors) == {19} and cliff_counts([0.005] * 50) == set()
    assert fallback_counts([0.01] * 9) == [1, 2]
    assert fallback_counts([]) == []


@pytest.mark.parametrize("model_type,task", [("mobilebert", "sequence-classification"), ("bert", "token-classification")])
def test_models_migration_cannot_transform_go_straight_to_the_fallback(tiny_checkpoint, calibration_inputs,
                                                                      model_type, task):
    """No crash and no half-applied rescaling: such models skip step 2 (their heads or norms are
    not the residual-stream layout residual_scale.py knows)."""
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    from mbja_build.repair import migration_scales

    auto = AutoModelForSequenceClassification if task == "sequence-classification" else AutoModelForTokenClassification
    model = auto.from_pretrained(tiny_checkpoint(model_type, task)).eval()
    assert migration_scales(model, calibration_inputs[:10]) is None
