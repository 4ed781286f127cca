"""Bundle writing: atomic (no half bundle on failure), manifest complete, tampering detected."""
from __future__ import annotations

import json

import pytest

from mbja_build.build import BuildOptions, build_bundle
from mbja_runtime.bundle import FORMAT_VERSION, read_manifest, sha256_file
from mbja_runtime.errors import BundleError


@pytest.fixture
def onnx_bundle(tiny_bundle):
    """The shared tiny ONNX bundle (conftest); tests here copy it before changing anything."""
    return tiny_bundle


def test_manifest_lists_every_file_with_sha256(onnx_bundle):
    manifest = json.loads((onnx_bundle / "manifest.json").read_text())
    on_disk = {p.relative_to(onnx_bundle).as_posix() for p in onnx_bundle.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"manifest.json"}
    for name, meta in manifest["files"].items():
        assert meta["sha256"] == sha256_file(onnx_bundle / name)
        assert meta["size"] == (onnx_bundle / name).stat().st_size
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["task"] == "token-classification"
    assert manifest["buckets"] == [32, 48, 64]      # the default ladder capped at max_length 64
    assert json.loads((onnx_bundle / "labels.json").read_text())["0"] == "LABEL_0"
    tok = json.loads((onnx_bundle / "tokenizer.json").read_text())
    assert (tok["word_tokenizer"], tok["dictionary"], tok["do_lower_case"]) == ("mecab", "unidic-lite", False)


def test_tampered_missing_and_foreign_bundles_are_refused(onnx_bundle, tmp_path):
    import shutil

    b = tmp_path / "copy"
    shutil.copytree(onnx_bundle, b)
    read_manifest(b)
    data = bytearray((b / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0x01
    (b / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.onnx.*sha256"):
        read_manifest(b)
    (b / "model.onnx").unlink()
    with pytest.raises(BundleError, match="missing.*model.onnx"):
        read_manifest(b)
    m = json.loads((b / "manifest.json").read_text())
    m["format_version"] = FORMAT_VERSION + 1
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="format version"):
        read_manifest(b)
    (b / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="corrupt manifest"):
        read_manifest(b)
    with pytest.raises(BundleError, match="not found"):
        read_manifest(tmp_path / "nowhere")


def test_failed_build_leaves_no_half_bundle_and_keeps_the_old_one(onnx_bundle, tmp_path, tiny_checkpoint,
                                                                  monkeypatch):
    import shutil

    from mbja_build.convert import tflite_export

    def boom(*a, **k):
        raise RuntimeError("converter exploded")

    monkeypatch.setattr(tflite_export, "export_tflite", boom)
    ckpt = str(tiny_checkpoint("mobilebert", "token-classification"))
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        build_bundle(BuildOptions(model=ckpt, target="all", max_length=64, out=fresh))
    assert not fresh.exists()
    assert list(tmp_path.iterdir()) == []  # no staging directory left behind

    existing = tmp_path / "existing"
    shutil.copytree(onnx_bundle, existing)
    before = (existing / "manifest.json").read_bytes()
    with pytest.raises(RuntimeError):
        build_bundle(BuildOptions(model=ckpt, target="all", max_length=64, out=existing))
    assert (existing / "manifest.json").read_bytes() == before
    read_manifest(existing)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]


def test_every_runtime_knows_exactly_the_toolchains_tasks():
    """Task names live in the toolchain's registry, the Python runtime's pipelines, mbja-run's
    commands and the Kotlin SDK's Task enum: a task added to one and not the others fails here."""
    import re
    from pathlib import Path

    from mbja_build.tasks import TASKS
    from mbja_runtime.cli import TASK_COMMANDS
    from mbja_runtime.pipelines import PIPELINES

    kotlin = (Path(__file__).resolve().parent.parent / "android-demo/sdk/src/main/kotlin/io/mbja/Task.kt").read_text()
    kotlin_ids = set(re.findall(r'^\s+[A-Z_]+\("([a-z-]+)"\)', kotlin, re.M))
    assert set(TASKS) == set(PIPELINES) == {c.task for c in TASK_COMMANDS.values()} == kotlin_ids
