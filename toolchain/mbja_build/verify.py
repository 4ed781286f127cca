"""`mbja-build verify`: parity of a bundle with the PyTorch checkpoint it came from, on real text.

The reference is computed here, with transformers' own BertJapaneseTokenizer (MeCab + unidic-lite),
the PyTorch model and transformers' pipeline, never with anything the bundle produced. For each
backend of the bundle the report gives: token-id equality of the device tokenizer, max absolute
and relative logit difference, cosine, argmax agreement, and task-level agreement (NER entities
against ``pipeline("token-classification", aggregation_strategy="simple")``, labels for
classification). Real MobileBERT checkpoints have huge NoNorm activations (optimum#1027), so fp32
passes on an absolute OR a relative bound. The report is written into the bundle (``verify.json``,
listed in the manifest), so a bundle carries its own evidence.
"""
from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path

import numpy as np

from mbja_runtime.bundle import MANIFEST, max_input_length, read_manifest

from .errors import BuildError, UsageError
from .reference import reference_tokenizer

#: Thresholds the build and tests hold bundles to. An fp32 export passes if it is within
#: FP32_MAX_ABS absolutely OR within FP32_MAX_REL of the largest reference logit: on the trained
#: demo (NoNorm, |logits| up to ~40) PyTorch fp32 itself is 5.7e-4 away from PyTorch fp64 and
#: 2.4e-4 away from itself on a padded batch, so an absolute 1e-4 would measure noise, not export
#: fidelity (measured on 200 test sentences; ONNX 1.5e-3 = 5.3e-5 relative, TFLite 7.5e-4).
FP32_MAX_ABS = 1e-4
FP32_MAX_REL = 1e-4
QUANT_MIN_AGREEMENT = 0.99


def decisive(reference: np.ndarray) -> np.ndarray:
    """Boolean mask over the positions (all axes but the last) of ``reference`` logits whose
    softmax top-1 exceeds the runner-up by ``DECISIVE_MARGIN``."""
    ref = np.asarray(reference, dtype=np.float64)
    if ref.shape[-1] < 2:
        return np.ones(ref.shape[:-1], dtype=bool)
    p = np.exp(ref - ref.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    top = np.partition(p, -2, axis=-1)[..., -2:]
    return (top[..., 1] - top[..., 0]) >= DECISIVE_MARGIN


class Agreement:
    """Running argmax agreement of outputs with their fp32 references: at every position, and at the
    decisive ones (``decisive``), plus the smallest cosine of a whole output."""

    def __init__(self):
        self.agree = self.total = self.decisive_agree = self.decisive_total = 0
        self.min_cosine = 1.0

    def add(self, reference: np.ndarray, got: np.ndarray) -> None:
        same = np.asarray(got).argmax(-1) == np.asarray(reference).argmax(-1)
        mask = decisive(reference)
        self.agree += int(same.sum())
        self.total += int(same.size)
        self.decisive_agree += int(same[mask].sum())
        self.decisive_total += int(mask.sum())
        a, b = np.ravel(got).astype(np.float64), np.ravel(reference).astype(np.float64)
        self.min_cosine = min(self.min_cosine, float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)))

    def as_dict(self) -> dict:
        return {"argmax_agreement": self.agree / max(self.total, 1), "positions": self.total,
                "decisive_agreement": self.decisive_agree / self.decisive_total if self.decisive_total else None,
                "decisive_positions": self.decisive_total, "min_cosine": self.min_cosine}


def quantized_passes(entry: dict, target: float = None) -> bool:
    """The int8 gate (verify and the repair search): decisive agreement >= ``target`` (default
    QUANT_MIN_AGREEMENT); with no decisive position, min cosine >= QUANT_MIN_COSINE_WITHOUT_DECISIONS."""
    target = QUANT_MIN_AGREEMENT if target is None else target
    if entry.get("decisive_agreement") is None and "decisive_positions" in entry:
        return entry["min_cosine"] >= QUANT_MIN_COSINE_WITHOUT_DECISIONS
    return entry.get("decisive_agreement", entry["argmax_agreement"]) >= target


def fp32_tolerance(reference) -> float:
    """How far one fp32 engine's output may lie from another's on the same input: FP32_MAX_ABS, or
    FP32_MAX_REL of the output's largest magnitude, whichever is larger (the rule ``passes`` applies
    to a whole verify run, here per output; the shared vectors carry both numbers for every runtime).

    Measured on the demo's 56 vector texts (logit scale 18-37): PyTorch fp32 vs fp64 differ by
    2.1e-5 of the scale, ONNX Runtime vs PyTorch fp32 by 4.3e-5: any two correct fp32
    implementations sit within ~5e-5 of the scale, so 1e-4 relative leaves a 2x margin, where an
    absolute 1e-4 would be 20x below the rounding noise of this model.
    """
    return max(FP32_MAX_ABS, FP32_MAX_REL * float(np.max(np.abs(reference), initial=0.0)))

