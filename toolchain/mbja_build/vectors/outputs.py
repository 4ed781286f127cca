"""Model vectors (logits and decoded task results) for a sample of sentences.

Two gzip JSON files, read by the Kotlin SDK's JVM tests (android-demo/sdk/src/test/kotlin):

* ``model_<task>.json.gz``: for a fixed sample of unseen ner.json sentences, a few odd-Unicode
  texts and long texts (sliding windows), the encoding, the bundle's ONNX output (float32,
  little-endian, base64) and what the Python pipeline decodes from it. The JVM tests rerun the
  model through ONNX Runtime Java (logits within 1e-4) and the Kotlin decoders (same results).
  It also holds fill-mask and feature-extraction results of the same bundle relabelled
  (``retasked_vectors``), so those facade calls are compared end to end on a real model.
* ``postprocess.json.gz``: every pipeline's postprocess function on seeded synthetic logits, so
  the Kotlin decoders of classification, fill-mask and embeddings are tested even though the
  demo bundle is NER-only. It depends only on the tokenizer (vocabulary + dictionary), not on
  the model, so any bundle built from the demo vocabulary writes the same file.

Offsets and entity spans are Python string indices (code points); the Kotlin side converts them
to UTF-16. Uses mbja_runtime only: no torch.
"""
from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import numpy as np

#: Unseen (test-split) ner.json sentences in the model vectors.
SAMPLE_SIZE = 50
#: Texts beyond the sample: astral characters, NFKC-changing forms, combining marks, blanks, empty.
ODD_TEXTS = (
    "",
    "　",
    "😀東京都に住む𠮷野さんは🇯🇵のトヨタ自動車で働く。",
    "ｱｲﾌｫｰﾝを㈱ソニーが買った㍻元年、Ｔｏｋｙｏにて。",
    "か\u3099っこう\u200bと\tＮＨＫ\u00a0放送センター",
    "[MASK]と[CLS]の間に東京[SEP]大阪",
)
#: Long texts: sample sentences joined until they pass these token counts (2 and 3 windows at 512).
LONG_TOKENS = (700, 1100)
SEED = 20260601
#: Synthetic NER labels; "MISC" and "S-地名" have no B-/I- prefix (they group as I-label).
SYN_NER_LABELS = ["O", "B-人名", "I-人名", "B-地名", "I-地名", "MISC", "S-地名"]
SYN_VOCAB = ["[PAD]", "[UNK]", "東京", "##都", "大阪", "の", "##府", "首都", "日本", "##人", "は", "が",
             "京都", "##市", "名古屋", "で", "です", "。", "##ア", "横浜"]


def f32(a) -> dict:
    """A float32 array as {"shape", "f32": base64 of little-endian bytes}: exact and compact."""
    a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
    return {"shape": list(a.shape), "f32": base64.b64encode(a.tobytes()).decode("ascii")}


def _encoding(text: str, enc) -> dict:
    return {"text": text, "input_ids": list(map(int, enc.input_ids)),
            "token_type_ids": list(map(int, enc.token_type_ids)), "tokens": list(enc.tokens),
            "offsets": [None if o is None else [int(o[0]), int(o[1])] for o in enc.offsets]}


def _dump(obj, path: Path) -> Path:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(data)  # mtime=0, no name: the same input gives the same bytes
    return path


def read(path: Path):
    with gzip.open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def sample_texts() -> list[str]:
    """The first SAMPLE_SIZE sentences of the fixed ner.json test split: from the packaged sample
    (mbja_build/samples/, what ``mbja-build verify`` uses) when present, else from ner.json."""
    sample = Path(__file__).resolve().parents[1] / "samples" / "ner_test_sample.txt"
    if sample.is_file():
        lines = sample.read_text(encoding="utf-8").splitlines()
        if len(lines) >= SAMPLE_SIZE:
            return lines[:SAMPLE_SIZE]
    from ..demo.data import load_ner, split

    _, test = split(load_ner())
    return [r["text"] for r in test[:SAMPLE_SIZE]]


def _long_texts(m, texts: list[str]) -> list[str]:
    out = []
    for target in LONG_TOKENS:
        parts, n = [], 0
        for t in texts * 10:
            parts.append(t)
            n += len(m.tokenizer.encode(t, truncation=False)) - 2
            if n + 2 > target:
                break
        out.append("".join(parts))
    return out


