"""The committed model vectors (vectors/ at the repository root, read by every runtime) are current.

The Kotlin SDK's JVM tests rerun the demo bundle's ONNX model and the Kotlin decoders against
these files, so they must be what the Python runtime and pipelines produce today:

* ``postprocess.json.gz`` depends only on the tokenizer and the pipelines' postprocess functions,
  so it is regenerated from the session's tiny bundle (same vocabulary and dictionary as the demo)
  and must match exactly (floats within 1e-12: NumPy's exp may differ in the last bit across CPUs).
* ``model_token_classification.json.gz`` needs the trained demo model: a slow test builds an
  ONNX-only demo bundle (a few minutes) and compares every array within the fp32 rule every
  runtime uses (``verify.fp32_tolerance``: 1e-4, or 1e-4 of the array's largest magnitude), and
  decoded results exactly, their scores within the largest logit tolerance of the file (a softmax
  or sigmoid probability moves at most half as much as the logits under it). With the pinned
  build stack (constraints.txt) the rebuilt logits are bit-identical on the machine that made them;
  another CPU's kernels round differently, well inside that rule.

Regenerate with ``mbja-build --target onnx --out build/demo-bundle && mbja-build vectors --bundle build/demo-bundle``.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from mbja_build.vectors import DEFAULT_OUT
from mbja_build.verify import FP32_MAX_ABS, FP32_MAX_REL, fp32_tolerance
from mbja_build.vectors import outputs

REGENERATE = "regenerate with: mbja-build --target onnx --out build/demo-bundle && mbja-build vectors --bundle build/demo-bundle"
MODEL_FILE = "model_token_classification.json.gz"


def f32(obj) -> np.ndarray:
    import base64

    return np.frombuffer(base64.b64decode(obj["f32"]), dtype="<f4").reshape(obj["shape"])


def assert_same(want, have, where: str, tol: float, array_limit=None):
    """Deep equality; floats within ``tol``; {"shape", "f32"} arrays within ``array_limit(want)``
    (default ``tol``)."""
    if isinstance(want, dict) and set(want) == {"shape", "f32"}:
        assert isinstance(have, dict) and have.get("shape") == want["shape"], f"{where}: shape differs; {REGENERATE}"
        diff = float(np.max(np.abs(f32(want) - f32(have)), initial=0.0))
        limit = array_limit(f32(want)) if array_limit is not None else tol
        assert diff <= limit, f"{where}: arrays differ by {diff} > {limit}; {REGENERATE}"
    elif isinstance(want, dict):
        assert isinstance(have, dict) and sorted(want) == sorted(have), f"{where}: keys differ; {REGENERATE}"
        for k in want:
            assert_same(want[k], have[k], f"{where}.{k}", tol, array_limit)
    elif isinstance(want, list):
        assert isinstance(have, list) and len(want) == len(have), f"{where}: length differs; {REGENERATE}"
        for i, (w, h) in enumerate(zip(want, have)):
            assert_same(w, h, f"{where}[{i}]", tol, array_limit)
    elif isinstance(want, float):
        assert isinstance(have, (int, float)) and math.isclose(want, have, rel_tol=0, abs_tol=tol), \
            f"{where}: {have} != {want}; {REGENERATE}"
    else:
        assert want == have, f"{where}: {have!r} != {want!r}; {REGENERATE}"


def test_postprocess_vectors_are_current(tiny_bundle):
    committed = DEFAULT_OUT / "postprocess.json.gz"
    assert committed.is_file(), f"{committed} missing; {REGENERATE}"
    assert_same(outputs.postprocess_vectors(tiny_bundle), outputs.read(committed), "postprocess", 1e-12)


def test_postprocess_vectors_cover_every_decoder():
    from mbja_runtime.pipelines import AGGREGATIONS

    v = outputs.read(DEFAULT_OUT / "postprocess.json.gz")
    ner = v["token_classification"]
    for a in AGGREGATIONS:
        assert sum(len(c["results"][a]) for c in ner) >= 10, a
    assert any(c["results"]["simple"] != c["results"]["first"] for c in ner)
    assert {c["function"] for c in v["text_classification"]} == {"softmax", "sigmoid"}
    assert any(c["top_k"] is None for c in v["text_classification"])
    assert sum(len(c["results"]) for c in v["fill_mask"]) >= 4
    assert {(c["pooling"], c["normalize"]) for c in v["feature_extraction"]} == \
        {("cls", False), ("cls", True), ("mean", False), ("mean", True)}
    assert any(len(c["starts"]) > 2 for c in v["windows"])


def test_model_vectors_cover_samples_odd_unicode_and_windows():
    v = outputs.read(DEFAULT_OUT / MODEL_FILE)
    kinds = [c["kind"] for c in v["cases"]]
    assert kinds.count("sample") == outputs.SAMPLE_SIZE and kinds.count("odd") == len(outputs.ODD_TEXTS)
    assert all(len(c["input_ids"]) > v["max_length"] for c in v["cases"] if c["kind"] == "long")
    assert sum(len(c["results"]["simple"]) for c in v["cases"]) > 100
    fill = v["fill_mask"]
    assert any(c.get("error") for c in fill) and any(len(c.get("results", [])) > 1 for c in fill)
    assert {(c["pooling"], c["normalize"]) for c in v["feature_extraction"]} == \
        {("cls", False), ("cls", True), ("mean", False), ("mean", True)}
    size = sum((DEFAULT_OUT / n).stat().st_size for n in (MODEL_FILE, "postprocess.json.gz"))
    assert size < 1_000_000, size


@pytest.mark.slow
def test_model_vectors_are_current(tmp_path_factory):
    from mbja_build.build import BuildOptions, build_bundle

    out, _ = build_bundle(BuildOptions(target="onnx", out=tmp_path_factory.mktemp("demo-onnx") / "bundle"))
    want = outputs.model_vectors(out)
    have = outputs.read(DEFAULT_OUT / MODEL_FILE)
    have.pop("model_sha256")
    want.pop("model_sha256")  # informative only: the export need not be byte-identical
    assert have["tolerance"] == {"fp32_max_abs": FP32_MAX_ABS, "fp32_max_rel": FP32_MAX_REL}
    score_tol = max(fp32_tolerance(f32(c["logits"])) for c in want["cases"])
    assert_same(want, have, "model", score_tol, array_limit=fp32_tolerance)
