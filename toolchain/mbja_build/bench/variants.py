"""What the benchmark measures: a registry of variants, each a way to run one shape's checkpoint.

A variant is either the PyTorch checkpoint itself (transformers, the seed's "before" row) or a
bundle backend at one precision, built with the project's own ``build_bundle`` (no verification:
the bench measures F1 itself). Adding a variant (pruned, static int8, an optimized ORT graph) is one
entry in ``VARIANTS``; the runner, report and tests iterate over the registry.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError


@dataclass(frozen=True)
class Variant:
    name: str                  # e.g. "onnx-int8"
    backend: str               # "pytorch" | "onnx" | "tflite"
    quantize: str              # mbja-build --quantize value ("none" for fp32)
    precision: str             # what the table shows
    description: str
    prune: float | None = None  # mbja-build --prune-heads fraction (attention heads dropped before export)
    repair: bool = True        # mbja-build --repair (accuracy-driven int8); False: plain int8 as earlier releases


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("pytorch-fp32", "pytorch", "none", "fp32", "transformers + PyTorch, BertJapaneseTokenizer"),
    Variant("onnx-fp32", "onnx", "none", "fp32", "bundle, ONNX Runtime"),
    Variant("onnx-int8", "onnx", "dynamic-int8", "dynamic-int8", "bundle, ONNX Runtime, quantize_dynamic"),
    Variant("tflite-fp32", "tflite", "none", "fp32", "bundle, LiteRT"),
    Variant("tflite-fp16", "tflite", "fp16", "fp16", "bundle, LiteRT, fp16 weights"),
    Variant("tflite-int8", "tflite", "dynamic-int8", "dynamic-int8", "bundle, LiteRT, dynamic_wi8_afp32"),
    # int8 without the accuracy-driven repair: what the plain quantizers give (on an outlier
    # checkpoint the repaired variant above is the comparison that matters).
    Variant("onnx-int8-norepair", "onnx", "dynamic-int8", "dynamic-int8", "bundle, ONNX Runtime, "
            "quantize_dynamic, no repair", repair=False),
    Variant("tflite-int8-norepair", "tflite", "dynamic-int8", "dynamic-int8", "bundle, LiteRT, "
            "dynamic_wi8_afp32, no repair", repair=False),
    # Full-integer (int8 weights and activations) for NPU/DSP delegates; on a CPU it shows what that costs.
    # The repair may leave the attention core float (quantize.ATTENTION_OPS); -norepair is the
    # full-integer graph as the quantizer makes it.
    Variant("tflite-static-int8", "tflite", "static-int8", "static-int8", "bundle, LiteRT, static int8 "
            "(weights and activations, calibrated on 200 training-split sentences)"),
    Variant("tflite-static-int8-norepair", "tflite", "static-int8", "static-int8", "bundle, LiteRT, static "
            "int8, full-integer, no repair", repair=False),
    # Pruning trades F1 for speed: the table shows how much of each (calibration: 200 training-split sentences).
    Variant("onnx-int8-pruned30", "onnx", "dynamic-int8", "dynamic-int8", "bundle, ONNX Runtime, int8, "
            "30 % of attention heads pruned", prune=0.3),
    Variant("tflite-int8-pruned30", "tflite", "dynamic-int8", "dynamic-int8", "bundle, LiteRT, int8, "
            "30 % of attention heads pruned", prune=0.3),
    Variant("tflite-int8-pruned50", "tflite", "dynamic-int8", "dynamic-int8", "bundle, LiteRT, int8, "
            "50 % of attention heads pruned", prune=0.5),
)}


def parse_variants(spec: str | None, shapes: list[str]) -> list[tuple[str, Variant]]:
    """(shape, variant) pairs to measure, in table order.

    A plain name (``onnx-int8``) applies to every shape; ``shape/name`` to that shape only, so one
    run can hold e.g. every MobileBERT variant but only BERT-base's PyTorch reference (a full-size
    TFLite conversion takes minutes per precision).
    """
    names = [s.strip() for s in (spec or "all").split(",") if s.strip()]
    wanted: set[tuple[str | None, str]] = set()
    for n in names:
        shape, _, name = n.rpartition("/")
        if shape and shape not in shapes:
            raise UsageError(f"--variants {n!r}: shape {shape!r} is not in --shapes ({', '.join(shapes)})")
        if name != "all" and name not in VARIANTS:
            raise UsageError(f"--variants {spec!r}: unknown {name!r}; choose from {', '.join(VARIANTS)} or all, "
                             "optionally as SHAPE/NAME")
        for v in VARIANTS if name == "all" else [name]:
            wanted.add((shape or None, v))
    if not wanted:
        raise UsageError("--variants is empty")
    return [(sh, v) for sh in shapes for name, v in VARIANTS.items()
            if (None, name) in wanted or (sh, name) in wanted]


def build_variant(variant: Variant, checkpoint: Path, out: Path, buckets: str, reuse: bool) -> Path:
    """Build (or, with ``reuse``, keep) the one-backend bundle a variant runs; returns its directory."""
    from ..build import BuildOptions, build_bundle

    if reuse and (out / "manifest.json").is_file():
        return out
    import json

    limit = json.loads((checkpoint / "config.json").read_text(encoding="utf-8")).get("max_position_embeddings", 512)
    lengths = [b for b in buckets.split(",") if int(b) <= limit] or [str(limit)]   # a short model: fewer buckets
    buckets, max_length = ",".join(lengths), int(lengths[-1])
    path, _ = build_bundle(BuildOptions(model=str(checkpoint), target=variant.backend, quantize=variant.quantize,
                                        max_length=max_length, buckets=buckets, out=out, verify=False,
                                        prune_heads=variant.prune, repair=variant.repair))
    return Path(path)


def model_file(variant: Variant, location: Path) -> list[Path]:
    """The file(s) whose size the table reports: the model file of the bundle, or the weights."""
    if variant.backend == "pytorch":
        from .shapes import weights_size

        return [Path(f) for f in weights_size(location)[1]]
    import json

    manifest = json.loads((location / "manifest.json").read_text(encoding="utf-8"))
    return [location / m["file"] for m in manifest["models"] if m["backend"] == variant.backend]
