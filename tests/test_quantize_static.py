"""`--quantize static-int8`: a full-integer TFLite graph (int8 weights AND activations, calibrated on
real sentences) that the runtimes load unchanged and that still agrees with fp32.

The tiny model shows the graph, the interfaces and the plumbing; one demo build (slow) shows the
accuracy on a trained MobileBERT, where a broken attention mask costs ~2 points of agreement.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import read_json
from mbja_build.build import BuildOptions, build_bundle
from mbja_build.calibration import MIN_PER_BUCKET, calibration_feeds, default_calibration_texts
from mbja_build.cli import main
from mbja_build.errors import UsageError

TINY_BUCKETS = [16, 64]


def _ops(path: Path):
    """(schema, model, [(subgraph, [(op name, op)])]) of a .tflite file."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(Path(path).read_bytes(), 0))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}

    def name(op):
        code = model.operatorCodes[op.opcodeIndex]
        return names[max(code.builtinCode, code.deprecatedBuiltinCode)]

    return schema, model, [(sg, [(name(op), op) for op in sg.operators]) for sg in model.subgraphs]


@pytest.fixture(scope="module")
def tiny_static(tmp_path_factory, tiny_checkpoint):
    """Tiny MobileBERT NER, ONNX + TFLite, static-int8 with the default calibration sample."""
    warned = []
    out, manifest = build_bundle(
        BuildOptions(model=str(tiny_checkpoint("mobilebert", "token-classification")), target="all",
                     quantize="static-int8", buckets=",".join(map(str, TINY_BUCKETS)), max_length=64,
                     out=tmp_path_factory.mktemp("tiny-static") / "bundle"), warn=warned.append)
    return out, manifest, warned


def test_manifest_records_what_each_model_is(tiny_static):
    out, manifest, warned = tiny_static
    precisions = {m["backend"]: m["precision"] for m in manifest["models"]}
    assert manifest["quantize"] == "static-int8"
    # ONNX Runtime's static QDQ int8 lost on accuracy and CPU speed: ONNX gets dynamic int8, and says so
    assert precisions == {"tflite": "static-int8", "onnx": "dynamic-int8"}
    assert any("static-int8 applies to TFLite only" in w for w in warned)
    assert read_json(out / "manifest.json")["models"] == manifest["models"]


def test_graph_is_full_integer(tiny_static):
    out, manifest, _ = tiny_static
    record = next(m for m in manifest["models"] if m["backend"] == "tflite")["int8"]
    # the tiny model met the repair's aim as it was: nothing had to stay float (the fallbacks: below)
    assert record["chosen"] == "plain" and record["float_op_types"] == [] and record["float_ops"] == []
    schema, model, subgraphs = _ops(out / "model.tflite")
    t = schema.TensorType
    assert len(subgraphs) == len(TINY_BUCKETS)
    for sg, ops in subgraphs:
        heavy = [op for name, op in ops if name in ("FULLY_CONNECTED", "BATCH_MATMUL")]
        assert heavy
        for op in heavy:
            ins = [sg.tensors[i] for i in op.inputs if i >= 0]
            assert ins[0].type == t.INT8 and ins[1].type == t.INT8 and sg.tensors[op.outputs[0]].type == t.INT8
            assert all(x.type == t.INT32 for x in ins[2:])                  # biases
        for name, op in ops:
            if name == "FULLY_CONNECTED":                                     # weights: int8, per channel
                w = sg.tensors[op.inputs[1]]
                assert len(w.quantization.scale) == w.shape[0] > 1
        # float only where LiteRT has no int8 kernel: the embedding lookups (int8 tables, float
        # rows, quantized right after) and the one DEQUANTIZE that gives the runtimes float logits
        floats = [name for name, op in ops if sg.tensors[op.outputs[0]].type == t.FLOAT32]
        assert sorted(set(floats)) == ["DEQUANTIZE", "EMBEDDING_LOOKUP"] and floats.count("DEQUANTIZE") == 1
        lookups = [op for name, op in ops if name == "EMBEDDING_LOOKUP"]
        assert all(sg.tensors[op.inputs[1]].type == t.INT8 for op in lookups)


