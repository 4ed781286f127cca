"""The runtime as users meet it: `mbja_runtime.load(...)`, `mbja-run tokenize`, and no torch."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mbja_runtime
from mbja_runtime.errors import BundleError


def test_runtime_never_imports_torch_transformers_or_tensorflow(tiny_task_bundle):
    tiny_bundle = tiny_task_bundle("token-classification")   # ONNX and TFLite: both backends run below
    code = f"""
import sys, mbja_runtime
m = mbja_runtime.load({str(tiny_bundle)!r})
m.tokenizer.encode("東京都千代田区に本社を置く。")
m.logits("東京都千代田区に本社を置く。")
m(["東京都千代田区に本社を置く。", "x" * 5000], aggregation="first")
mbja_runtime.load({str(tiny_bundle)!r}, backend="tflite")("東京")
heavy = sorted(k for k in sys.modules if k.split(".")[0] in ("torch", "transformers", "tensorflow", "fugashi"))
print(",".join(heavy))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == ""


def test_load_tokenizer_and_logits_match_reference(tiny_bundle, reference_tokenizer, test_sentences):
    import torch
    from transformers import AutoModelForTokenClassification

    m = mbja_runtime.load(tiny_bundle)
    src = json.loads((tiny_bundle / "manifest.json").read_text())["source"]["model"]
    model = AutoModelForTokenClassification.from_pretrained(src).eval()
    long = [t for t in test_sentences[:40] if len(reference_tokenizer(t)["input_ids"]) > 64]
    assert long and m.logits(long[0]).shape[0] == len(reference_tokenizer(long[0])["input_ids"]), \
        "token-classification logits cover every token of a long text (windows), not a cut"
    for text in [t for t in test_sentences[:40] if t not in long][:20]:
        enc = m.tokenizer.encode(text, max_length=64)
        ref = reference_tokenizer(text, truncation=True, max_length=64)
        assert list(enc.input_ids) == ref["input_ids"]
        with torch.no_grad():
            want = model(input_ids=torch.tensor([ref["input_ids"]])).logits[0].numpy()
        got = m.logits(text)
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-4


def test_load_refuses_bad_bundles(tmp_path):
    with pytest.raises(BundleError, match="not found"):
        mbja_runtime.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="manifest.json is missing"):
        mbja_runtime.load(tmp_path / "empty")


def run_tokenize(bundle, stdin: bytes, *extra):
    env = {k: v for k, v in os.environ.items() if k != "MBJA_DEBUG"}
    return subprocess.run([sys.executable, "-m", "mbja_runtime", "tokenize", "--bundle", str(bundle), *extra],
                          input=stdin, capture_output=True, env=env, timeout=300)


def test_mbja_run_tokenize_jsonl(tiny_bundle, reference_tokenizer, test_sentences):
    texts = test_sentences[:30] + ["", "ＡＢＣ１２３ と ｶﾀｶﾅ", "東京[MASK]都"]
    proc = run_tokenize(tiny_bundle, ("\n".join(texts) + "\n").encode("utf-8"))
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    lines = proc.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(texts)
    for text, line in zip(texts, lines):
        obj = json.loads(line)
        assert obj["input_ids"] == reference_tokenizer(text)["input_ids"], text
        assert len(obj["tokens"]) == len(obj["offsets"]) == len(obj["input_ids"])
        for tok, off in zip(obj["tokens"], obj["offsets"]):
            if off is not None and tok not in ("[UNK]",):
                assert tok.removeprefix("##") in __import__("unicodedata").normalize("NFKC", text[off[0]:off[1]])


def test_mbja_run_tokenize_bad_input(tiny_bundle, tmp_path):
    proc = run_tokenize(tiny_bundle, b"ok\n\xff\xfe broken utf-8\nalso ok\n")
    assert proc.returncode == 1
    lines = [json.loads(l) for l in proc.stdout.decode().splitlines()]
    assert "input_ids" in lines[0] and "error" in lines[1] and "input_ids" in lines[2]
    proc = run_tokenize(tmp_path / "nope", b"x\n")
    assert proc.returncode == 2
    assert proc.stderr.decode().count("\n") == 1 and "mbja-run: error:" in proc.stderr.decode()
    proc = run_tokenize(tiny_bundle, b"x\n", "--max-length", "1")
    assert proc.returncode == 2


