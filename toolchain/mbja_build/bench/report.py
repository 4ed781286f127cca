"""Render one benchmark run: ratios, the issue's targets, Markdown + JSON + PNG chart.

Ratios are the point: on a shared machine absolute seconds drift from run to run, but within one
run (interleaved, see run.py) a variant's time over another's is stable. Every ratio is computed
from rows of the same run, never across runs.
"""
from __future__ import annotations

import json
from pathlib import Path

from .compute_limit import ENGINES

SPEED_TARGET_MOBILEBERT = 4.0   # best bundle vs MobileBERT PyTorch fp32
SPEED_TARGET_BERT = 8.0         # best bundle vs BERT-base PyTorch fp32
F1_TOLERANCE = 0.005            # int8 F1 within 0.5 pt of the fp32 F1 of the same backend
COMPUTE_LIMIT_TARGET = 1.2      # TFLite int8 at L=128 within 1.2x of the CPU's measured MAC limit


def _ok(row: dict) -> bool:
    return "error" not in row and "total_s" in row


def add_ratios(rows: list[dict]) -> None:
    """speedup_vs_pytorch: the shape's own PyTorch fp32 over this row (>1 = faster);
    speedup_vs_bert_base: BERT-base PyTorch fp32 over this row, for full-size MobileBERT rows."""
    torch = {r["shape"]: r["total_s"] for r in rows if _ok(r) and r["variant"] == "pytorch-fp32"}
    bert = torch.get("bert-base")
    for r in rows:
        if not _ok(r):
            continue
        if r["shape"] in torch:
            r["speedup_vs_pytorch"] = torch[r["shape"]] / r["total_s"]
        if bert is not None and r["family"] == "mobilebert" and r["full_size"]:
            r["speedup_vs_bert_base"] = bert / r["total_s"]


def targets(rows: list[dict], limits: list[dict] = ()) -> list[dict]:
    """The issue's done-criteria, checked on this run's rows: met, missed, or not measurable."""
    out = []
    for shape in dict.fromkeys(e["shape"] for e in limits):
        mine = [e for e in limits if e["shape"] == shape and "error" not in e and not e.get("prune")]
        if mine and mine[0]["family"] == "mobilebert":
            best = min(mine, key=lambda e: e["x_cpu"])
            out.append({"shape": shape, "target": f"TFLite int8 at L={best['length']} within "
                        f"{COMPUTE_LIMIT_TARGET:g}x of this CPU's limit ({best['cpu_gmacs']:.0f} GMAC/s, "
                        f"{best['cpu_engine']})",
                        "value": best["x_cpu"], "variant": best["variant"],
                        "met": best["x_cpu"] <= COMPUTE_LIMIT_TARGET, "applies": best["full_size"],
                        "note": "" if best["full_size"] else "demo-sized model, not the issue's target shape"})
    for shape in dict.fromkeys(r["shape"] for r in rows):
        mine = [r for r in rows if r["shape"] == shape and _ok(r)]
        # Pruned bundles change predictions: they are reported next to their F1, but the speed
        # targets are judged on bundles that reproduce the model.
        bundles = [r for r in mine if r["backend"] != "pytorch" and not r.get("prune")]
        best = max(bundles, key=lambda r: r.get("speedup_vs_pytorch", 0), default=None)
        family = next((r["family"] for r in rows if r["shape"] == shape), "")
        full = next((r["full_size"] for r in rows if r["shape"] == shape), False)
        if best is not None and "speedup_vs_pytorch" in best and family == "mobilebert":
            out.append({"shape": shape, "target": f"best bundle >= {SPEED_TARGET_MOBILEBERT:g}x MobileBERT PyTorch fp32",
                        "value": best["speedup_vs_pytorch"], "variant": best["variant"],
                        "met": best["speedup_vs_pytorch"] >= SPEED_TARGET_MOBILEBERT, "applies": full,
                        "note": "" if full else "demo-sized model (4.2 M parameters), not the issue's target shape"})
        if best is not None and full and family == "mobilebert":
            fastest = max(bundles, key=lambda r: r.get("speedup_vs_bert_base", 0))
            if "speedup_vs_bert_base" in fastest:
                out.append({"shape": shape, "target": f"best bundle >= {SPEED_TARGET_BERT:g}x BERT-base PyTorch fp32",
                            "value": fastest["speedup_vs_bert_base"], "variant": fastest["variant"],
                            "met": fastest["speedup_vs_bert_base"] >= SPEED_TARGET_BERT, "applies": True, "note": ""})
        f1 = {r["variant"]: r["f1"]["f1"] for r in mine if "f1" in r}
        for backend in ("onnx", "tflite"):
            a, b = f1.get(f"{backend}-int8"), f1.get(f"{backend}-fp32")
            if a is not None and b is not None:
                out.append({"shape": shape, "target": f"{backend}-int8 F1 within 0.5 pt of {backend}-fp32",
                            "value": (a - b) * 100, "variant": f"{backend}-int8", "met": abs(a - b) <= F1_TOLERANCE,
                            "applies": True, "note": "difference in F1 points"})
    return out


