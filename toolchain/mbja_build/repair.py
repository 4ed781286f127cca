"""Accuracy-driven int8: quantize, measure against fp32 on calibration text, repair, measure again.

Post-training int8 of MobileBERT is known to collapse on real checkpoints (90 % -> 49 %,
tensorflow#44306): NoNorm does not normalise, so a few residual-stream channels carry values
100-1000x the rest, and a per-tensor (ONNX Runtime) or per-token (XNNPACK) activation scale set by
them leaves the other channels a handful of levels. No converter closes this loop for these targets,
so the build does, for every int8 model (``search``):

1. **plain**: quantize as configured; measure decisive argmax agreement with the fp32 export on the
   calibration texts (``verify.quantized_passes``, the same gate verify applies). Passing here ends
   the search: a model int8 already suits is left exactly as before.
2. **migrate** (MobileBERT with NoNorm): channels of the residual stream whose calibrated max |value|
   exceeds ``OUTLIER_RATIO`` x the median channel's are divided down to that level and the readers'
   weight columns multiplied up (``residual_scale``: exact in fp32, every op stays int8, SmoothQuant's
   migration on a shared stream); re-export, quantize, measure.
3. **float fallback**: the matmuls whose simulated int8 error is largest (``int8_error``) stay float,
   1, 2, 4, ... of them, on the best model so far, until the target holds or ``MAX_FLOAT_SHARE`` of
   the matmuls would be float.

If nothing passes, the build fails with every attempt's numbers. What was done goes into the
manifest (``models[].int8``): attempts, migrated channels, float ops, size and time per text.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import BuildError

#: A residual channel is an outlier when its calibrated max |value| exceeds this many times the
#: median channel's; migration brings it down to exactly that level.
OUTLIER_RATIO = 4.0
#: The float fallback stops before more than this share of the quantizable matmuls is float: past
#: it the model is no longer an int8 model, and the user is better served by the numbers.
MAX_FLOAT_SHARE = 1 / 3
#: Float-fallback attempts: the ops whose simulated error exceeds each of these (an outlier-broken
#: op is near 1.0, a healthy one near 0.005: the ranking has a cliff, and each threshold tries the
#: ops above one possible cliff), besides 1, 2, 4, ... ops.
ERROR_STEPS = (0.5, 0.2, 0.1, 0.05, 0.02)


class RepairError(BuildError):
    """No attempt reached the int8 target (exit code 1); the message lists every attempt."""


@dataclass
class Route:
    """How one backend exports, quantizes, ranks and runs a model."""
    backend: str
    export: Callable[[object, Path], dict]            # (PyTorch model, raw fp32 file) -> manifest fields
    quantize: Callable[[Path, Path, list], str]       # (raw fp32 file, output, float ops) -> precision
    rank: Callable[[Path, dict, list], list]          # (raw fp32 file, fields, inputs) -> [(op, error)] worst first
    open: Callable[[Path, dict], object]              # (model file, fields) -> mbja_runtime backend


def _run_all(backend, inputs: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    start = time.perf_counter()
    outs = [backend.run(ids) for ids in inputs]
    return outs, (time.perf_counter() - start) * 1e3 / max(len(inputs), 1)


def _measure(route: Route, path: Path, info: dict, inputs, reference) -> dict:
    from .verify import Agreement

    outs, ms = _run_all(route.open(path, info), inputs)
    agreement = Agreement()
    for ref, got in zip(reference, outs):
        agreement.add(ref, got)
    return {**agreement.as_dict(), "ms_per_text": round(ms, 3), "size_bytes": path.stat().st_size}


def migration_scales(model, inputs: list[np.ndarray]) -> tuple[object, list[dict]] | None:
    """(scales to multiply the residual stream by, [{channel, max_abs, divided_by}]) or None when
    the model cannot be migrated or has no outlier channel."""
    import torch

    from .residual_scale import residual_absmax
    from .errors import UsageError

    batches = ({"input_ids": torch.as_tensor(np.asarray(ids, dtype=np.int64))[None]} for ids in inputs)
    try:
        absmax = residual_absmax(model, batches)
    except UsageError:
        return None
    level = OUTLIER_RATIO * float(absmax.median())
    if level <= 0:
        return None
    divide = torch.clamp(absmax / level, min=1.0)
    picked = [int(c) for c in torch.nonzero(divide > 1.0).flatten()]
    if not picked:
        return None
    channels = [{"channel": c, "max_abs": round(float(absmax[c]), 4), "divided_by": round(float(divide[c]), 4)}
                for c in picked]
    return 1.0 / divide, channels


def search(route: Route, model, raw: Path, info: dict, dst: Path, inputs: list[np.ndarray], target: float,
           progress: Callable[[str], None] = lambda s: None, migrate: bool = True) -> tuple[str, dict]:
    """Write the int8 model of ``raw`` (the fp32 export of ``model``) to ``dst``; returns
    (precision, record for the manifest). ``raw`` is consumed. ``migrate=False`` skips step 2
    (for models whose owner wants the weights exactly as trained, and to test step 3 alone)."""
    from .residual_scale import rescale_residual
    from .verify import quantized_passes

    work = raw.parent
    reference, fp32_ms = _run_all(route.open(raw, info), inputs)
    record = {"target": target, "texts": len(inputs), "fp32_ms_per_text": round(fp32_ms, 3),
              "fp32_size_bytes": raw.stat().st_size, "attempts": []}

    def attempt(name: str, source: Path, float_ops: list, **detail) -> bool:
        out = work / f"{dst.stem}.{name}{dst.suffix}"
        precision = route.quantize(source, out, list(float_ops))
        entry = {"name": name, **detail, "float_ops": len(float_ops), **_measure(route, out, info, inputs, reference)}
        record["attempts"].append(entry)
        ok = quantized_passes(entry, target)
        if ok:
            out.replace(dst)
            errors = dict(ranking)
            record.update(chosen=name, precision=precision,
                          float_ops=[{"op": op, "error": round(errors.get(op, 0.0), 5)} for op in float_ops])
        else:
            out.unlink()
        return ok

    ranking: list = []
    progress(f"{route.backend} int8: plain")
    if attempt("plain", raw, []):
        raw.unlink()
        return record["precision"], record
    best, best_agreement = raw, record["attempts"][-1]

    migration = migration_scales(model, inputs) if migrate else None
    if migration is not None:
        scales, channels = migration
        progress(f"{route.backend} int8: migrating {len(channels)} outlier channel(s)")
        migrated_raw = work / f"{raw.stem}.migrated{raw.suffix}"
        route.export(rescale_residual(model, scales), migrated_raw)
        record["migrated_channels"] = channels
        if attempt("migrate", migrated_raw, [], channels=len(channels)):
            raw.unlink(), migrated_raw.unlink()
            return record["precision"], record
        if _score(record["attempts"][-1]) >= _score(best_agreement):
            best, best_agreement = migrated_raw, record["attempts"][-1]
        else:
            migrated_raw.unlink()
            record.pop("migrated_channels")

    progress(f"{route.backend} int8: ranking matmuls by simulated int8 error")
    ranking[:] = route.rank(best, info, inputs)
    for k in fallback_counts([err for _, err in ranking]):
        progress(f"{route.backend} int8: {k} op(s) in float")
        prefix = "migrate+" if best is not raw else ""
        if attempt(f"{prefix}float{k}", best, [op for op, _ in ranking[:k]]):
            for p in {raw, best}:
                p.unlink(missing_ok=True)
            if best is raw:
                record.pop("migrated_channels", None)
            return record["precision"], record
    for p in {raw, best}:
        p.unlink(missing_ok=True)
    raise RepairError(f"{route.backend} int8 missed {target:.1%} decisive argmax agreement with fp32 on "
                      f"{len(inputs)} calibration texts in every attempt: " + "; ".join(
                          f"{a['name']} {_fmt(a)}" for a in record["attempts"])
                      + " (--no-repair builds the plain int8 model anyway; verify will judge it)")


def fallback_counts(errors: list[float]) -> list[int]:
    """How many of the worst-ranked ops each float-fallback attempt keeps in float, ascending."""
    limit = int(len(errors) * MAX_FLOAT_SHARE)
    counts = {2 ** i for i in range(limit.bit_length()) if 2 ** i <= limit}
    counts |= {sum(e > t for e in errors) for t in ERROR_STEPS}
    return sorted(k for k in counts if 0 < k <= limit)


def _score(entry: dict) -> float:
    value = entry.get("decisive_agreement")
    return entry["min_cosine"] if value is None else value


def _fmt(entry: dict) -> str:
    value = entry.get("decisive_agreement")
    return (f"{value:.2%}" if value is not None else f"cosine {entry['min_cosine']:.4f}") + \
        f" ({entry['ms_per_text']:.1f} ms/text)"


def summary(record: dict) -> str:
    """Two lines for the CLI: what was done and what it cost."""
    attempts = record["attempts"]
    plain, final = attempts[0], attempts[-1]
    if record["chosen"] == "plain":
        return f"int8 as is: {_fmt(plain)} decisive agreement on {record['texts']} calibration texts (no repair needed)"
    done = []
    if record.get("migrated_channels"):
        done.append(f"{len(record['migrated_channels'])} residual channel(s) migrated")
    if record["float_ops"]:
        done.append(f"{len(record['float_ops'])} matmul(s) left in float")
    return (f"int8 repaired ({', '.join(done)}): decisive agreement {_fmt(plain)} -> {_fmt(final)} on "
            f"{record['texts']} calibration texts\n  size {final['size_bytes'] / 1e6:.1f} MB (fp32 "
            f"{record['fp32_size_bytes'] / 1e6:.1f} MB), {final['ms_per_text']:.1f} ms/text (plain int8 "
            f"{plain['ms_per_text']:.1f}, fp32 {record['fp32_ms_per_text']:.1f})")

