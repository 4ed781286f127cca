"""`mbja-build`'s main job: checkpoint -> ONNX and/or TFLite (optionally quantized) -> bundle."""
from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mbja_runtime.bundle import DICTIONARY, LABELS, TOKENIZER, VOCAB, read_manifest

from . import bundle
from .errors import UsageError
from .quantize import PRECISIONS

TARGETS = ("onnx", "tflite", "all")
#: Each bucket is a TFLite signature; a text runs padded to the smallest that fits. Powers of two
#: alone padded the NER test split (mean 41 tokens, median 36) to 59 tokens on average, 31 % of the
#: work wasted; 48 and 96 cut that to 51 (20 %) and made full-size TFLite int8 1.14x faster end to
#: end on all 2,140 sentences, with VNNI and on the AVX2 code paths (benchmarks/bucket_ladder.py).
#: The price is the size of the file: a signature repeats every weight's per-channel scales and
#: zero points (they live in the tensor table, not in the shared weight buffers), ~1.9 MB per
#: bucket for the full-size int8 model (32.3 -> 36.0 MB for the two).
DEFAULT_BUCKETS = (32, 48, 64, 96, 128, 256, 512)


@dataclass
class BuildOptions:
    model: str | None = None
    task: str | None = None
    target: str = "all"
    quantize: str = "none"
    max_length: int | None = None
    buckets: str | None = None
    out: Path | None = None
    verify: bool = False          # the CLI turns it on (--no-verify to skip)
    verify_texts: list[str] | None = None
    prune_heads: float | None = None     # fraction of attention heads to drop (see prune.py)
    # texts that calibrate static-int8, judge the int8 repair and rank heads for pruning (default:
    # calibration.SAMPLE, training-split sentences, never verify's)
    calibration: list[str] | None = None
    repair: bool = True           # accuracy-driven int8 (repair.py); False: quantize once, let verify judge
    int8_target: float | None = None     # decisive argmax agreement the repair aims at (repair.REPAIR_TARGET)


def parse_buckets(spec: str | None, max_length: int) -> list[int]:
    """Validate --buckets against --max-length; default: the standard ladder capped at max_length."""
    if spec is None:
        buckets = [b for b in DEFAULT_BUCKETS if b <= max_length]
        if not buckets or buckets[-1] < max_length:
            buckets.append(max_length)
        return buckets
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise UsageError("--buckets is empty; give ascending lengths such as 32,64,128")
    try:
        buckets = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"--buckets {spec!r}: lengths must be integers") from None
    if any(b < 2 for b in buckets):
        raise UsageError(f"--buckets {spec!r}: every length must be >= 2 ([CLS] and [SEP])")
    if buckets != sorted(set(buckets)):
        raise UsageError(f"--buckets {spec!r} must be strictly ascending")
    if buckets[-1] > max_length:
        raise UsageError(f"--buckets {spec!r}: {buckets[-1]} exceeds --max-length {max_length}")
    return buckets


def validate_options(opts: BuildOptions) -> None:
    """Checks that need no checkpoint, so typos fail in milliseconds, not after loading torch."""
    if opts.target not in TARGETS:
        raise UsageError(f"unknown target {opts.target!r}; choose one of: {', '.join(TARGETS)}")
    if opts.quantize not in PRECISIONS:
        raise UsageError(f"unknown quantization {opts.quantize!r}; choose one of: {', '.join(PRECISIONS)}")
    if opts.task is not None:
        from .tasks import get_task

        get_task(opts.task)
    if opts.max_length is not None and opts.max_length < 2:
        raise UsageError("--max-length must be >= 2")
    if opts.buckets is not None:
        parse_buckets(opts.buckets, opts.max_length or 10**9)
    if opts.prune_heads is not None:
        from .prune import check_fraction

        check_fraction(opts.prune_heads)
    if opts.int8_target is not None and not 0 < opts.int8_target <= 1:
        raise UsageError("--int8-target must be a share in (0, 1], e.g. 0.99")
    if opts.calibration is not None:
        if opts.prune_heads is None and opts.quantize not in ("static-int8", "dynamic-int8"):
            raise UsageError("--calibration is for int8 (--quantize dynamic-int8 / static-int8) and --prune-heads; "
                             "give one of them")
        if not any(t.strip() for t in opts.calibration):
            raise UsageError("--calibration has no non-empty text")
    if opts.out is not None:
        bundle.check_output_dir(Path(opts.out))