#: A position's fp32 prediction is *decisive* when its top-1 probability beats the runner-up by at
#: least this much. Quantized models are judged on decisive positions only: a randomly initialised
#: MobileBERT has near-tied logits everywhere (a full-size one failed the old all-positions rule at
#: 98.8 % with a max |logit diff| of 8.6e-4), and flipping a coin-toss is no damage, while an
#: outlier-broken int8 model flips confident predictions. With no decisive position at all, the
#: output's shape is judged instead: min cosine >= QUANT_MIN_COSINE_WITHOUT_DECISIONS.
DECISIVE_MARGIN = 0.1
QUANT_MIN_COSINE_WITHOUT_DECISIONS = 0.99
#: Task-level agreement (whole sentences' entity lists, labels) required of fp32 bundles.
TASK_MIN_AGREEMENT = 0.99
REPORT = "verify.json"
SAMPLE = Path(__file__).resolve().parent / "samples" / "ner_test_sample.txt"


class VerifyError(BuildError):
    """The bundle does not reproduce its checkpoint within the thresholds (exit code 1)."""


def default_texts(limit: int | None = None) -> list[str]:
    """200 unseen sentences of Stockmark's NER set shipped with the package (CC-BY-SA 3.0)."""
    texts = [t for t in SAMPLE.read_text(encoding="utf-8").splitlines() if t.strip()]
    return texts[:limit] if limit else texts