@pytest.fixture(scope="module")
def tiny_raw(tmp_path_factory, tiny_checkpoint, tiny_static):
    """The tiny model's raw fp32 export (named tensors, as the quantizer needs) and its calibration."""
    from transformers import AutoModelForTokenClassification

    from mbja_build.convert.tflite_export import export_tflite
    from mbja_runtime.tokenize import Tokenizer

    model = AutoModelForTokenClassification.from_pretrained(tiny_checkpoint("mobilebert", "token-classification"))
    raw = tmp_path_factory.mktemp("tiny-raw") / "raw.tflite"
    info = export_tflite(model.eval(), "token-classification", raw, TINY_BUCKETS, model.config.vocab_size)
    tok = Tokenizer.from_bundle(tiny_static[0], verify=False)
    return raw, info, tok, calibration_feeds(tok, default_calibration_texts(), TINY_BUCKETS)


def _float_weights(path: Path) -> list[list[str]]:
    """Per signature, sorted: keys (int8_error.tflite_op_key) of the FULLY_CONNECTED ops with float
    weights (in a bundle, whose internal names are stripped, their positions instead)."""
    from mbja_build.int8_error import tflite_op_key

    schema, model, subgraphs = _ops(path)
    return [sorted(tflite_op_key(sg.tensors[op.outputs[0]].name.decode()) if sg.tensors[op.outputs[0]].name
                   else f"#{i}" for i, (name, op) in enumerate(ops)
                   if name == "FULLY_CONNECTED" and sg.tensors[op.inputs[1]].type == schema.TensorType.FLOAT32)
            for sg, ops in subgraphs]


@pytest.mark.parametrize("mode", ["dynamic-int8", "static-int8"])
def test_float_fallback_applies_to_the_same_ops_in_every_signature(tiny_raw, tmp_path, mode):
    """The repair's float fallback names ops by a key every signature shares: litert-torch gives
    each signature's tensors their own suffixes, and the quantizer matches names with a ";" after."""
    from mbja_build.int8_error import tflite_ranking
    from mbja_build.quantize import quantize_tflite

    raw, info, tok, feeds = tiny_raw
    inputs = [e.input_ids for e in tok.encode_batch(default_calibration_texts()[:40], max_length=64)]
    assert {len(i) <= TINY_BUCKETS[0] for i in inputs} == {True, False}          # both signatures ranked
    ranking = tflite_ranking(raw, info["signatures"], inputs)
    _, model, subgraphs = _ops(raw)
    per_signature = sum(name == "FULLY_CONNECTED" for name, _ in subgraphs[0][1])
    assert len(ranking) == per_signature                 # one entry per op, not one per op and signature
    chosen = {key for key, _ in ranking[:3]} | {"logits_output"}           # the head too (per-signature name)
    out = tmp_path / "fallback.tflite"
    quantize_tflite(raw, out, mode, feeds, float_ops=sorted(chosen), keep_src=True)
    assert _float_weights(out) == [sorted(chosen)] * len(TINY_BUCKETS)
    quantize_tflite(raw, out, mode, feeds, keep_src=True)
    assert _float_weights(out) == [[]] * len(TINY_BUCKETS)


def test_static_attention_can_stay_float(tiny_raw, tmp_path):
    """``float_types=ATTENTION_OPS``: every SOFTMAX and BATCH_MATMUL computes in float, every
    FULLY_CONNECTED stays int8 (what the repair tries for static int8's long inputs)."""
    from mbja_build.quantize import ATTENTION_OPS, quantize_tflite

    raw, info, tok, feeds = tiny_raw
    out = tmp_path / "attention-float.tflite"
    quantize_tflite(raw, out, "static-int8", feeds, float_types=ATTENTION_OPS, keep_src=True)
    schema, model, subgraphs = _ops(out)
    t = schema.TensorType
    for sg, ops in subgraphs:
        kinds = {}
        for name, op in ops:
            if name in ATTENTION_OPS + ("FULLY_CONNECTED",):
                kinds.setdefault(name, set()).add(sg.tensors[op.outputs[0]].type)
        assert kinds == {"SOFTMAX": {t.FLOAT32}, "BATCH_MATMUL": {t.FLOAT32}, "FULLY_CONNECTED": {t.INT8}}
    with pytest.raises(ValueError):
        quantize_tflite(raw, out, "dynamic-int8", float_types=ATTENTION_OPS, keep_src=True)