def _fmt(x, spec: str, dash: str = "–") -> str:
    return dash if x is None else format(x, spec)


def _repair_cell(rec: dict | None) -> str:
    if not rec:
        return "–"
    if rec["chosen"] == "plain":
        return "none needed" if rec.get("target_reached", True) else "plain kept (no attempt did better)"
    done = [f"{rec['migrated_channels']} ch. migrated"] if rec["migrated_channels"] else []
    done += [f"{'+'.join(rec['float_op_types'])} float"] if rec.get("float_op_types") else []
    done += [f"{rec['float_ops']} ops float"] if rec["float_ops"] else []
    before, after = rec["plain_decisive_agreement"], rec["decisive_agreement"]
    return ", ".join(done) + (f" ({before:.1%} → {after:.1%})" if before is not None and after is not None else "")


def markdown(result: dict) -> str:
    c = result["conditions"]
    lines = [f"Benchmark: NER, one sentence at a time (tokenize + infer + decode), n={c['sentences']:,} sentences "
             f"of the {c['split']}; {c['threads']} thread(s); {c['cpu']} ({c['cpu_count']} logical CPUs, shared); "
             f"{c['date']}.", "",
             "| model | variant | size MB | total s | p50 ms | p90 ms | × own PyTorch | × BERT-base PyTorch "
             "| peak RSS MB | load s | entity F1 | same entities as fp32 | int8 repair |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in result["rows"]:
        if not _ok(r):
            lines.append(f"| {r['model']} | {r['variant']} | {_fmt(r.get('size_bytes') and r['size_bytes'] / 1e6, '.1f')} "
                         f"| **{r['error']}** | | | | | | | | | |")
            continue
        f1 = f"{r['f1']['f1'] * 100:.2f} %" if "f1" in r else "n/a (random)"
        lines.append(
            f"| {r['model']} | {r['variant']} | {r['size_bytes'] / 1e6:.1f} | {r['total_s']:.2f} | {r['p50_ms']:.2f} "
            f"| {r['p90_ms']:.2f} | {_fmt(r.get('speedup_vs_pytorch'), '.2f')} | {_fmt(r.get('speedup_vs_bert_base'), '.2f')} "
            f"| {r['peak_rss_bytes'] / 1e6:.0f} | {r['load_s']:.1f} | {f1} "
            f"| {_fmt(r.get('same_as_fp32') and r['same_as_fp32'] * 100, '.1f')}{' %' if 'same_as_fp32' in r else ''} "
            f"| {_repair_cell(r.get('int8'))} |")
    lines += ["", f"Conditions: `{c['command']}`; warm-up {c['warmup']} sentences per variant (untimed, after load); "
              f"sentences handed to the variants in interleaved chunks of {c['chunk']}; TFLite buckets {c['buckets']}; "
              f"load average {c['loadavg_start']} at start, {c['loadavg_end']} at end; "
              + ", ".join(f"{k} {v}" for k, v in c["versions"].items()) + ".",
              "Size: the model file (bundle rows) or the weights (PyTorch). Peak RSS: VmHWM of the process that "
              "ran only that variant (interpreter, libraries, model, tokenizer). Ratios: within this run only. "
              "Same entities as fp32: sentences whose entity list equals the same backend's fp32 row (else PyTorch "
              "fp32). int8 repair: what the build did (decisive argmax agreement with fp32 on 200 calibration "
              "sentences, before → after)."]
    if result.get("compute_limit"):
        lines += ["", "Compute limit: each TFLite int8 bundle's signature alone (inference only, fixed full-length "
                  "input, median of alternating rounds), against its multiply-accumulates (every FULLY_CONNECTED and "
                  "BATCH_MATMUL, counted from the graph) at this CPU's limit (the best rate a large GEMM reaches here "
                  "in any engine: XNNPACK and ONNX Runtime, dynamic int8 and fp32, each measured in this run), at "
                  "XNNPACK dynamic int8's own large-GEMM rate (peak), and against the model's own FC shapes timed "
                  "alone as dynamic-int8 GEMMs (GEMMs: what every other op adds). CPU: "
                  + (result["compute_limit"][0].get("cpu", "?") if result["compute_limit"] else "?") + ".", "",
                  "| model | variant | L | GMAC | model ms | large GEMM GMAC/s: XNNPACK int8 / fp32, ORT int8 / fp32 "
                  "| CPU limit ms | × CPU limit | × XNNPACK int8 peak | FC GEMMs alone ms | × GEMMs |",
                  "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
        for e in result["compute_limit"]:
            if "error" in e:
                lines.append(f"| {e['model']} | {e['variant']} | | | **{e['error']}** | | | | | | |")
                continue
            rates = " / ".join(f"{e['engine_gmacs'][k]:.0f}" for k in ENGINES)
            lines.append(f"| {e['model']} | {e['variant']} | {e['length']} | {e['gmac']:.3f} | {e['model_ms']:.2f} "
                         f"| {rates} | {e['cpu_limit_ms']:.2f} | {e['x_cpu']:.2f} "
                         f"| {e['x_peak']:.2f} | {e['gemm_ms']:.2f} | {e['x_gemm']:.2f} |")
    if result.get("targets"):
        lines += ["", "| target | model | value | variant | met |", "| --- | --- | ---: | --- | --- |"]
        for t in result["targets"]:
            val = f"{t['value']:+.2f} pt" if "F1" in t["target"] else f"{t['value']:.2f}x"
            met = ("yes" if t["met"] else "**no**") + ("" if t["applies"] else f" (n/a: {t['note']})")
            lines.append(f"| {t['target']} | {t['shape']} | {val} | {t['variant']} | {met} |")
    return "\n".join(lines) + "\n"


def chart(result: dict, path: Path) -> None:
    """One panel per model: total seconds per variant, annotated with the ratio and F1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = list(dict.fromkeys(r["shape"] for r in result["rows"]))
    fig, axes = plt.subplots(len(shapes), 1, figsize=(9, 2.2 + 0.45 * len(result["rows"])), squeeze=False)
    colors = {"pytorch": "#c44e52", "onnx": "#4c72b0", "tflite": "#55a868"}
    for ax, shape in zip(axes[:, 0], shapes):
        rows = [r for r in result["rows"] if r["shape"] == shape]
        names = [r["variant"] for r in rows]
        totals = [r.get("total_s", 0.0) for r in rows]
        ax.barh(names, totals, color=[colors.get(r["backend"], "grey") for r in rows])
        ax.invert_yaxis()
        for y, r in enumerate(rows):
            if not _ok(r):
                ax.text(0, y, f"  {r['error'][:60]}", va="center", fontsize=7, color="red")
                continue
            note = f" {r['total_s']:.1f} s"
            if r.get("speedup_vs_pytorch"):
                note += f", {r['speedup_vs_pytorch']:.2f}x"
            if "f1" in r:
                note += f", F1 {r['f1']['f1'] * 100:.1f}%"
            ax.text(r["total_s"], y, note, va="center", fontsize=7)
        ax.set_title(rows[0]["model"], fontsize=9)
        ax.set_xlim(0, max(totals + [1e-9]) * 1.45)
        ax.tick_params(labelsize=8)
    c = result["conditions"]
    axes[-1, 0].set_xlabel(f"total seconds, n={c['sentences']} sentences one at a time, {c['threads']} thread(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(result: dict, out: Path) -> dict:
    """bench.json (everything but latencies), latencies.json (per-sentence seconds), bench.md, bench.png."""
    out.mkdir(parents=True, exist_ok=True)
    add_ratios(result["rows"])
    result["targets"] = targets(result["rows"], result.get("compute_limit", []))
    latencies = {f"{r['shape']}/{r['variant']}": [round(x, 7) for x in r.pop("latencies")]
                 for r in result["rows"] if "latencies" in r}
    paths = {"json": out / "bench.json", "latencies": out / "latencies.json", "md": out / "bench.md",
             "png": out / "bench.png"}
    paths["json"].write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    paths["latencies"].write_text(json.dumps(latencies) + "\n", encoding="utf-8")
    paths["md"].write_text(markdown(result), encoding="utf-8")
    chart(result, paths["png"])
    return paths
