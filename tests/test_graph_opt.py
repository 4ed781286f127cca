"""MobileBERT's export-time folding (convert/fold_nonorm.py): same outputs, fewer graph ops.

Random checkpoints start with NoNorm = identity (gamma 1, beta 0), where a wrong fold would go
unnoticed, so every check here first gives the NoNorms random values.
"""
from __future__ import annotations

import collections

import numpy as np
import pytest
import torch

from mbja_build.checkpoint import load_checkpoint
from mbja_build.convert.fold_nonorm import FoldedMobileBert, fold_mobilebert
from mbja_build.tasks import TASKS

#: relative to the largest output magnitude: fp32 rounding, far below verify's FP32_MAX_REL (1e-4)
REL_TOL = 1e-5


def randomize_nonorms(model, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".LayerNorm." in name and "predictions" not in name:   # the MLM head's is a real LayerNorm
                p.copy_(torch.randn(p.shape, generator=g) * 0.5 + (1.0 if name.endswith("weight") else 0.0))
    return model


def inputs(batch: int, length: int, vocab: int):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, vocab, (batch, length), generator=g)
    mask = torch.ones(batch, length, dtype=torch.long)
    mask[1:, length // 2:] = 0                       # padded rows, as a batch of texts has
    types = torch.zeros(batch, length, dtype=torch.long)
    types[:, length // 3:] = 1
    return dict(input_ids=ids, attention_mask=mask, token_type_ids=types)


def outputs(model, feeds, name):
    with torch.no_grad():
        out = model(**feeds, return_dict=True)
    return getattr(out, name)


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / np.abs(a).max())


@pytest.fixture(scope="module")
def tiny_model(tiny_checkpoint):
    cache = {}

    def get(task: str):
        if task not in cache:
            cache[task] = randomize_nonorms(load_checkpoint(str(tiny_checkpoint("mobilebert", task)), task).model.eval())
        return cache[task]

    return get


@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("task", sorted(TASKS))
def test_folded_equals_unfolded_tiny(tiny_model, task, fuse):
    model = tiny_model(task)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = fold_mobilebert(model, fuse_projections=fuse)
    assert folded is not model
    feeds, name = inputs(3, 24, model.config.vocab_size), TASKS[task].output
    ref, out = outputs(model, feeds, name), outputs(folded, feeds, name)
    assert rel_diff(ref, out) < REL_TOL
    # the caller's model is untouched: same weights, and still transformers' own modules
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(isinstance(m, FoldedMobileBert) for m in model.modules())
    assert not any(type(m).__name__ == "NoNorm" for m in folded.modules())


VARIANTS = {   # each MobileBERT layout transformers' Bottleneck.forward knows, plus pruned heads
    "shared-qk": {},
    "bottleneck-attention": dict(use_bottleneck_attention=True),
    "x-qkv": dict(key_query_shared_bottleneck=False, true_hidden_size=64, intra_bottleneck_size=64),
    "plain": dict(use_bottleneck=False, true_hidden_size=64, intra_bottleneck_size=64),
    "no-trigram": dict(trigram_input=False, embedding_size=64),
    "one-ffn": dict(num_feedforward_networks=1),
    "pruned": {},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_folded_equals_unfolded_layouts(variant):
    import transformers

    from mbja_build.prune import prune_model

    torch.manual_seed(0)
    config = transformers.MobileBertConfig(**{**dict(
        vocab_size=300, hidden_size=64, embedding_size=32, true_hidden_size=32, intra_bottleneck_size=32,
        intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_labels=5), **VARIANTS[variant]})
    model = randomize_nonorms(transformers.MobileBertForTokenClassification(config).eval())
    if variant == "pruned":
        prune_model(model, {0: [1, 2], 1: [0]})
    feeds = inputs(3, 20, config.vocab_size)
    ref = outputs(model, feeds, "logits")
    for fuse in (True, False):
        folded = fold_mobilebert(model, fuse_projections=fuse)
        assert rel_diff(ref, outputs(folded, feeds, "logits")) < REL_TOL
    expected = variant if variant in {"bottleneck-attention", "x-qkv", "plain"} else "shared-qk"
    assert [layer.mode for layer in folded.mobilebert.layers] == [expected] * 2


def test_folded_equals_unfolded_demo(demo_reference):
    _, model = demo_reference                   # trained: its NoNorms are far from identity
    feeds = inputs(2, 64, model.config.vocab_size)
    for fuse in (True, False):
        assert rel_diff(outputs(model, feeds, "logits"),
                        outputs(fold_mobilebert(model, fuse_projections=fuse), feeds, "logits")) < REL_TOL


def test_other_models_untouched(tiny_checkpoint):
    import transformers

    bert = load_checkpoint(str(tiny_checkpoint("bert", "token-classification")), "token-classification").model
    assert fold_mobilebert(bert) is bert
    config = transformers.MobileBertConfig(hidden_size=32, embedding_size=16, true_hidden_size=16,
                                           intra_bottleneck_size=16, intermediate_size=32, num_hidden_layers=1,
                                           num_attention_heads=2, normalization_type="layer_norm")
    layer_norm = transformers.MobileBertForTokenClassification(config).eval()
    assert fold_mobilebert(layer_norm) is layer_norm


def op_counts(path) -> collections.Counter:
    import onnx

    return collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)


def test_onnx_folded_graph(tmp_path, tiny_model):
    """Fewer element-wise ops, fused attention, same outputs; int8 still quantizes every matmul."""
    import onnxruntime as ort

    from mbja_build.convert.onnx_export import export_onnx
    from mbja_build.quantize import quantize_onnx

    model = tiny_model("token-classification")
    cfg = model.config
    layers = cfg.num_hidden_layers
    counts, results = {}, {}
    feeds = inputs(3, 24, cfg.vocab_size)
    for fold in (False, True):
        path = tmp_path / f"fold-{fold}.onnx"
        export_onnx(model, "token-classification", path, 64, cfg.vocab_size, fold=fold)
        counts[fold] = op_counts(path)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        results[fold] = session.run(None, {k: v.numpy() for k, v in feeds.items()})[0]
    ref = outputs(model, feeds, "logits").numpy()
    assert rel_diff(ref, results[False]) < REL_TOL
    assert rel_diff(ref, results[True]) < REL_TOL
    before, after = counts[False], counts[True]
    # NoNorm: 8 Mul per layer (+ the embeddings' and the attention scale), folded: only the
    # 5 residual gammas of a layer (3 extra FFNs, the FFN output, the output bottleneck) remain.
    assert before["Mul"] >= 8 * layers
    assert after["Mul"] == (cfg.num_feedforward_networks + 1) * layers
    assert after["Add"] < before["Add"] - 8 * layers
    assert after["MultiHeadAttention"] == layers and after["Softmax"] == 0
    assert sum(after.values()) < sum(before.values())

    int8 = tmp_path / "int8.onnx"
    quantize_onnx(tmp_path / "fold-True.onnx", int8, "dynamic-int8")
    quantized = op_counts(int8)
    assert quantized["MatMulInteger"] == after["MatMul"] and quantized["MatMul"] == 0


def test_tflite_folded_matches_pytorch(tmp_path, tiny_model):
    from ai_edge_litert.interpreter import Interpreter

    from mbja_build.convert.tflite_export import export_tflite

    model = tiny_model("token-classification")
    path = tmp_path / "m.tflite"
    export_tflite(model, "token-classification", path, [24], model.config.vocab_size)
    runner = Interpreter(model_path=str(path)).get_signature_runner("seq_24")
    feeds = inputs(3, 24, model.config.vocab_size)
    ref = outputs(model, feeds, "logits").numpy()
    for row in range(3):
        out = runner(**{k: v[row:row + 1].numpy().astype(np.int32) for k, v in feeds.items()})["logits"]
        assert rel_diff(ref[row:row + 1], out) < REL_TOL