def model_vectors(bundle_dir: Path) -> dict:
    """Encoding, output and decoded results of the bundle's ONNX model for every vector text."""
    import mbja_runtime
    from mbja_runtime.pipelines import AGGREGATIONS

    m = mbja_runtime.load(bundle_dir, backend="onnx", num_threads=1)
    if m.task != "token-classification":
        from ..errors import UsageError

        raise UsageError(f"vectors are made from a token-classification bundle such as the demo "
                         f"(mbja-build --target onnx --out build/demo-bundle); {bundle_dir} is {m.task}")
    sample = sample_texts()
    longs = _long_texts(m, sample)
    texts = [("sample", t) for t in sample] + [("odd", t) for t in ODD_TEXTS] + [("long", t) for t in longs]
    cases = []
    for kind, text in texts:
        enc = m.encode(text)
        case = {"kind": kind, **_encoding(text, enc), "logits": f32(m.logits(text)),
                "results": {a: m(text, aggregation=a) for a in AGGREGATIONS}}
        cases.append(case)
    from ..verify import DECISIVE_MARGIN, FP32_MAX_ABS, FP32_MAX_REL, QUANT_MIN_AGREEMENT

    return {"task": m.task, "max_length": m.max_length, "labels": [m.id2label[i] for i in range(len(m.id2label))],
            # how close another engine's logits must be: max(abs, rel * max|logit| of the case)
            "tolerance": {"fp32_max_abs": FP32_MAX_ABS, "fp32_max_rel": FP32_MAX_REL},
            # how another engine's int8 logits are judged (docs/bundle-format.md, "The int8 gate")
            "int8_gate": {"decisive_margin": DECISIVE_MARGIN, "min_decisive_agreement": QUANT_MIN_AGREEMENT},
            "model_sha256": m.manifest["files"][m.manifest["models"][0]["file"]]["sha256"], "cases": cases,
            **retasked_vectors(Path(bundle_dir), sample[:5] + [t for t in ODD_TEXTS if t] + longs[:1])}


def _retasked(bundle_dir: Path, task: str, out: Path) -> Path:
    """``bundle_dir`` with another task in its manifest, files symlinked."""
    manifest = json.loads((bundle_dir / "manifest.json").read_text(encoding="utf-8"))
    for name in manifest["files"]:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).symlink_to((bundle_dir / name).resolve())
    (out / "manifest.json").write_text(json.dumps({**manifest, "task": task}), encoding="utf-8")
    return out


def retasked_vectors(bundle_dir: Path, texts: list[str]) -> dict:
    """The fill-mask and feature-extraction pipelines end to end on the NER bundle relabelled.

    The demo bundle is NER-only; read as a fill-mask bundle, its (tokens, 17) output is a
    17-token "vocabulary", and as a feature-extraction bundle a 17-dim hidden state. The Kotlin
    tests relabel it the same way, so MobileBertJa.fillMask/embed (encoding, [MASK] checks,
    truncation, pooling) are compared with Python on a real model. Errors are recorded as such.
    """
    import tempfile

    import mbja_runtime
    from mbja_runtime.errors import MbjaError

    long = texts[-1]
    fill_texts = ["東京は日本の[MASK]です。", "[MASK]と[MASK]、😀[MASK]", "[MASK]", "マスクなし。",
                  "[MASK]" + long, long + "[MASK]"]
    with tempfile.TemporaryDirectory() as tmp:
        fill = mbja_runtime.load(_retasked(bundle_dir, "fill-mask", Path(tmp) / "fm"), backend="onnx", num_threads=1)
        fill_cases = []
        for text in fill_texts:
            try:
                fill_cases.append({"text": text, "top_k": 3, "results": fill(text, top_k=3)})
            except MbjaError:
                fill_cases.append({"text": text, "top_k": 3, "error": True})
        fe = mbja_runtime.load(_retasked(bundle_dir, "feature-extraction", Path(tmp) / "fe"), backend="onnx",
                               num_threads=1)
        fe_cases = [{"text": t, "pooling": p, "normalize": n, "result": f32(fe(t, pooling=p, normalize=n))}
                    for t in texts for p in ("cls", "mean") for n in (False, True)]
    return {"fill_mask": fill_cases, "feature_extraction": fe_cases}