def read_texts(path: str | os.PathLike, option: str = "--texts") -> list[str]:
    """Non-empty lines of a UTF-8 file; an unreadable or empty file is a usage error of ``option``."""
    p = Path(path)
    try:
        texts = [t for t in p.read_text(encoding="utf-8").splitlines() if t.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{option} {p}: cannot read it as UTF-8 text ({e})") from None
    if not texts:
        raise UsageError(f"{option} {p} has no non-empty line")
    return texts


def _entity_key(word: str) -> str:
    """transformers' slow-tokenizer entity ``word`` (tokens joined by spaces) without the joins."""
    return re.sub(r"\s+", "", word).removeprefix("##")


def _same_entities(ref: list[dict], got: list[dict]) -> bool:
    if [e["entity_group"] for e in ref] != [e["type"] for e in got]:
        return False
    for r, g in zip(ref, got):
        text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", g["text"]))
        want = _entity_key(r["word"])
        if "[UNK]" in want:
            pattern = ".+".join(re.escape(part) for part in want.split("[UNK]"))
            if not re.fullmatch(pattern, text):
                return False
        elif want != text:
            return False
    return True


def _source_model(manifest: dict) -> str | None:
    src = manifest.get("source", {}).get("model")
    return None if src in (None, "demo") else src


def compare(bundle_dir, model=None, texts: list[str] | None = None, backends: list[str] | None = None,
            progress=lambda s: None) -> dict:
    """Run PyTorch and every (or the named) backend of the bundle on ``texts``; return the report.

    ``model``: checkpoint (directory, Hub id, None = the bundle's source); ``texts``: default sample.
    """
    progress("PyTorch reference")
    import torch

    from mbja_runtime.pipelines import PIPELINES
    from mbja_runtime.tokenize import Tokenizer

    from .checkpoint import load_checkpoint

    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    texts = list(texts) if texts is not None else default_texts()
    settings = json.loads((bundle_dir / manifest["tokenizer"]).read_text(encoding="utf-8"))
    tok = reference_tokenizer(bundle_dir / settings.get("vocab", "vocab.txt"))
    ckpt = load_checkpoint(model if model is not None else _source_model(manifest), manifest["task"])
    max_length = max_input_length(manifest)
    # one untruncated pass tells which texts fit; only the others are encoded again, truncated
    encodings = [tok(t, return_token_type_ids=True) for t in texts]
    fits = [len(e["input_ids"]) <= max_length for e in encodings]
    encodings = [e if fit else tok(t, truncation=True, max_length=max_length, return_token_type_ids=True)
                 for t, e, fit in zip(texts, encodings, fits)]
    ours = Tokenizer.from_bundle(bundle_dir, verify=False)
    same_ids = sum(list(ours.encode(t, max_length=max_length).input_ids) == e["input_ids"]
                   for t, e in zip(texts, encodings))
    with torch.no_grad():
        refs = []
        for enc in encodings:
            feeds = {k: torch.tensor([enc[k]]) for k in ("input_ids", "attention_mask", "token_type_ids")}
            refs.append(getattr(ckpt.model(**feeds, return_dict=True), ckpt.task.output)[0].numpy())
    task = manifest["task"]
    ref_task = None
    if task == "token-classification":
        from transformers import pipeline

        ner = pipeline("token-classification", model=ckpt.model, tokenizer=tok, aggregation_strategy="simple")
        ref_task = [ner(t) if ok else None for t, ok in zip(texts, fits)]
    elif task == "sequence-classification":
        ref_task = [ckpt.id2label[int(r.argmax())] for r in refs]

    report = {"task": task, "model": ckpt.source, "texts": len(texts), "max_length": max_length,
              "tokenizer": {"same_input_ids": same_ids, "texts": len(texts)},
              "thresholds": {"fp32_max_abs": FP32_MAX_ABS, "fp32_max_rel": FP32_MAX_REL,
                             "quantized_min_argmax_agreement": QUANT_MIN_AGREEMENT,
                             "fp32_min_task_agreement": TASK_MIN_AGREEMENT},
              "backends": {}}
    for spec in manifest["models"]:
        if backends and spec["backend"] not in backends:
            continue
        progress(f"{spec['backend']} ({spec['precision']})")
        # one opened model per backend: the logits below and the task agreement use the same one
        pipe = PIPELINES[task](bundle_dir, backend=spec["backend"], verify=False)
        be = pipe.backend
        max_abs = max_rel = 0.0
        agreement = Agreement()
        for enc, ref in zip(encodings, refs):
            got = be.run(np.array(enc["input_ids"]), np.array(enc["attention_mask"]), np.array(enc["token_type_ids"]))
            diff = np.abs(got - ref)
            max_abs = max(max_abs, float(diff.max()))
            max_rel = max(max_rel, float(diff.max() / (np.abs(ref).max() + 1e-12)))
            agreement.add(ref, got)
        entry = {"precision": spec["precision"], "max_abs_diff": max_abs, "max_rel_diff": max_rel,
                 **agreement.as_dict()}
        if ref_task is not None:
            if task == "token-classification":
                pairs = [(r, pipe(t)) for t, r in zip(texts, ref_task) if r is not None]
                same = sum(_same_entities(r, g) for r, g in pairs)
                entry["entity_agreement"] = same / len(pairs) if pairs else 1.0
                entry["entity_sentences"] = len(pairs)
            else:
                same = sum(pipe(t)[0]["label"] == r for t, r in zip(texts, ref_task))
                entry["label_agreement"] = same / len(texts)
        entry["passed"] = passes(entry) and same_ids == len(texts)
        report["backends"][spec["backend"]] = entry
    report["passed"] = bool(report["backends"]) and all(e["passed"] for e in report["backends"].values())
    return report


def task_agreement(entry: dict) -> float | None:
    return entry.get("entity_agreement", entry.get("label_agreement"))


def passes(entry: dict) -> bool:
    """fp32: logits within the absolute or relative bound and task agreement >= 99 %;
    quantized (dynamic-int8, static-int8, fp16): ``quantized_passes`` (task agreement is reported)."""
    if entry["precision"] == "fp32":
        close = entry["max_abs_diff"] <= FP32_MAX_ABS or entry["max_rel_diff"] <= FP32_MAX_REL
        agreement = task_agreement(entry)
        return close and (agreement is None or agreement >= TASK_MIN_AGREEMENT)
    return quantized_passes(entry)


def summary(report: dict) -> str:
    """One line per backend, for the CLI."""
    lines = [f"tokenizer: {report['tokenizer']['same_input_ids']}/{report['tokenizer']['texts']} texts "
             f"with identical input_ids"]
    for name, e in report["backends"].items():
        agreement = task_agreement(e)
        extra = f", task agreement {agreement:.2%}" if agreement is not None else ""
        if e.get("decisive_positions") is not None:
            share = e["decisive_agreement"]
            extra = (f", decisive {share:.2%} of {e['decisive_positions']}" if share is not None
                     else ", no decisive position") + extra
        lines.append(f"{name} ({e['precision']}): max abs diff {e['max_abs_diff']:.2e} (rel {e['max_rel_diff']:.2e}), "
                     f"min cosine {e['min_cosine']:.6f}, argmax agreement {e['argmax_agreement']:.2%}{extra} "
                     f"-> {'ok' if e['passed'] else 'FAILED'}")
    return "\n".join(lines)


def write_report(bundle_dir, report: dict) -> None:
    """Put ``verify.json`` into the bundle and list it in the manifest (both replaced atomically)."""
    from mbja_runtime.bundle import sha256_file

    from .bundle import write_json

    root = Path(bundle_dir)
    manifest = read_manifest(root, verify=False)
    tmp = root / f".{REPORT}.tmp"
    write_json(tmp, report)
    os.replace(tmp, root / REPORT)
    manifest["files"][REPORT] = {"sha256": sha256_file(root / REPORT), "size": (root / REPORT).stat().st_size}
    manifest["verify"] = REPORT
    tmp = root / f".{MANIFEST}.tmp"
    write_json(tmp, manifest)
    os.replace(tmp, root / MANIFEST)


def verify_bundle(bundle_dir, model=None, texts=None, backends=None, write: bool = True,
                  progress=lambda s: None, model_name: str | None = None, show=None) -> dict:
    """Compare, write the report into the bundle, raise VerifyError when a backend fails.

    ``model_name`` replaces the report's ``model`` (e.g. when ``model`` is a temporary directory).
    ``show``: called with the summary before any failure is raised (the CLI prints it, so the
    error stays one line); without it the summary goes into the error's message.
    """
    report = compare(bundle_dir, model, texts, backends, progress)
    if model_name is not None:
        report["model"] = model_name
    if write:
        write_report(bundle_dir, report)
    if show is not None:
        show(summary(report))
    if not report["passed"]:
        detail = " (see above)" if show is not None else f":\n{summary(report)}"
        raise VerifyError(f"verification failed: bundle {bundle_dir} does not reproduce its checkpoint{detail}")
    return report
