"""The benchmark run: prepare shapes and bundles, time every variant over the same sentences, score.

Every figure of one table comes from this one run. All workers are loaded first (one after the
other, so load times don't contend), then the test sentences go out in chunks, round-robin over
the workers with a rotating start: minutes of noise from neighbours on a shared machine land on
every variant alike instead of on whichever happened to run then.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mbja_runtime import cpu

from ..build import parse_buckets
from ..errors import UsageError, describe
from . import shapes as shapes_mod
from .variants import Variant, build_variant, model_file, parse_variants

#: the build's ladder up to 256: the test split's longest sentence is 201 tokens
DEFAULT_BUCKETS = ",".join(map(str, parse_buckets(None, 256)))


@dataclass
class BenchOptions:
    model: str | None = None
    shapes: str = "demo"
    variants: str | None = None
    limit: int | None = None
    threads: int = 1
    out: Path = Path("dist/bench")
    work: Path | None = None
    buckets: str = DEFAULT_BUCKETS
    warmup: int = 5
    chunk: int = 20
    reuse: bool = False
    command: str = ""
    data: str | None = None
    compute_limit: int | None = None   # also time TFLite int8 bundles at this bucket vs the MAC limit
    compute_rounds: int = 30
    extra: dict = field(default_factory=dict)


def test_records(limit: int | None, data: str | None = None) -> list[dict]:
    """The fixed unseen split of Stockmark's NER set (n=2,140), the first ``limit`` of it."""
    from ..demo.data import load_ner, split

    _, test = split(load_ner(data))
    return test[:limit] if limit else test


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("mobilebert-ja-sdk", "torch", "transformers", "onnxruntime", "ai-edge-litert"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


class Worker:
    """A child process running one variant (see worker.py for the protocol)."""

    def __init__(self, spec: dict, log: Path, threads: int):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
               "OPENBLAS_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "3", "HF_HUB_OFFLINE": "1",
               "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", "mbja_build.bench.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=open(log, "w"), env=env, text=True,
                                     encoding="utf-8")
        self.proc.stdin.write(json.dumps(spec, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()

    def ask(self, obj: dict) -> dict:
        self.proc.stdin.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            tail = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"worker died (exit {self.proc.wait()}): {tail[0][:200]}")
        return json.loads(line)

    def first(self) -> dict:
        return json.loads(self.proc.stdout.readline() or '{"ok": false, "error": "worker died at load"}')

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def run_bench(opts: BenchOptions, log=lambda s: None) -> dict:
    """Measure every (shape, variant); returns the result dict that report.py renders."""
    import numpy as np

    from mbja_runtime.iob import entity_f1

    if opts.threads < 1 or (opts.limit is not None and opts.limit < 1) or opts.chunk < 1 or opts.warmup < 0:
        raise UsageError("--threads, --limit and --chunk must be >= 1, --warmup >= 0")
    if opts.compute_limit is not None and str(opts.compute_limit) not in opts.buckets.split(","):
        raise UsageError(f"--compute-limit {opts.compute_limit} must be one of the TFLite --buckets ({opts.buckets})")
    shape_names = shapes_mod.parse_shapes(opts.shapes)
    pairs = parse_variants(opts.variants, shape_names)
    records = test_records(opts.limit, opts.data)
    work = Path(opts.work) if opts.work else Path(opts.out) / "work"
    (work / "logs").mkdir(parents=True, exist_ok=True)
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps([r["text"] for r in records], ensure_ascii=False), encoding="utf-8")
    gold = [{(e["type"], *e["span"]) for e in r["entities"]} for r in records]

    from ..quiet import quiet_libraries

    quiet_libraries()
    rows = []
    load_before = os.getloadavg()
    needed = [s for s in shape_names if any(p[0] == s for p in pairs)]
    for shape in shapes_mod.prepare(needed, opts.model, work):
        for _, v in (p for p in pairs if p[0] == shape.name):
            rows.append(_prepare_row(shape, v, work, opts, log))

    workers = {}
    for i, row in enumerate(rows):
        if "error" in row:
            continue
        log(f"loading {row['shape']}/{row['variant']}")
        spec = {"backend": row["backend"], "path": row["path"], "threads": opts.threads, "texts": str(texts_file),
                "warmup": min(opts.warmup, len(records))}
        w = Worker(spec, work / "logs" / f"{row['shape']}-{row['variant']}.log", opts.threads)
        hello = w.first()
        if not hello.get("ok"):
            row["error"] = f"load failed: {hello.get('error')}"
            w.close()
            continue
        row.update(load_s=hello["load_s"], latencies=[], preds=[])
        workers[i] = w

    chunks = [(s, min(s + opts.chunk, len(records))) for s in range(0, len(records), opts.chunk)]
    for k, (start, stop) in enumerate(chunks):
        log(f"sentences {start}-{stop} of {len(records)}")
        order = list(workers)
        order = order[k % len(order):] + order[:k % len(order)] if order else order
        for i in order:
            try:
                got = workers[i].ask({"op": "run", "start": start, "stop": stop})
            except RuntimeError as e:
                rows[i]["error"] = f"run failed at sentence {start}: {e}"
                workers.pop(i).close()
                continue
            rows[i]["latencies"] += got["latencies"]
            rows[i]["preds"] += got["preds"]
    for i, w in workers.items():
        stats = w.ask({"op": "stats"})
        rows[i].update(peak_rss_bytes=stats["peak_rss"], unaligned=stats["unaligned"])
        w.close()

    for row in rows:
        if "error" in row:
            row.pop("latencies", None), row.pop("preds", None)
            continue
        lat = np.asarray(row["latencies"])
        row.update(sentences=len(lat), total_s=float(lat.sum()), mean_ms=float(lat.mean() * 1e3),
                   p50_ms=float(np.percentile(lat, 50) * 1e3), p90_ms=float(np.percentile(lat, 90) * 1e3))
        row["preds"] = [{tuple(p) for p in s} for s in row["preds"]]
        if row["trained"]:
            row["f1"] = entity_f1(gold, row["preds"])
    _agreement_with_fp32(rows)
    limits = _compute_limits(rows, opts, log) if opts.compute_limit else []
    conditions = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "command": opts.command,
        "cpu": cpu.describe(), "cpu_features": cpu.features(), "cpu_count": os.cpu_count(), "threads": opts.threads, "sentences": len(records),
        "split": "Stockmark NER test split (mbja_build.demo.data.split), first --limit" if opts.limit
        else "Stockmark NER test split (mbja_build.demo.data.split), all", "limit": opts.limit,
        "warmup": opts.warmup, "chunk": opts.chunk, "buckets": opts.buckets,
        "loadavg_start": [round(x, 2) for x in load_before], "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "versions": _versions(), **opts.extra,
    }
    return {"conditions": conditions, "rows": rows, **({"compute_limit": limits} if opts.compute_limit else {})}