def postprocess_vectors(bundle_dir: Path) -> dict:
    """Each pipeline's postprocess on seeded synthetic logits over real encodings."""
    from mbja_runtime.pipelines import AGGREGATIONS, decode_entities, decode_labels, decode_masks, pool
    from mbja_runtime.pipelines.text_classification import score_function
    from mbja_runtime.pipelines.windows import best_window, window_starts
    from mbja_runtime.tokenize import Tokenizer

    tok = Tokenizer.from_bundle(bundle_dir)
    rng = np.random.default_rng(SEED)
    ner_texts = ["レッドフォックス株式会社は東京都千代田区にある。", "山田太郎さんはアイフォーンとギャラクシーを比べた。",
                 "😀𠮷野家の大阪府本店", "", "ＡＢＣカンパニーのＣＥＯ"]
    id2label = dict(enumerate(SYN_NER_LABELS))
    ner = []
    for text in ner_texts:
        enc = tok.encode(text, truncation=False)
        logits = (rng.normal(0, 2.5, (len(enc), len(SYN_NER_LABELS)))).astype(np.float32)
        ner.append({**_encoding(text, enc), "labels": SYN_NER_LABELS, "logits": f32(logits),
                    "results": {a: decode_entities(logits, enc, text, id2label, a) for a in AGGREGATIONS}})

    classification = []
    for n, n_labels, top_k, fn in [(5, 5, 1, "softmax"), (5, 5, 3, "softmax"), (5, 3, None, "softmax"),
                                   (2, 2, None, "sigmoid"), (1, 1, 1, "sigmoid"), (4, 4, 2, "softmax")]:
        logits = rng.normal(0, 3, n).astype(np.float32)
        if n == 4:
            logits[:] = logits[0]  # ties: stable order
        labels = [f"ラベル{i}" for i in range(n_labels)]
        classification.append({"logits": f32(logits), "labels": labels, "top_k": top_k, "function": fn,
                               "results": decode_labels(logits, dict(enumerate(labels)), top_k, fn)})
    configs = [{}, {"problem_type": "multi_label_classification", "id2label": {"0": "a", "1": "b"}},
               {"num_labels": 1}, {"id2label": {"0": "a"}}, {"id2label": {"0": "a", "1": "b"}}]
    score_functions = [{"config": c, "function": score_function(c)} for c in configs]

    mask_id = tok.vocab[tok.settings["mask_token"]]
    fill = []
    for text, top_k in [("東京は日本の[MASK]です。", 3), ("[MASK]府と[MASK]都、😀[MASK]", 5), ("[MASK]", 40)]:
        enc = tok.encode(text, truncation=False)
        logits = rng.normal(0, 2, (len(enc), len(SYN_VOCAB))).astype(np.float32)
        logits[:, 5] = logits[:, 6]  # a tie in every row
        fill.append({**_encoding(text, enc), "mask_id": mask_id, "vocab": SYN_VOCAB, "top_k": top_k,
                     "logits": f32(logits),
                     "results": decode_masks(logits, enc, text, mask_id, SYN_VOCAB.__getitem__, top_k)})

    features = []
    for hidden in (rng.normal(0, 1, (7, 8)).astype(np.float32), np.zeros((3, 8), np.float32),
                   rng.normal(0, 40, (1, 8)).astype(np.float32)):
        for pooling in ("cls", "mean"):
            for normalize in (False, True):
                features.append({"hidden": f32(hidden), "pooling": pooling, "normalize": normalize,
                                 "result": f32(pool(hidden, pooling, normalize))})

    windows = []
    for n, size, stride in [(5, 10, 2), (10, 10, 0), (11, 10, 0), (25, 10, 3), (100, 30, 14), (1100, 510, 32)]:
        starts = window_starts(n, size, stride)
        windows.append({"n": n, "size": size, "stride": stride, "starts": starts,
                        "best": best_window(n, size, starts).tolist()})
    return {"seed": SEED, "token_classification": ner, "text_classification": classification,
            "score_functions": score_functions, "fill_mask": fill, "feature_extraction": features,
            "windows": windows}


def write(bundle_dir: Path, out_dir: Path, model_only: bool = False) -> list[Path]:
    """Write ``model_<task>.json.gz`` and (unless ``model_only``) ``postprocess.json.gz`` into ``out_dir``."""
    model = model_vectors(Path(bundle_dir))
    written = [_dump(model, Path(out_dir) / f"model_{model['task'].replace('-', '_')}.json.gz")]
    if not model_only:
        written.append(_dump(postprocess_vectors(Path(bundle_dir)), Path(out_dir) / "postprocess.json.gz"))
    return written