def planned_steps(opts: BuildOptions) -> int:
    """How many progress() calls build_bundle makes, for step numbers with a real total.

    Verification is one step for the PyTorch reference and one per backend."""
    per_target = {"onnx": 2, "tflite": 2, "all": 4}
    verify = {"onnx": 2, "tflite": 2, "all": 3}.get(opts.target, 0) if opts.verify else 0
    return 3 + per_target.get(opts.target, 0) + verify + (1 if opts.prune_heads else 0)


def int8_target(opts: BuildOptions) -> float:
    from .repair import REPAIR_TARGET

    return REPAIR_TARGET if opts.int8_target is None else opts.int8_target


def default_out(source: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(source).name if source != "demo" else "demo").strip("-")
    return Path("dist") / (slug or "bundle")


_dictionary_cache: Path | None = None


def _copy_dictionary(dst: Path) -> None:
    """Compile unidic-lite once per process (~30 s) and copy it into each bundle built after."""
    global _dictionary_cache
    if _dictionary_cache is None or not _dictionary_cache.is_dir():
        from .dictionary import write_dictionary

        cache = Path(tempfile.mkdtemp(prefix="mbja-dictionary-"))
        atexit.register(shutil.rmtree, cache, True)
        write_dictionary(cache)
        _dictionary_cache = cache
    shutil.copytree(_dictionary_cache, dst)
    os.chmod(dst, 0o755)


def _staged_tokenizer(staged: Path):
    from mbja_runtime.tokenize import Tokenizer

    return Tokenizer.from_files(staged / VOCAB, staged / DICTIONARY, staged / TOKENIZER, verify=False)


def _calibration_texts(texts: list[str] | None) -> list[str]:
    from .calibration import default_calibration_texts

    return [t for t in texts if t.strip()] if texts else default_calibration_texts()


def _calibration_feeds(staged: Path, texts: list[str] | None, buckets: list[int]) -> dict:
    """static-int8's calibration inputs, tokenized by the tokenizer already staged in the bundle."""
    from .calibration import calibration_feeds

    return calibration_feeds(_staged_tokenizer(staged), _calibration_texts(texts), buckets)


def _repair_inputs(staged: Path, texts: list[str] | None, max_length: int) -> list:
    """The int8 repair's judging inputs: calibration texts' token ids and a few long joined ones."""
    from .calibration import judging_inputs

    return judging_inputs(_staged_tokenizer(staged), _calibration_texts(texts), max_length)