def int8_record(bundle: Path, backend: str) -> dict:
    """What the build's int8 repair did to this row's model, in a few numbers (empty if nothing)."""
    manifest = json.loads((Path(bundle) / "manifest.json").read_text(encoding="utf-8"))
    for m in manifest["models"]:
        if m["backend"] == backend and m.get("int8"):
            from ..repair import chosen_attempt

            rec = m["int8"]
            first, last = rec["attempts"][0], chosen_attempt(rec)
            return {"int8": {"chosen": rec["chosen"], "plain_decisive_agreement": first.get("decisive_agreement"),
                             "decisive_agreement": last.get("decisive_agreement"),
                             "migrated_channels": len(rec.get("migrated_channels", [])),
                             "float_op_types": list(rec.get("float_op_types", [])),
                             "float_ops": len(rec.get("float_ops", [])),
                             "target_reached": rec.get("target_reached", True)}}
    return {}


def _agreement_with_fp32(rows: list[dict]) -> None:
    """``same_as_fp32``: the share of sentences whose entities equal those of the same shape's fp32
    row of the same backend (PyTorch fp32 when that backend has none): what quantization, pruning
    or repair changed, measured on the benchmark's own sentences. Drops the per-sentence predictions."""
    done = {(r["shape"], r["backend"], r["variant"]): r for r in rows if "preds" in r}
    for r in done.values():
        ref = done.get((r["shape"], r["backend"], f"{r['backend']}-fp32")) or \
            done.get((r["shape"], "pytorch", "pytorch-fp32"))
        if ref is not None and ref is not r:
            r["same_as_fp32"] = sum(a == b for a, b in zip(r["preds"], ref["preds"])) / max(len(r["preds"]), 1)
            r["same_as_fp32_reference"] = ref["variant"]
    for r in rows:
        r.pop("preds", None)


def _compute_limits(rows: list[dict], opts: BenchOptions, log) -> list[dict]:
    """Every measured TFLite int8 bundle, its ``seq_<L>`` signature alone against the MAC limit
    (compute_limit.py). Runs after the workers have exited, so nothing else competes."""
    from .compute_limit import measure

    out = []
    for row in rows:
        if "error" in row or row["backend"] != "tflite" or not row["precision"].endswith("int8"):
            continue
        log(f"compute limit of {row['shape']}/{row['variant']} at length {opts.compute_limit}")
        entry = {"shape": row["shape"], "model": row["model"], "variant": row["variant"], "prune": row["prune"],
                 "full_size": row["full_size"], "family": row["family"]}
        try:
            config = json.loads((Path(row["path"]) / "config.json").read_text(encoding="utf-8"))
            entry.update(measure(Path(row["files"][0]), opts.compute_limit, opts.threads, opts.compute_rounds,
                                 vocab_size=int(config["vocab_size"])).to_dict())
        except Exception as e:  # e.g. no such bucket: reported in its entry
            entry["error"] = describe(e, 300)
        out.append(entry)
    return out


def _prepare_row(shape: shapes_mod.Shape, v: Variant, work: Path, opts: BenchOptions, log) -> dict:
    row = {"shape": shape.name, "model": shape.label, "variant": v.name, "backend": v.backend,
           "precision": v.precision, "trained": shape.trained, "family": shape.family, "full_size": shape.full_size,
           "weights": "trained" if shape.trained else "random weights: timing only", "prune": v.prune}
    try:
        if v.backend == "pytorch":
            location = shape.path
        else:
            log(f"building {shape.name}/{v.name}")
            t0 = time.perf_counter()
            location = build_variant(v, shape.path, work / "bundles" / shape.name / v.name, opts.buckets, opts.reuse)
            row["build_s"] = time.perf_counter() - t0
        files = model_file(v, location)
        row.update(path=str(location), files=[str(f) for f in files], size_bytes=sum(f.stat().st_size for f in files))
        if v.backend != "pytorch":
            row.update(int8_record(location, v.backend))
    except Exception as e:  # a converter crash is a result, reported in its row
        row["error"] = f"build failed: {describe(e, 300)}"
    return row