def test_attention_mask_survives_int8(tiny_static):
    """Every layer has its own mask copy, quantized as {0, a real negative floor}; the quantizer
    alone records the range [0, 0] (it ignores -inf / float32's minimum) and masking vanishes."""
    out, _, _ = tiny_static
    schema, model, subgraphs = _ops(out / "model.tflite")
    for sg, ops in subgraphs:
        produced_by = {int(op.outputs[0]): name for name, op in ops}
        adds = [op for name, op in ops if name == "ADD"]
        masks = [int(i) for op in adds for i in op.inputs if produced_by.get(int(i)) == "SELECT_V2"]
        assert len(masks) == len(set(masks)) == 2                         # two layers, two copies
        for m in masks:
            q = sg.tensors[m].quantization
            assert q.zeroPoint[0] == 127 and (-128 - 127) * q.scale[0] < -1e-2


def test_interfaces_and_runtime_agree_with_fp32(tiny_static, tiny_task_bundle, test_sentences):
    from ai_edge_litert.interpreter import Interpreter

    import mbja_runtime

    out, _, _ = tiny_static
    interpreter = Interpreter(model_path=str(out / "model.tflite"))
    for length in TINY_BUCKETS:
        runner = interpreter.get_signature_runner(f"seq_{length}")
        assert {k: v["dtype"] for k, v in runner.get_input_details().items()} == {
            "input_ids": np.int32, "attention_mask": np.int32, "token_type_ids": np.int32}
        assert {k: v["dtype"] for k, v in runner.get_output_details().items()} == {"logits": np.float32}

    static = mbja_runtime.load(out, backend="tflite")
    fp32 = mbja_runtime.load(tiny_task_bundle("token-classification"), backend="tflite")
    assert static.backend.precision == "static-int8" and fp32.backend.precision == "fp32"
    agree = total = 0
    counts = np.zeros(5)
    cosines = []
    for text in test_sentences:
        a, b = fp32.logits(text), static.logits(text)
        assert a.shape == b.shape and b.dtype == np.float32
        agree += int((a.argmax(-1) == b.argmax(-1)).sum())
        total += a.shape[0]
        counts += np.bincount(a.argmax(-1), minlength=5)
        cosines.append(float(a.ravel() @ b.ravel() / (np.linalg.norm(a) * np.linalg.norm(b))))
    # measured 97.9 %; a model calibrated on [PAD] only got 81 %, below always predicting the
    # tiny model's majority label (84 %): the bar is above both
    assert agree / total >= 0.95 > counts.max() / counts.sum()
    assert min(cosines) > 0.98


def test_calibration_feeds_fill_every_bucket(tiny_static):
    from mbja_runtime.tokenize import Tokenizer

    tok = Tokenizer.from_bundle(tiny_static[0])          # the demo vocabulary and the compiled dictionary
    texts = default_calibration_texts()
    assert len(texts) == 200
    buckets = [32, 64, 128, 256, 512]
    feeds = calibration_feeds(tok, texts, buckets)
    natural = [next(b for b in buckets if b >= len(e)) for e in tok.encode_batch(texts, max_length=512)]
    assert natural.count(256) < MIN_PER_BUCKET and natural.count(512) < MIN_PER_BUCKET   # topped up
    for k, length in enumerate(buckets):
        got = feeds[f"seq_{length}"]
        assert len(got) == max(natural.count(length), MIN_PER_BUCKET)
        for f in got:
            assert set(f) == {"input_ids", "attention_mask", "token_type_ids"}
            assert all(v.dtype == np.int32 and v.shape == (1, length) for v in f.values())
        # a bucket's own texts are longer than the bucket below holds; its top-up (joined texts) is
        # spread from the first bucket's length up (calibration.py: better ranges for long inputs)
        lengths = [int(f["attention_mask"].sum()) for f in got]
        assert all((buckets[0] if k else 0) < n <= length for n in lengths)
        if natural.count(length) == 0:                    # 256, 512: joined texts only
            assert min(lengths) <= buckets[k - 1] < max(lengths), (length, sorted(lengths))
    # five texts: every bucket still gets some, padded or truncated to its length
    few = calibration_feeds(tok, texts[:5], [16, 64])
    assert all(len(v) >= 1 for v in few.values())
    with pytest.raises(ValueError):
        calibration_feeds(tok, [], [16])


