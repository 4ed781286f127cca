"""What the TFLite padding buckets cost and buy: padded work, model size and end-to-end NER latency
of the same int8 bundle built with two bucket ladders (default: the old 32,64,128,256 against the
build's current default, both up to 256 as in ``mbja-build bench``).

    python benchmarks/bucket_ladder.py [--shapes demo,mobilebert-full] [--ladders A;B] [--work DIR] [--out DIR]

TFLite needs static shapes, so the runtime pads every text to the smallest bucket that fits and
the padding is computed like real tokens; ONNX runs the true length and is not measured here.
More buckets waste less but cost size: each signature repeats the model's per-channel scales and
zero points (LiteRT wants as many zero points as scales). Padded work: mean padded length over the
NER test split (its 2,140 sentences tokenized by the bundle) against their mean true length.
Latency: ``mbja_runtime.load(bundle, backend="tflite", num_threads=1)(text)`` on every test
sentence, the bundles taking turns on chunks of 20 (shared machines: noise hits both alike);
compare the ratio, not the milliseconds. The full-size shape has random weights (timing only).
Under ``python benchmarks/avx2_only/run.py -- python benchmarks/bucket_ladder.py ...`` it measures
the engines' AVX2 code paths.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def default_ladders() -> str:
    from mbja_build.bench.run import DEFAULT_BUCKETS

    return "32,64,128,256;" + DEFAULT_BUCKETS


def build(shape: str, buckets: str, work: Path) -> Path:
    """The bench's own tflite-int8 bundle of the shape with these buckets (kept if already built)."""
    from mbja_build.bench.shapes import random_checkpoint
    from mbja_build.bench.variants import VARIANTS, build_variant
    from mbja_build.demo import CHECKPOINT_DIR

    checkpoint = CHECKPOINT_DIR if shape == "demo" else random_checkpoint(shape, work / f"{shape}-checkpoint")
    dest = work / f"{shape}-tflite-int8-{buckets.replace(',', '-')}"
    return build_variant(VARIANTS["tflite-int8"], checkpoint, dest, buckets, reuse=True)


def padded_work(lengths: np.ndarray, buckets: list[int]) -> float:
    """Mean length the model computes, each text padded to the smallest bucket that holds it."""
    edges = np.asarray(sorted(buckets))
    return float(edges[np.searchsorted(edges, lengths)].mean())


def time_interleaved(bundles: list[Path], texts: list[str]) -> tuple[list[list[float]], int]:
    import mbja_runtime

    models = [mbja_runtime.load(b, backend="tflite", num_threads=1) for b in bundles]
    for m in models:
        for t in texts[:5]:
            m(t)
    seconds: list[list[float]] = [[] for _ in bundles]
    same = 0
    for i in range(0, len(texts), 20):
        chunk = texts[i:i + 20]
        outs = []
        for m, lat in zip(models, seconds):
            out = []
            for t in chunk:
                t0 = time.perf_counter()
                out.append(m(t))
                lat.append(time.perf_counter() - t0)
            outs.append(out)
        same += sum(str(a) == str(b) for a, b in zip(outs[0], outs[-1]))
    return seconds, same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", default="demo,mobilebert-full")
    ap.add_argument("--ladders", help="two comma lists separated by ';' (default: old;current)")
    ap.add_argument("--work", type=Path, help="where bundles are built / reused (default: a temporary dir)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/buckets"))
    args = ap.parse_args()

    from mbja_build.demo.data import load_ner, split
    from mbja_runtime import cpu
    from mbja_runtime.tokenize import tokenize_texts

    ladders = (args.ladders or default_ladders()).split(";")
    if len(ladders) != 2:
        ap.error("--ladders takes exactly two comma lists separated by ';'")
    work = args.work or Path(tempfile.mkdtemp(prefix="mbja-bucket-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    texts = [r["text"] for r in split(load_ner())[1]]
    rows = []
    for shape in args.shapes.split(","):
        bundles = [build(shape, ladder, work) for ladder in ladders]
        lengths = np.array([len(e.input_ids) for e in tokenize_texts(bundles[0], texts)])
        seconds, same = time_interleaved(bundles, texts)
        base = sum(seconds[0])
        for ladder, bundle, lat in zip(ladders, bundles, seconds):
            manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
            size = sum(p.stat().st_size for p in bundle.glob("*.tflite"))
            padded = padded_work(lengths, manifest["buckets"])
            rows.append({"shape": shape, "buckets": manifest["buckets"], "size_mb": round(size / 1e6, 1),
                         "mean_tokens": round(float(lengths.mean()), 1), "mean_padded": round(padded, 1),
                         "padding_share": round(1 - float(lengths.mean()) / padded, 3),
                         "total_s": round(sum(lat), 2), "p50_ms": round(float(np.median(lat)) * 1e3, 2),
                         "x_first": round(base / sum(lat), 3)})
            print(f"{shape} {ladder}: {rows[-1]}", file=sys.stderr)
        rows[-1]["same_entities_as_first"] = f"{same}/{len(texts)}"
    report = {"cpu": cpu.describe(), "cores": os.cpu_count(), "sentences": len(texts), "rows": rows,
              "command": "python benchmarks/bucket_ladder.py " + " ".join(sys.argv[1:])}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [f"CPU: {report['cpu']}, {report['cores']} cores; TFLite dynamic int8, 1 thread, NER test split "
             f"(n={len(texts)}), one sentence at a time, bundles interleaved in chunks of 20; "
             f"`{report['command']}`.", "",
             "| shape | buckets | .tflite MB | mean tokens | mean padded | padding | total s | p50 ms | x first "
             "| same entities as first |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['shape']} | {','.join(map(str, r['buckets']))} | {r['size_mb']} | {r['mean_tokens']} | "
              f"{r['mean_padded']} | {r['padding_share']:.0%} | {r['total_s']} | {r['p50_ms']} | {r['x_first']:.2f} | "
              f"{r.get('same_entities_as_first', '–')} |" for r in rows]
    (args.out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
