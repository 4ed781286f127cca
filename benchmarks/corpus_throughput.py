"""Texts per second of a corpus job (``mbja-run TASK --input ... --output ...``, i.e.
``mbja_runtime.corpus.run_job``) on the demo and the full-size MobileBERT shape: one text at a
time (what ``m(texts)`` and ``mbja-run`` did before batching) against ``--batch-size 32``,
``--workers 2`` and both, for the ONNX fp32 and int8 bundles.

    python benchmarks/corpus_throughput.py [--shapes demo,mobilebert-full] [--work DIR] [--out DIR]

Every variant runs the whole job as the CLI does (open the bundle, spawn the workers, read the
file, write and commit the JSONL), so start-up costs count; they alternate round after round in
this one process and each reports its best round (shared machines: slow rounds measure the
neighbours). Corpus: ner.json's sentences (demo: all 5,343 twice; full-size: the first 1,200,
~10 ms each). The full-size shape has random weights (timing only; see mbja_build.bench.shapes).
int8 runs one text per model call even with --batch-size (its per-tensor activation scale would
span the batch, see mbja_runtime.backends), so for int8 the gain has to come from workers.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

VARIANTS = {                                   # name -> Job options
    "one at a time": {},
    "batch 32": {"batch_size": 32},
    "2 workers": {"workers": 2},
    "2 workers, batch 32": {"workers": 2, "batch_size": 32},
}


def build_bundles(shape: str, work: Path) -> dict[str, Path]:
    from mbja_build.bench.shapes import random_checkpoint
    from mbja_build.build import BuildOptions, build_bundle

    model = None if shape == "demo" else str(random_checkpoint(shape, work / f"{shape}-checkpoint"))
    out = {}
    for precision, quantize in (("fp32", None), ("int8", "dynamic-int8")):
        dest = work / f"{shape}-{precision}"
        if not (dest / "manifest.json").is_file():
            opts = dict(target="onnx", out=dest, verify=False)
            if model:
                opts["model"] = model
            if quantize:
                opts["quantize"] = quantize
            build_bundle(BuildOptions(**opts))
        out[precision] = dest
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", default="demo,mobilebert-full")
    ap.add_argument("--work", type=Path, help="where bundles are built / reused (default: a temporary dir)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/corpus-throughput"))
    args = ap.parse_args()

    from mbja_build.demo.data import load_ner
    from mbja_runtime import cpu
    from mbja_runtime.corpus import Job, run_job

    work = args.work or Path(tempfile.mkdtemp(prefix="mbja-corpus-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    sentences = [r["text"] for r in load_ner()]
    rows = []
    for shape in args.shapes.split(","):
        bundles = build_bundles(shape, work)
        texts = sentences * 2 if shape == "demo" else sentences[:1200]
        src = work / f"{shape}-corpus.txt"
        src.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
        for precision, bundle in bundles.items():
            best = {}
            for _ in range(args.rounds):
                for name, kw in VARIANTS.items():
                    out = work / "out.jsonl"
                    job = Job(bundle=bundle, task="token-classification", input=str(src), output=out,
                              backend="onnx", overwrite=True, progress=False, **kw)
                    t0 = time.perf_counter()
                    summary = run_job(job)
                    seconds = time.perf_counter() - t0
                    assert summary.records == len(texts) and summary.errors == 0
                    best[name] = min(best.get(name, float("inf")), seconds)
                    print(f"{shape} {precision} {name}: {len(texts) / seconds:.0f} texts/s", file=sys.stderr)
            base = len(texts) / best["one at a time"]
            for name, seconds in best.items():
                rate = len(texts) / seconds
                rows.append({"shape": shape, "precision": precision, "variant": name, "texts": len(texts),
                             "seconds": round(seconds, 3), "texts_per_s": round(rate, 1),
                             "x_one_at_a_time": round(rate / base, 2)})
    report = {"cpu": cpu.describe(), "cores": os.cpu_count(), "rounds": args.rounds, "rows": rows,
              "command": "python benchmarks/corpus_throughput.py " + " ".join(sys.argv[1:])}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [f"CPU: {report['cpu']}, {report['cores']} cores; ONNX Runtime, default threads per process "
             f"(workers: cores / workers each); best of {args.rounds} rounds, start-up included.", "",
             "| shape | model | variant | texts | texts/s | x one at a time |", "| --- | --- | --- | ---: | ---: | ---: |"]
    lines += [f"| {r['shape']} | {r['precision']} | {r['variant']} | {r['texts']} | {r['texts_per_s']:.0f} | "
              f"{r['x_one_at_a_time']:.2f} |" for r in rows]
    (args.out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
