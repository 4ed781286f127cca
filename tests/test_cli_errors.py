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
    (["--target", "coreml"], "Invalid value for '--target': 'coreml' is not one of 'onnx', 'tflite', 'all'"),
    (["--quantize", "int4"], "Invalid value for '--quantize'"),
    (["--task", "translation"], "Invalid value for '--task'"),
    (["build", "--target", "coreml"], "Invalid value for '--target'"),
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


def test_lower_casing_checkpoint_is_refused_before_any_conversion(tmp_path, out):
    """The runtimes cannot lower-case; a build used to convert for a minute and then fail in verify
    (or, with --no-verify, write a bundle no runtime loads). Now it stops at the checkpoint."""
    d = tmp_path / "ckpt"
    d.mkdir()
    for f in CHECKPOINT_DIR.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((d / "tokenizer_config.json").read_text(encoding="utf-8"))
    (d / "tokenizer_config.json").write_text(json.dumps({**cfg, "do_lower_case": True}))
    proc = run_cli("--model", str(d), "--no-verify", "--out", out)
    assert_one_line_error(proc, 2, "do_lower_case: true")
    steps = [l for l in proc.stderr.splitlines() if l.startswith("mbja-build: [")]
    assert len(steps) == 1 and "loading checkpoint" in steps[0], proc.stderr      # nothing converted
    assert not os.path.exists(out)


def test_build_options_only_where_they_apply(out):
    """`mbja-build --target onnx verify` used to ignore --target silently; now it says where it goes."""
    assert_one_line_error(run_cli("--target", "onnx", "--quantize", "fp16", "verify", "--bundle", out), 2,
                          "--target, --quantize belong(s) to the build, not to `mbja-build verify`")
    assert_one_line_error(run_cli("--target", "onnx", "build", "--out", out), 2, "put --target after `build`")


def test_runtime_only_install_says_what_is_missing():
    """Without the build extra (torch blocked here as if not installed) the script says so in one line."""
    code = ("import sys; sys.modules['torch'] = None; from mbja_build.__main__ import main; "
            "sys.exit(main(['--help']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert_one_line_error(proc, 2, "runtime only (torch not installed)", "pip install 'mobilebert-ja-sdk[build]'")


def test_version():
    from importlib.metadata import version

    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"mbja-build {version('mobilebert-ja-sdk')}"


def test_help_teaches():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for word in ("--model", "--quantize", "--buckets", "demo", "Examples", "build", "verify", "bench", "--version"):
        assert word in proc.stdout


def test_outlier_twin_of_a_non_mobilebert_is_a_usage_error(tmp_path, tiny_checkpoint):
    proc = run_cli("outlier-twin", "--model", str(tiny_checkpoint("bert", "token-classification")),
                   "--out", str(tmp_path / "twin"))
    assert_one_line_error(proc, 2, "MobileBERT")
    assert not (tmp_path / "twin").exists()


@pytest.mark.parametrize("trained,asked,missing", [("sequence-classification", "fill-mask", "cls.predictions"),
                                                    ("token-classification", "sequence-classification", "pooler")])
def test_a_task_whose_head_the_checkpoint_lacks_is_refused(tmp_path, tiny_checkpoint, trained, asked, missing):
    """--task fill-mask on a sequence-classification checkpoint: transformers would fill the MLM head
    at random (a log line the build hides) and verify would pass, PyTorch having the same noise.
    A NER checkpoint has no pooler, which sequence classification reads (its classifier loads)."""
    proc = run_cli("--model", str(tiny_checkpoint("mobilebert", trained)), "--task", asked,
                   "--out", str(tmp_path / "b"))
    assert_one_line_error(proc, 2, missing, "at random", f"--task {trained}")
    assert not (tmp_path / "b").exists()


def test_checkpoint_labels_must_be_the_ids_0_to_n_minus_1(tmp_path, tiny_checkpoint):
    """Every runtime reads a label by its output index (and now refuses other labels.json files):
    the build says so about the checkpoint instead of writing a bundle no runtime opens."""
    import shutil

    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint("mobilebert", "token-classification"), ckpt)
    config = json.loads((ckpt / "config.json").read_text())
    config["id2label"] = {str(2 * i): v for i, v in enumerate(config["id2label"].values())}
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    (ckpt / "config.json").write_text(json.dumps(config))
    assert_one_line_error(run_cli("--model", str(ckpt), "--out", str(tmp_path / "b")), 2, "id2label", "0..n-1")
