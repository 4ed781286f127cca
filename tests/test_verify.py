"""`mbja-build verify` and verification at the end of a build, as a user runs them."""
from __future__ import annotations

import json
import shutil

import pytest

import mbja_runtime
from mbja_build.build import BuildOptions, build_bundle
from mbja_build.verify import VerifyError, compare, default_texts
from mbja_runtime.bundle import read_manifest
from test_cli_errors import assert_one_line_error, run_cli


def test_default_texts_are_real_unseen_sentences(ner_records):
    from mbja_build.demo.data import split

    _, test = split(ner_records)
    texts = default_texts()
    assert len(texts) == 200 and texts == [r["text"] for r in test[:200]]


def test_verify_writes_its_report_into_the_bundle(tiny_task_bundle, tmp_path, tiny_checkpoint):
    bundle = tmp_path / "b"
    shutil.copytree(tiny_task_bundle("sequence-classification"), bundle)
    texts = tmp_path / "texts.txt"
    texts.write_text("東京は晴れ\n\n大阪は雨。\n名古屋は曇り\n", encoding="utf-8")
    proc = run_cli("verify", "--bundle", str(bundle), "--texts", str(texts))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "tokenizer: 3/3 texts with identical input_ids" in proc.stdout
    assert "onnx (fp32)" in proc.stdout and "tflite (fp32)" in proc.stdout and "FAILED" not in proc.stdout
    manifest = read_manifest(bundle)  # sha256 of the report included, the bundle still verifies
    assert manifest["verify"] == "verify.json"
    report = json.loads((bundle / "verify.json").read_text())
    assert report["passed"] and report["texts"] == 3
    for entry in report["backends"].values():
        assert entry["max_abs_diff"] <= 1e-4 and entry["label_agreement"] == 1.0
    mbja_runtime.load(bundle)


def test_verify_fails_against_another_checkpoint(tiny_task_bundle, tmp_path, tiny_checkpoint):
    """A bundle compared with weights it was not built from must fail, exit 1, one error line."""
    bundle = tmp_path / "b"
    shutil.copytree(tiny_task_bundle("token-classification"), bundle)
    other = tiny_checkpoint("bert", "token-classification")
    proc = run_cli("verify", "--bundle", str(bundle), "--model", str(other), "--backend", "onnx", "--no-write")
    assert_one_line_error(proc, 1, "verification failed")
    assert "FAILED" in proc.stdout
    assert not (bundle / "verify.json").exists()


def test_failed_verification_does_not_replace_a_good_bundle(tiny_task_bundle, tmp_path, monkeypatch):
    from mbja_build import verify

    good = tmp_path / "good"
    shutil.copytree(tiny_task_bundle("token-classification"), good)
    before = (good / "manifest.json").read_bytes()
    source = read_manifest(good)["source"]["model"]
    real = verify.compare

    def broken(*args, **kwargs):     # as if the export had drifted
        report = real(*args, **kwargs)
        for entry in report["backends"].values():
            entry["max_abs_diff"], entry["max_rel_diff"], entry["passed"] = 1.0, 1.0, False
        report["passed"] = False
        return report

    monkeypatch.setattr(verify, "compare", broken)
    with pytest.raises(VerifyError, match="does not reproduce"):
        build_bundle(BuildOptions(model=source, target="onnx", max_length=64, out=good, verify=True,
                                  verify_texts=["東京都に住んでいる。"]))
    assert (good / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good"]


def test_build_verifies_by_default(tiny_checkpoint, tmp_path):
    out = tmp_path / "v"
    texts = tmp_path / "t.txt"
    texts.write_text("東京都千代田区に本社を置く。\nトヨタ自動車は愛知県にある。\n", encoding="utf-8")
    proc = run_cli("--model", str(tiny_checkpoint("mobilebert", "token-classification")), "--target", "onnx",
                   "--max-length", "64", "--texts", str(texts), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "verified against PyTorch on 2 texts" in proc.stdout
    assert json.loads((out / "verify.json").read_text())["passed"]
    proc = run_cli("--model", str(tiny_checkpoint("mobilebert", "token-classification")), "--target", "onnx",
                   "--max-length", "64", "--no-verify", "--out", str(tmp_path / "nv"))
    assert proc.returncode == 0 and not (tmp_path / "nv" / "verify.json").exists()


def test_compare_reports_entity_agreement(tiny_task_bundle, test_sentences, tiny_checkpoint):
    report = compare(tiny_task_bundle("token-classification"),
                     str(tiny_checkpoint("mobilebert", "token-classification")), test_sentences[:20])
    for entry in report["backends"].values():
        assert entry["entity_agreement"] == 1.0 and entry["entity_sentences"] > 0
