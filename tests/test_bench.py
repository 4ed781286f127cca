"""`mbja-build bench`: it runs, its numbers are consistent with each other and with the files, and
its F1 equals an independent computation. Never speed: timings on a shared CI box mean nothing.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mbja_build.bench.report import add_ratios, markdown, targets
from mbja_build.bench.variants import VARIANTS
from mbja_build.cli import main

LIMIT = 20


def _bench(out: Path, *args: str) -> Path:
    rc = main(["bench", "--limit", str(LIMIT), "--warmup", "2", "--chunk", "7", "--out", str(out), *args])
    assert rc == 0
    return out


def _load(out: Path) -> tuple[dict, dict]:
    result = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    latencies = json.loads((out / "latencies.json").read_text(encoding="utf-8"))
    return result, latencies


def check_consistent(out: Path, variants: list[str]) -> dict:
    """Everything a reader of the table relies on, checked against the raw data and the disk."""
    result, latencies = _load(out)
    for name in ("bench.md", "bench.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = result["rows"]
    assert [r["variant"] for r in rows] == variants
    assert result["conditions"]["threads"] == 1 and result["conditions"]["sentences"] == LIMIT
    md = (out / "bench.md").read_text(encoding="utf-8")
    reference = next(r for r in rows if r["variant"] == "pytorch-fp32")
    for r in rows:
        assert "error" not in r, r
        lat = latencies[f"{r['shape']}/{r['variant']}"]
        assert r["sentences"] == len(lat) == LIMIT
        assert r["total_s"] == pytest.approx(sum(lat), abs=1e-6)
        assert 0 < min(lat) and r["p50_ms"] <= r["p90_ms"] <= max(lat) * 1e3 + 1e-6
        assert r["size_bytes"] == sum(Path(f).stat().st_size for f in r["files"]) > 0
        assert r["peak_rss_bytes"] > 10e6 and r["load_s"] > 0
        assert r["speedup_vs_pytorch"] == pytest.approx(reference["total_s"] / r["total_s"])
        assert f"| {r['variant']} | {r['size_bytes'] / 1e6:.1f} | {r['total_s']:.2f} |" in md
        if r["backend"] != "pytorch":
            manifest = json.loads((Path(r["path"]) / "manifest.json").read_text(encoding="utf-8"))
            assert [m["backend"] for m in manifest["models"]] == [r["backend"]]
            assert manifest["models"][0]["precision"] == r["precision"]
    return result


def independent_f1(records, model_dir: Path) -> dict:
    """Entity F1 from transformers' tokenizer + PyTorch, offsets by the demo's Aligner: no bench code."""
    import torch
    from transformers import AutoModelForTokenClassification

    from mbja_build.demo.align import Aligner
    from mbja_runtime.iob import decode_iob2, entity_f1

    aligner = Aligner(str(model_dir / "vocab.txt"))
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    gold, pred = [], []
    for r in records:
        ids, offsets = aligner.encode(r["text"])   # None would mean unalignable: none on the test split
        with torch.no_grad():
            best = model(input_ids=torch.tensor([ids])).logits[0].argmax(-1).tolist()
        ents = decode_iob2([model.config.id2label[b] for b in best], offsets)
        pred.append({(e["type"], e["start"], e["end"]) for e in ents})
        gold.append({(e["type"], *e["span"]) for e in r["entities"]})
    return entity_f1(gold, pred)


@pytest.mark.slow
def test_demo_bench_f1_equals_independent_computation(tmp_path, ner_records):
    from mbja_build.bench.run import test_records
    from mbja_build.demo import CHECKPOINT_DIR

    variants = ["pytorch-fp32", "onnx-fp32"]
    result = check_consistent(_bench(tmp_path / "demo", "--variants", ",".join(variants)), variants)
    want = independent_f1(test_records(LIMIT), CHECKPOINT_DIR)
    assert want["gold"] > 0 and want["tp"] > 0          # a real, non-trivial check
    torch_row, onnx_row = result["rows"]
    assert torch_row["f1"] == want and torch_row["unaligned"] == 0
    # the bundle pipeline (device tokenizer + ONNX fp32 + runtime decoding) finds the same entities
    assert onnx_row["f1"] == want
    assert torch_row["weights"] == "trained"


@pytest.mark.slow
def test_bench_every_variant_on_a_tiny_model(tmp_path, tiny_checkpoint):
    ckpt = tiny_checkpoint("mobilebert", "token-classification")
    # the tiny model has 128 positions: the bench drops the 256 bucket. One signature left: each
    # TFLite variant converts once, not five times (this test builds every variant), and the int8
    # repair's ranking runs on a lone signature, which litert-torch names differently (it failed so)
    result = check_consistent(_bench(tmp_path / "tiny", "--model", str(ckpt), "--buckets", "64,256"), list(VARIANTS))
    for r in result["rows"]:
        if r["backend"] == "tflite":
            manifest = json.loads((Path(r["path"]) / "manifest.json").read_text(encoding="utf-8"))
            assert [s["length"] for s in manifest["models"][0]["signatures"]] == [64], manifest["models"][0]
    assert all("f1" in r for r in result["rows"])          # --model is taken as trained: F1 is computed
    precisions = {r["variant"]: r["precision"] for r in result["rows"]}
    assert precisions["tflite-fp16"] == "fp16" and precisions["onnx-int8"] == "dynamic-int8"


def test_failed_build_is_a_row_not_a_crash(tmp_path, tiny_checkpoint, monkeypatch):
    from mbja_build.bench import run as run_mod

    def boom(*args, **kwargs):
        raise RuntimeError("converter exploded\nsecond line")

    monkeypatch.setattr(run_mod, "build_variant", boom)
    out = _bench(tmp_path / "err", "--model", str(tiny_checkpoint("mobilebert", "token-classification")),
                 "--variants", "pytorch-fp32,tflite-int8")
    result, _ = _load(out)
    ok, failed = result["rows"]
    assert "error" not in ok and ok["sentences"] == LIMIT
    assert failed["error"] == "build failed: RuntimeError: converter exploded"
    assert "converter exploded" in (out / "bench.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("args", [["--shapes", "gpt"], ["--variants", "onnx-int4"], ["--threads", "0"]])
def test_usage_errors_exit_2(tmp_path, args, capsys):
    assert main(["bench", "--out", str(tmp_path), *args]) == 2
    assert "error" in capsys.readouterr().err


def test_variants_per_shape():
    from mbja_build.bench.variants import parse_variants
    from mbja_build.errors import UsageError

    got = parse_variants("onnx-int8,bert-base/pytorch-fp32,demo/all", ["demo", "mobilebert-full", "bert-base"])
    assert [(s, v.name) for s, v in got] == [("demo", n) for n in VARIANTS] + [
        ("mobilebert-full", "onnx-int8"), ("bert-base", "pytorch-fp32"), ("bert-base", "onnx-int8")]
    with pytest.raises(UsageError):
        parse_variants("mobilebert-full/onnx-int8", ["demo"])


def test_full_size_shapes_are_the_real_ones(tmp_path):
    import transformers

    from mbja_build.bench.shapes import BERT_BASE, FULL_VOCAB_SIZE, MOBILEBERT_FULL, write_padded_vocab
    from mbja_build.demo import CHECKPOINT_DIR

    # transformers' MobileBertConfig defaults are google/mobilebert-uncased's
    defaults = transformers.MobileBertConfig().to_dict()
    assert {k: defaults[k] for k in MOBILEBERT_FULL} == MOBILEBERT_FULL
    assert (MOBILEBERT_FULL["num_hidden_layers"], MOBILEBERT_FULL["hidden_size"], MOBILEBERT_FULL["embedding_size"]) == (24, 512, 128)
    assert (BERT_BASE["num_hidden_layers"], BERT_BASE["hidden_size"]) == (12, 768)
    write_padded_vocab(tmp_path / "vocab.txt", FULL_VOCAB_SIZE)
    vocab = (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()
    demo = (CHECKPOINT_DIR / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(vocab) == 32768 and vocab[: len(demo)] == demo and len(set(vocab)) == len(vocab)


def _row(shape, variant, total, family="mobilebert", full=True, f1=None):
    r = {"shape": shape, "model": shape, "variant": variant, "backend": variant.split("-")[0], "total_s": total,
         "family": family, "full_size": full, "precision": variant.split("-")[1]}
    if f1 is not None:
        r["f1"] = {"f1": f1}
    return r


def test_ratios_and_targets_come_from_the_rows():
    rows = [_row("mobilebert-full", "pytorch-fp32", 100.0), _row("mobilebert-full", "onnx-int8", 20.0),
            _row("mobilebert-full", "tflite-int8", 40.0), _row("bert-base", "pytorch-fp32", 180.0, "bert"),
            _row("demo", "onnx-fp32", 10.0, full=False, f1=0.30), _row("demo", "onnx-int8", 9.0, full=False, f1=0.296),
            {"shape": "demo", "model": "demo", "variant": "tflite-fp16", "backend": "tflite", "family": "mobilebert",
             "full_size": False, "error": "build failed: X"}]
    add_ratios(rows)
    assert rows[1]["speedup_vs_pytorch"] == 5.0 and rows[1]["speedup_vs_bert_base"] == 9.0
    assert "speedup_vs_bert_base" not in rows[3] and "speedup_vs_pytorch" not in rows[4]
    got = targets(rows)
    assert len(got) == 3        # the demo has no PyTorch row here, so no speed target for it
    speed = next(t for t in got if "MobileBERT" in t["target"])
    assert speed["shape"] == "mobilebert-full" and speed["variant"] == "onnx-int8" and speed["met"]
    bert = next(t for t in got if "BERT-base" in t["target"])
    assert bert["met"] and bert["value"] == 9.0
    f1 = next(t for t in got if "F1" in t["target"])
    assert f1["value"] == pytest.approx(-0.4) and f1["met"]
    md = markdown({"conditions": {"sentences": 1, "split": "x", "threads": 1, "cpu": "c", "cpu_count": 2, "date": "d",
                                  "command": "cmd", "warmup": 0, "chunk": 1, "buckets": "32", "loadavg_start": [],
                                  "loadavg_end": [], "versions": {}}, "rows": [], "targets": got})
    assert "| best bundle >= 8x BERT-base PyTorch fp32 | mobilebert-full | 9.00x | onnx-int8 | yes |" in md


def test_pytorch_row_tokenizes_like_transformers(test_sentences, reference_tokenizer):
    """The PyTorch row's own word/WordPiece walk (needed for offsets) gives tokenizer(text)'s ids."""
    from mbja_build.bench.worker import TorchNER
    from mbja_build.demo import CHECKPOINT_DIR

    ner = TorchNER(str(CHECKPOINT_DIR), threads=1)
    for text in test_sentences:
        ids, offsets = ner.encode(text)
        assert ids == reference_tokenizer(text)["input_ids"]
        assert offsets is not None and len(offsets) == len(ids)
        assert all(text[s:e].strip() for s, e in offsets[1:-1])


@pytest.mark.slow
def test_compute_limit_section(tmp_path, tiny_checkpoint):
    """--compute-limit times each TFLite int8 bundle's signature against its MAC count."""
    from mbja_build.bench.compute_limit import count_macs

    out = _bench(tmp_path / "limit", "--model", str(tiny_checkpoint("mobilebert", "token-classification")),
                 "--variants", "pytorch-fp32,onnx-int8,tflite-fp32,tflite-int8", "--buckets", "32,64",
                 "--compute-limit", "64", "--compute-rounds", "2")
    result, _ = _load(out)
    (entry,) = result["compute_limit"]            # int8 TFLite only
    row = next(r for r in result["rows"] if r["variant"] == "tflite-int8")
    assert entry["variant"] == "tflite-int8" and entry["signature"] == "seq_64"
    assert entry["gmac"] * 1e9 == pytest.approx(count_macs(Path(row["files"][0]), "seq_64").total)
    assert entry["x_cpu"] == pytest.approx(entry["model_ms"] / entry["cpu_limit_ms"])
    assert entry["cpu_gmacs"] == max(entry["engine_gmacs"].values()) and entry["nominal_gmacs"] is None
    target = next(t for t in result["targets"] if "CPU's limit" in t["target"])
    assert target["value"] == entry["x_cpu"] and target["met"] == (entry["x_cpu"] <= 1.2)
    assert entry["cpu_engine"] in target["target"] and f"{entry['cpu_gmacs']:.0f} GMAC/s" in target["target"]
    md = (out / "bench.md").read_text(encoding="utf-8")
    assert f"| tflite-int8 | 64 | {entry['gmac']:.3f} | {entry['model_ms']:.2f} |" in md


def test_compute_limit_needs_a_bucket(tmp_path, capsys):
    assert main(["bench", "--out", str(tmp_path), "--buckets", "32,64", "--compute-limit", "128"]) == 2
    assert "--compute-limit 128 must be one of the TFLite --buckets" in capsys.readouterr().err


def test_random_shapes_have_trained_looking_norms(tiny_checkpoint):
    """Identity norms would be deleted by converters (and not by PyTorch): timings would flatter bundles."""
    import torch
    from transformers import AutoModelForTokenClassification

    from mbja_build.bench.shapes import perturb_norms

    model = AutoModelForTokenClassification.from_pretrained(tiny_checkpoint("mobilebert", "token-classification"))
    norms = [m for m in model.modules() if type(m).__name__ == "NoNorm"]
    with torch.no_grad():
        for m in norms:
            m.weight.fill_(1.0), m.bias.zero_()
    perturb_norms(model)
    assert norms and all((m.weight != 1).all() and (m.bias != 0).all() for m in norms)
    assert all(0.5 < m.weight.mean() < 1.5 for m in norms)