def run_cli(*args, stdin: bytes = b""):
    env = {k: v for k, v in os.environ.items() if k != "MBJA_DEBUG"}
    return subprocess.run([sys.executable, "-m", "mbja_runtime", *map(str, args)], input=stdin,
                          capture_output=True, env=env, timeout=300)


def test_mbja_run_task_commands(tiny_task_bundle):
    """Each task command prints what the Python API returns, for arguments and for stdin lines."""
    ner = tiny_task_bundle("token-classification")
    m = mbja_runtime.load(ner)
    texts = ["レッドフォックス株式会社は東京都千代田区にある。", "", "ＡＢＣ１２３ と ｶﾀｶﾅ"]
    proc = run_cli("ner", "--bundle", ner, "--aggregation", "first", *texts)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    lines = [json.loads(l) for l in proc.stdout.decode("utf-8").splitlines()]
    assert [l["text"] for l in lines] == texts
    for text, line in zip(texts, lines):
        assert line["entities"] == json.loads(json.dumps(m(text, aggregation="first"), ensure_ascii=False))
    proc = run_cli("ner", "--bundle", ner, "--backend", "tflite", "--threads", "1",
                   stdin=("\n".join(texts) + "\n").encode())
    assert proc.returncode == 0 and len(proc.stdout.decode().splitlines()) == 3

    cls = tiny_task_bundle("sequence-classification")
    proc = run_cli("classify", "--bundle", cls, "--top-k", "2", stdin="東京は晴れ\n大阪は雨\n".encode())
    lines = [json.loads(l) for l in proc.stdout.decode().splitlines()]
    assert proc.returncode == 0 and [len(l["labels"]) for l in lines] == [2, 2]
    assert lines[0]["labels"] == json.loads(json.dumps(mbja_runtime.load(cls)("東京は晴れ", top_k=2)))

    mlm = tiny_task_bundle("fill-mask")
    proc = run_cli("fill-mask", "--bundle", mlm, "--top-k", "3", "東京は[MASK]です", "マスクなし")
    assert proc.returncode == 1, "a line without [MASK] is an error line, the others still print"
    ok, bad = [json.loads(l) for l in proc.stdout.decode().splitlines()]
    assert len(ok["masks"]) == 1 and len(ok["masks"][0]) == 3 and "[MASK]" in bad["error"]

    emb = tiny_task_bundle("feature-extraction")
    proc = run_cli("embed", "--bundle", emb, "--pooling", "mean", "--normalize", "東京")
    vec = np.array(json.loads(proc.stdout.decode())["embedding"])
    assert proc.returncode == 0 and abs(np.linalg.norm(vec) - 1) < 1e-5
    assert np.allclose(vec, mbja_runtime.load(emb)("東京", pooling="mean", normalize=True), atol=1e-6)


def test_mbja_run_refuses_wrong_task_and_tampered_bundles(tiny_task_bundle, tmp_path):
    import shutil

    ner = tiny_task_bundle("token-classification")
    for cmd in ("classify", "fill-mask", "embed"):
        proc = run_cli(cmd, "--bundle", ner, "東京")
        err = proc.stderr.decode()
        assert proc.returncode == 2 and err.count("\n") == 1, err
        assert "is a token-classification bundle" in err and "Traceback" not in err
    bad = tmp_path / "bad"
    shutil.copytree(ner, bad)
    with open(bad / "model.onnx", "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    proc = run_cli("ner", "--bundle", bad, "東京")
    assert proc.returncode == 2 and "sha256" in proc.stderr.decode()
    proc = run_cli("ner", "--bundle", ner, "--aggregation", "bogus", "東京")
    assert proc.returncode == 2 and b"invalid choice" in proc.stderr
