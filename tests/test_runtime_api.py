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


def test_runtime_never_imports_torch_transformers_or_tensorflow(tiny_bundle):
    code = f"""
import sys, mbja_runtime
m = mbja_runtime.load({str(tiny_bundle)!r})
m.tokenizer.encode("東京都千代田区に本社を置く。")
m.logits("東京都千代田区に本社を置く。")
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
    for text in test_sentences[:20]:
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
