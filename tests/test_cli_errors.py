"""Bad input to `mbja-build` gives one clear line on stderr and a non-zero exit, never a traceback.

Run through a real subprocess, as a user or a script would meet the CLI.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mbja_build.demo import CHECKPOINT_DIR


def run_cli(*args, cwd=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("MBJA_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "mbja_build", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def assert_one_line_error(proc, code, *needles):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert "Traceback" not in proc.stderr
    errors = [l for l in lines if l.startswith("mbja-build: error:")]
    assert len(errors) == 1, proc.stderr
    for n in needles:
        assert n in errors[0], errors[0]


@pytest.fixture
def out(tmp_path):
    return str(tmp_path / "bundle")


def test_missing_model_dir(tmp_path, out):
    assert_one_line_error(run_cli("--model", str(tmp_path / "nope"), "--out", out), 2, "not found")


def test_empty_model_dir(tmp_path, out):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_cli("--model", str(tmp_path / "empty"), "--out", out), 2, "empty")


def test_model_dir_without_config(tmp_path, out):
    d = tmp_path / "noconfig"
    d.mkdir()
    (d / "weights.bin").write_bytes(b"\0")
    assert_one_line_error(run_cli("--model", str(d), "--out", out), 2, "config.json")


@pytest.mark.parametrize("model_type,needle", [("gpt2", "unsupported architecture"),
                                               ("no-such-model-type", "unsupported checkpoint")])
def test_unsupported_architecture(tmp_path, out, model_type, needle):
    d = tmp_path / "ckpt"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": model_type, "architectures": ["X"]}))
    assert_one_line_error(run_cli("--model", str(d), "--out", out), 2, needle)


@pytest.mark.parametrize("args,needle", [
    (["--target", "coreml"], "unknown target"),
    (["--quantize", "int4"], "unknown quantization"),
    (["--task", "translation"], "unknown task"),
    (["--buckets", ""], "empty"),
    (["--buckets", " , "], "empty"),
    (["--buckets", "64,32"], "ascending"),
    (["--buckets", "32,abc"], "integers"),
    (["--max-length", "128", "--buckets", "32,256"], "exceeds --max-length"),
    (["--no-such-option"], "No such option"),
])
def test_bad_options(out, args, needle):
    assert_one_line_error(run_cli(*args, "--out", out), 2, needle)


def test_bucket_over_model_max_positions(out):
    # The demo has 512 positions: only known after loading the checkpoint.
    assert_one_line_error(run_cli("--buckets", "32,1024", "--out", out), 2, "1024")


def test_max_length_over_model_max_positions(out):
    assert_one_line_error(run_cli("--max-length", "4096", "--out", out), 2, "max_position_embeddings")


def test_unwritable_out(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    assert_one_line_error(run_cli("--out", str(f / "bundle")), 2, "not a directory")
    assert_one_line_error(run_cli("--out", "/proc/mbja-bundle"), 2, "cannot write")


def test_out_is_foreign_nonempty_dir(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "thesis.tex").write_text("do not delete")
    assert_one_line_error(run_cli("--out", str(d)), 2, "not a bundle")
    assert (d / "thesis.tex").read_text() == "do not delete"


def test_hub_id_while_offline(out):
    assert_one_line_error(run_cli("--model", "ysakuramoto/mobilebert-ja", "--out", out), 1,
                          "offline", "local checkpoint directory")


def test_unsupported_tokenizer(tmp_path, out):
    d = tmp_path / "ckpt"
    d.mkdir()
    for f in ("config.json", "vocab.txt"):
        (d / f).write_bytes((CHECKPOINT_DIR / f).read_bytes())
    (d / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer"}))
    assert_one_line_error(run_cli("--model", str(d), "--out", out), 2, "unsupported tokenizer")


def test_help_teaches():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for word in ("--model", "--quantize", "--buckets", "demo", "Examples"):
        assert word in proc.stdout


def test_outlier_twin_of_a_non_mobilebert_is_a_usage_error(tmp_path, tiny_checkpoint):
    proc = run_cli("outlier-twin", "--model", str(tiny_checkpoint("bert", "token-classification")),
                   "--out", str(tmp_path / "twin"))
    assert_one_line_error(proc, 2, "MobileBERT")
    assert not (tmp_path / "twin").exists()