def build_bundle(opts: BuildOptions, progress: Callable[[str], None] = lambda s: None,
                 warn: Callable[[str], None] = lambda s: None,
                 detail: Callable[[str], None] = lambda s: None) -> tuple[Path, dict]:
    """Build the bundle ``opts`` describe; returns (its directory, its manifest).

    ``progress(name)`` starts each of :func:`planned_steps`' steps; ``detail(text)`` tells what the
    running one does meanwhile (the int8 repair's attempts); ``warn(text)``: what the caller should
    hear but does not stop the build."""
    validate_options(opts)
    progress("loading checkpoint")   # first: importing torch alone takes seconds
    from .checkpoint import load_checkpoint
    from .quiet import quiet_libraries

    quiet_libraries()
    ckpt = load_checkpoint(opts.model, opts.task)
    for w in ckpt.warnings:
        warn(w)
    limit = int(ckpt.config.max_position_embeddings)
    max_length = opts.max_length or limit
    if max_length > limit:
        raise UsageError(f"--max-length {max_length} exceeds the model's max_position_embeddings {limit}")
    buckets = parse_buckets(opts.buckets, max_length)
    out = Path(opts.out) if opts.out else default_out(ckpt.source)
    bundle.check_output_dir(out)
    task = ckpt.task
    vocab_size = len(ckpt.vocab)
    pruning, reference = {}, opts.model
    if opts.prune_heads is not None:
        from .prune import prune_checkpoint

        progress("pruning attention heads")
        # verify must compare with the pruned model: it loads the equivalent checkpoint written here
        reference = tempfile.mkdtemp(prefix="mbja-pruned-")
        atexit.register(shutil.rmtree, reference, True)
        pruning = {"pruning": prune_checkpoint(ckpt, opts.prune_heads, opts.calibration, Path(reference),
                                               max_length)}

    models = []
    with bundle.staging_dir(out) as tmp:
        # the tokenizer comes first: static-int8 calibrates on text tokenized by the bundle's own
        progress("compiling the segmentation dictionary")
        _copy_dictionary(tmp / DICTIONARY)
        (tmp / VOCAB).write_text("".join(t + "\n" for t in ckpt.vocab), encoding="utf-8")
        bundle.write_json(tmp / TOKENIZER, {**ckpt.tokenizer, "vocab": VOCAB})
        if opts.target in ("onnx", "all"):
            from .convert.onnx_export import export_onnx
            from .quantize import ONNX_MODE, quantize_onnx

            progress("exporting ONNX")
            raw = tmp / "model.fp32-export.onnx"

            def export(model, path):
                return export_onnx(model, task, path, max_length, vocab_size)

            info = export(ckpt.model, raw)
            repair = {}
            progress("quantizing ONNX" if ONNX_MODE[opts.quantize] != "none" else "writing ONNX")
            if ONNX_MODE[opts.quantize] == "dynamic-int8" and opts.repair:
                from .repair import onnx_route, search

                precision, record = search(onnx_route(opts.quantize, export), ckpt.model, raw, info,
                                           tmp / "model.onnx", _repair_inputs(tmp, opts.calibration, max_length),
                                           int8_target(opts), detail)
                repair = {"int8": record}
            else:
                precision = quantize_onnx(raw, tmp / "model.onnx", opts.quantize)
            if opts.quantize == "fp16":
                warn("fp16 applies to TFLite only; the ONNX model stays fp32 (ORT runs fp16 slower on CPU)")
            elif opts.quantize == "static-int8":
                warn("static-int8 applies to TFLite only; the ONNX model is dynamic-int8 (ORT's static QDQ "
                     "int8 missed the 99 % argmax agreement and ran 3.4x slower than dynamic on CPU)")
            models.append({"backend": "onnx", "file": "model.onnx", "precision": precision,
                           "batch": "dynamic", "sequence": "dynamic", **info, **repair})
        if opts.target in ("tflite", "all"):
            from .convert.tflite_compact import strip_internal_names
            from .convert.tflite_export import export_tflite
            from .quantize import quantize_tflite

            progress(f"converting to TFLite ({len(buckets)} signatures)")
            raw = tmp / "model.fp32-export.tflite"

            def export(model, path):
                return export_tflite(model, task, path, buckets, vocab_size)

            info = export(ckpt.model, raw)
            calibration = None
            if opts.quantize == "static-int8":
                calibration = _calibration_feeds(tmp, opts.calibration, buckets)
            repair = {}
            progress("quantizing TFLite" if opts.quantize != "none" else "writing TFLite")
            if opts.quantize in ("dynamic-int8", "static-int8") and opts.repair:
                from .repair import search, tflite_route

                precision, record = search(tflite_route(opts.quantize, export, calibration), ckpt.model, raw, info,
                                           tmp / "model.tflite", _repair_inputs(tmp, opts.calibration, buckets[-1]),
                                           int8_target(opts), detail)
                repair = {"int8": record}
            else:
                precision = quantize_tflite(raw, tmp / "model.tflite", opts.quantize, calibration)
            strip_internal_names(tmp / "model.tflite")
            models.append({"backend": "tflite", "file": "model.tflite", "precision": precision, **info, **repair})

        progress("writing bundle")
        body_labels = {}
        if ckpt.id2label is not None:
            bundle.write_json(tmp / LABELS, {str(k): v for k, v in sorted(ckpt.id2label.items())})
            body_labels = {"labels": LABELS}
        ckpt.config.to_json_file(str(tmp / "config.json"))
        if ckpt.notice:
            (tmp / "NOTICE").write_text(ckpt.notice, encoding="utf-8")
        manifest = bundle.write_manifest(tmp, {
            "source": {"model": ckpt.source, "model_type": ckpt.config.model_type,
                       "architectures": list(ckpt.config.architectures or [])},
            "task": task.name,
            "max_length": max_length,
            "buckets": buckets,
            "quantize": opts.quantize,
            "tokenizer": TOKENIZER,
            "vocab": VOCAB,
            "dictionary": DICTIONARY,
            **body_labels,
            "models": models,
            **pruning,
            "created_by": bundle.tool_versions(),
        })
        if opts.verify:
            # Verified while still staged: a bundle that fails never replaces a good one.
            from .verify import verify_bundle

            # a pruned build names the model, not the temporary directory it was compared through
            name = (f"{ckpt.source} with {pruning['pruning']['heads_after']} of "
                    f"{pruning['pruning']['heads_before']} attention heads") if pruning else None
            verify_bundle(tmp, reference, opts.verify_texts, model_name=name,
                          progress=lambda step: progress(f"verifying: {step}"))
            manifest = read_manifest(tmp, verify=False)
    return out, manifest
