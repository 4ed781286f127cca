"""The runtime as users meet it: `mbja_runtime.load(...)`, `mbja-run tokenize`, and no torch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

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
    (tmp_path / "empty" / "manifest.json").write_text("{}")
    with pytest.raises(BundleError, match="manifest.json is a file, not a bundle directory"):   # was "not found"
        mbja_runtime.load(tmp_path / "empty" / "manifest.json")


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
    assert "input_ids" in lines[0] and "input_ids" in lines[2]
    assert lines[1] == {"error": "line 2 is not valid UTF-8 (byte 0xff at 0)"}    # not "a lone surrogate"
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
    assert any(line["entities"] for line in lines), "no entity found: the comparison checked nothing"
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


def _slowed(cls, monkeypatch, seconds=0.02):
    run = cls.run

    def slow(self, *args, **kwargs):
        time.sleep(seconds)
        return run(self, *args, **kwargs)

    monkeypatch.setattr(cls, "run", slow)


@pytest.mark.parametrize("slow", ["onnx", "tflite"])
def test_auto_backend_keeps_the_fastest_model(tiny_task_bundle, monkeypatch, slow):
    """backend="auto" times every model at load: whichever is made 20 ms slower loses."""
    from mbja_runtime.backends import BACKENDS

    _slowed(BACKENDS[slow], monkeypatch)
    m = mbja_runtime.load(tiny_task_bundle("token-classification"), backend="auto", num_threads=1)
    choice = m.backend_choice
    other = {"onnx": "tflite", "tflite": "onnx"}[slow]
    assert choice["backend"] == m.backend.name == other
    assert choice["ms"][slow] > 20 > choice["ms"][other] and "fastest at load" in choice["reason"]
    assert isinstance(choice["cpu_features"], list)
    assert m("東京都に住む山田太郎です。") == mbja_runtime.load(tiny_task_bundle("token-classification"),
                                                         backend=other)("東京都に住む山田太郎です。")


def test_auto_backend_skips_a_model_that_cannot_open(tiny_task_bundle, monkeypatch):
    from mbja_runtime.backends import TFLiteBackend

    def broken(self, *args, **kwargs):
        raise ImportError("No module named 'ai_edge_litert'")

    monkeypatch.setattr(TFLiteBackend, "__init__", broken)
    m = mbja_runtime.load(tiny_task_bundle("token-classification"), backend="auto")
    assert m.backend_choice["backend"] == "onnx" and "ai_edge_litert" in m.backend_choice["failed"]["tflite"]
    assert "could not open tflite" in m.backend_choice["reason"]
    with pytest.raises(mbja_runtime.BundleError, match="tflite model .* cannot run here: No module named"):
        mbja_runtime.load(tiny_task_bundle("token-classification"), backend="tflite")


def test_backend_from_the_environment(tiny_task_bundle, monkeypatch):
    bundle = tiny_task_bundle("token-classification")
    monkeypatch.setenv("MBJA_BACKEND", "tflite")
    m = mbja_runtime.load(bundle)
    assert m.backend.name == "tflite" and "$MBJA_BACKEND" in m.backend_choice["reason"]
    assert mbja_runtime.load(bundle, backend="onnx").backend.name == "onnx"        # the argument wins
    monkeypatch.setenv("MBJA_BACKEND", "cuda")
    with pytest.raises(mbja_runtime.MbjaError, match=r"'cuda' \(\$MBJA_BACKEND\)"):
        mbja_runtime.load(bundle)


def test_mbja_run_backend_reports_the_choice(tiny_task_bundle):
    bundle = tiny_task_bundle("token-classification")
    proc = run_cli("backend", "--bundle", bundle, "--backend", "auto", "--threads", "1")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    report = json.loads(proc.stdout)
    assert report["backend"] in ("onnx", "tflite") and set(report["ms"]) == {"onnx", "tflite"}
    assert report["backend"] == min(report["ms"], key=report["ms"].get) and report["models"] == ["onnx", "tflite"]
    proc = run_cli("backend", "--bundle", bundle)                    # the tests' MBJA_BACKEND=first
    assert json.loads(proc.stdout)["backend"] == "onnx" and proc.returncode == 0


@pytest.mark.parametrize("backend", ["tflite", "onnx"])
def test_one_pipeline_serves_many_threads(tiny_task_bundle, test_sentences, backend):
    """One opened NER pipeline called from 4 threads returns exactly the sequential results (an
    unguarded LiteRT interpreter returned wrong ones for 104 of 200 sentences, silently)."""
    from concurrent.futures import ThreadPoolExecutor

    m = mbja_runtime.load(tiny_task_bundle("token-classification"), backend=backend)
    want = [m.logits(t) for t in test_sentences]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(m.logits, test_sentences))
    assert len(got) == len(want) == 200
    assert all(np.array_equal(a, b) for a, b in zip(want, got))
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(m, test_sentences[:50])) == [m(t) for t in test_sentences[:50]]


def test_mbja_run_version():
    from importlib.metadata import version

    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.decode().strip() == f"mbja-run {version('mobilebert-ja-sdk')}"


def _module_graph(package_dir, package: str) -> dict[str, set[str]]:
    """Every import inside every module of ``package`` (module level or in functions: a cycle
    dodged by a function-level import is still a cycle), as edges between its modules."""
    import ast
    from pathlib import Path

    root = Path(package_dir)
    modules = {}
    for f in root.rglob("*.py"):
        parts = list(f.relative_to(root).with_suffix("").parts)
        is_init = parts[-1] == "__init__"
        name = ".".join([package, *(parts[:-1] if is_init else parts)])
        modules[name] = (f, is_init)

    def resolve(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, (f, is_init) in modules.items():
        here = name if is_init else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[:len(here.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                if not base.startswith(package):
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    package_dir = root.joinpath(*full.split(".")[1:-1])
                    if full not in modules and (package_dir / f"{alias.name}.c").is_file():
                        continue                                     # a C extension: no imports of ours
                    edges.add(resolve(full) if full in modules else resolve(base))
            elif isinstance(node, ast.Import):
                edges |= {resolve(a.name) for a in node.names if a.name.startswith(package)}
        graph[name] = {e for e in edges if e and e != name}
    return graph


def test_runtime_has_no_import_cycle():
    """pipelines used to subclass api.Bundle while api.load imported pipelines inside a function."""
    from pathlib import Path

    graph = _module_graph(Path(mbja_runtime.__file__).parent, "mbja_runtime")
    assert "mbja_runtime.opened" in graph["mbja_runtime.pipelines.base"]          # composition, checked
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_pipeline_releases_its_model(tiny_task_bundle):
    bundle = tiny_task_bundle("token-classification")
    with mbja_runtime.load(bundle, backend="tflite") as m:
        before = m.logits("東京都に住む")
        backend = m.backend
    assert not hasattr(backend, "interpreter")                        # closed on leaving the block
    assert np.array_equal(m.logits("東京都に住む"), before)             # a later call opens it again
    with mbja_runtime.Bundle(bundle, backend="onnx") as b:
        assert b.backend.name == "onnx" and b.task == "token-classification"