def test_static_int8_without_calibration_inputs_is_refused(tmp_path):
    from mbja_build.quantize import quantize_tflite

    src = tmp_path / "model.tflite"
    src.write_bytes(b"")
    with pytest.raises(UsageError, match="calibration"):
        quantize_tflite(src, tmp_path / "out.tflite", "static-int8", None)
    with pytest.raises(UsageError, match="calibration"):
        quantize_tflite(src, tmp_path / "out.tflite", "static-int8", {"seq_16": []})


@pytest.mark.parametrize("content,needle", [("", "no non-empty line"), ("\n  \n", "no non-empty line"),
                                            (b"\xff\xfe\x00bad", "cannot read it as UTF-8")])
def test_cli_rejects_unusable_calibration_file(tmp_path, capsys, content, needle):
    f = tmp_path / "cal.txt"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["--quantize", "static-int8", "--calibration", str(f), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mbja-build: error: --calibration") and needle in err and "\n" not in err


def test_cli_calibration_file_missing_and_misplaced(tmp_path, capsys):
    assert main(["--quantize", "static-int8", "--calibration", str(tmp_path / "nope.txt"),
                 "--out", str(tmp_path / "x")]) == 2
    assert "--calibration" in capsys.readouterr().err
    f = tmp_path / "cal.txt"
    f.write_text("東京都に住む。\n", encoding="utf-8")
    assert main(["--quantize", "none", "--calibration", str(f), "--out", str(tmp_path / "y")]) == 2
    assert "--calibration is for int8" in capsys.readouterr().err
    with pytest.raises(UsageError, match="no non-empty text"):
        build_bundle(BuildOptions(quantize="static-int8", calibration=["", " "], out=tmp_path / "z"))


@pytest.mark.slow
def test_demo_static_int8_agrees_with_pytorch(tmp_path, test_sentences):
    """The trained demo: verify's own measure against PyTorch, on the 200 unseen sentences and on
    full 512-token inputs (unseen sentences joined).

    Plain static int8 measured 99.2 % token argmax agreement on short sentences (dynamic int8
    99.8 %) but 96.2 % on 512-token inputs (decisive positions: 99.7 % and 97.2 %): the softmax's fixed int8 scale loses the small
    probabilities of long inputs. The repair, judging on long calibration inputs too, leaves the
    attention core float (quantize.ATTENTION_OPS) and the manifest says so. The gate judges
    decisive positions (verify.decisive), where the bars must hold.
    """
    from mbja_build.quantize import ATTENTION_OPS
    from mbja_build.verify import compare, passes
    from mbja_runtime.tokenize import Tokenizer

    out, manifest = build_bundle(BuildOptions(target="tflite", quantize="static-int8", out=tmp_path / "demo"))
    spec = manifest["models"][0]
    assert spec["precision"] == "static-int8"
    record = spec["int8"]
    assert record["attempts"][0]["name"] == "plain" and record["float_op_types"] == list(ATTENTION_OPS)
    # the float fallback may add a matmul or two (each gained ~0.02 points); the graph is integer
    # apart from exactly what the manifest lists
    assert len(record["float_ops"]) <= 4
    # (the bundle's tensor names are stripped: counted, not named)
    assert [len(keys) for keys in _float_weights(out / "model.tflite")] == \
        [len(record["float_ops"])] * len(spec["signatures"])
    tok = Tokenizer.from_bundle(out, verify=False)
    long, text = [], ""
    for sentence in test_sentences:
        text += sentence
        if len(tok.encode(text, truncation=False).input_ids) > 512:
            long.append(text)
            text = ""
    short_report, long_report = (compare(out, None, texts)["backends"]["tflite"] for texts in (test_sentences, long))
    for name, entry in (("200 sentences", short_report), (f"{len(long)} 512-token inputs", long_report)):
        print(f"demo static-int8, {name}: argmax agreement {entry['argmax_agreement']:.4f}, decisive "
              f"{entry['decisive_agreement']:.4f}, min cosine {entry['min_cosine']:.4f}")
        assert entry["decisive_positions"] > 0.9 * entry["positions"]     # the demo decides most tokens
        assert entry["min_cosine"] > 0.99
    assert short_report["decisive_agreement"] >= 0.995 and passes(short_report)
    # the default five buckets: measured 99.35 % (98.99 % before the calibration top-up was spread
    # from the first bucket up; plain full-integer: 97.2 %); 99.25 % on another 28 such inputs
    assert len(long) >= 10 and long_report["decisive_agreement"] >= 0.99
