"""`mbja-build --prune-heads`: drop the least important attention heads before export (Michel et al. 2019).

Importance of head h in layer l is |d loss / d mask[l, h]|, summed over calibration sentences, where
``mask`` scales each head's context vector (1.0 = unchanged) and the loss is the cross-entropy of
the model against its own argmax predictions: no labels are needed, so any real text works (the
default is calibration.SAMPLE: 200 training-split sentences, none of which verify judges). Scores
are L2-normalised per layer, as in the paper, so one global ranking can prune more heads where a
layer has many weak ones.

transformers 5.x removed ``prune_heads`` and ``head_mask`` from BERT/MobileBERT, so both are done
here: the mask is a forward hook on each self-attention module, and pruning slices the q/k/v rows
and the output projection's columns of the dropped heads. The attention code reshapes with
``view(..., -1, head_size)``, so a layer with fewer heads needs no other change, and layers may
keep different head counts (the exported graphs are traced from the pruned module itself).

A pruned model cannot be re-loaded with ``from_pretrained`` (the config has one head count for all
layers). Verification instead loads an *equivalent* full-shape checkpoint in which the dropped
heads' value projections are zero: such a head's context is exactly 0, so its output projection
adds nothing. That checkpoint is computed independently of the slicing, so verify also checks the
surgery (tests/test_prune.py shows pruned and masked models agree on real text).
"""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

from .errors import UsageError

#: Calibration length cap: the demo's test sentences are <= 201 tokens; longer texts are truncated.
CALIBRATION_MAX_LENGTH = 256


def check_fraction(fraction) -> float:
    if not isinstance(fraction, (int, float)) or not 0 < fraction < 1 or math.isnan(fraction):
        raise UsageError(f"--prune-heads {fraction!r}: give a fraction of heads to drop, 0 < FRACTION < 1")
    return float(fraction)


def _attentions(model) -> list:
    """One ``*Attention`` module (``.self`` with q/k/v, ``.output.dense``) per encoder layer."""
    layers = model.base_model.encoder.layer
    return [layer.attention for layer in layers]


def heads_per_layer(model) -> list[int]:
    return [int(a.self.num_attention_heads) for a in _attentions(model)]


def head_importance(model, encodings: list[dict], output: str = "logits"):
    """[layers, heads] tensor of per-layer-normalised |d loss / d head mask| (see module docstring).

    ``encodings``: dicts of input_ids / attention_mask / token_type_ids lists, run at batch 1 so
    padding cannot leak into the loss. Needs equal heads per layer (an unpruned model).
    """
    import torch

    counts = heads_per_layer(model)
    if len(set(counts)) != 1:
        raise ValueError("head importance needs an unpruned model (equal heads per layer)")
    mask = torch.ones(len(counts), counts[0], requires_grad=True)
    hooks = []
    for i, att in enumerate(_attentions(model)):
        def hook(module, args, out, i=i):
            ctx = out[0]
            shape = ctx.shape
            ctx = (ctx.view(*shape[:-1], counts[i], -1) * mask[i].view(-1, 1)).view(shape)
            return (ctx, *out[1:])
        hooks.append(att.self.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    total = torch.zeros_like(mask)
    try:
        for enc in encodings:
            feeds = {k: torch.tensor([enc[k]]) for k in ("input_ids", "attention_mask", "token_type_ids")}
            out = getattr(model(**feeds, return_dict=True), output)[0]
            if output == "logits":
                logits = out.reshape(-1, out.shape[-1])
                loss = torch.nn.functional.cross_entropy(logits, logits.argmax(-1).detach())
            else:  # feature-extraction: no prediction to keep, so keep the hidden states' energy
                loss = out.pow(2).mean()
            grad, = torch.autograd.grad(loss, mask)
            total += grad.abs()
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    norm = total.norm(dim=-1, keepdim=True)
    return total / torch.where(norm > 0, norm, torch.ones_like(norm))


def choose_heads(importance, fraction: float) -> tuple[dict[int, list[int]], int]:
    """Globally least important heads, round(fraction * total), never a layer's last one.

    Returns ({layer: [heads]}, requested count); fewer are chosen only when the request would
    empty a layer.
    """
    layers, heads = importance.shape
    want = int(round(fraction * layers * heads))
    left = [heads] * layers
    chosen: dict[int, list[int]] = {}
    order = sorted(((float(importance[l, h]), l, h) for l in range(layers) for h in range(heads)))
    for _, l, h in order:
        if sum(len(v) for v in chosen.values()) >= want:
            break
        if left[l] > 1:
            chosen.setdefault(l, []).append(h)
            left[l] -= 1
    return {l: sorted(v) for l, v in sorted(chosen.items())}, want


def _keep_index(att, drop: list[int]):
    import torch

    size = att.self.attention_head_size
    keep = [h for h in range(att.self.num_attention_heads) if h not in set(drop)]
    return torch.tensor([h * size + j for h in keep for j in range(size)], dtype=torch.long), len(keep)


def prune_model(model, heads: dict[int, list[int]]) -> None:
    """Remove ``heads`` ({layer: [head indices]}) in place by slicing q/k/v and the output projection."""
    from transformers.pytorch_utils import prune_linear_layer

    atts = _attentions(model)
    for l, drop in heads.items():
        if not drop:
            continue
        att = atts[l]
        index, kept = _keep_index(att, drop)
        att.self.query = prune_linear_layer(att.self.query, index, dim=0)
        att.self.key = prune_linear_layer(att.self.key, index, dim=0)
        att.self.value = prune_linear_layer(att.self.value, index, dim=0)
        att.output.dense = prune_linear_layer(att.output.dense, index, dim=1)
        att.self.num_attention_heads = kept
        att.self.all_head_size = kept * att.self.attention_head_size


def zero_heads(model, heads: dict[int, list[int]]) -> None:
    """The full-shape equivalent of ``prune_model``: zero the dropped heads' value rows and biases."""
    import torch

    atts = _attentions(model)
    with torch.no_grad():
        for l, drop in heads.items():
            att = atts[l]
            size = att.self.attention_head_size
            for h in drop:
                att.self.value.weight[h * size:(h + 1) * size] = 0
                att.self.value.bias[h * size:(h + 1) * size] = 0


def _write_tokenizer_files(ckpt, dst: Path) -> None:
    """vocab.txt + tokenizer_config.json, so verify's load_checkpoint reads the same tokenizer."""
    (dst / "vocab.txt").write_text("".join(t + "\n" for t in ckpt.vocab), encoding="utf-8")
    t = ckpt.tokenizer
    cfg = {"tokenizer_class": "BertJapaneseTokenizer", "do_lower_case": t["do_lower_case"],
           "word_tokenizer_type": "mecab", "subword_tokenizer_type": "wordpiece",
           "mecab_kwargs": {"mecab_dic": "unidic_lite"},
           **{k: t[k] for k in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")}}
    (dst / "tokenizer_config.json").write_text(json.dumps(cfg, ensure_ascii=False, indent=2), encoding="utf-8")


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def prune_checkpoint(ckpt, fraction: float, texts: list[str] | None, workdir: Path,
                     max_length: int = CALIBRATION_MAX_LENGTH) -> dict:
    """Prune ``ckpt.model`` in place; write the equivalent masked checkpoint to ``workdir`` (for verify).

    Returns the report the manifest records under ``"pruning"``.
    """
    from .calibration import default_calibration_texts
    from .reference import reference_tokenizer

    fraction = check_fraction(fraction)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    _write_tokenizer_files(ckpt, workdir)
    tok = reference_tokenizer(workdir / "vocab.txt")
    texts = list(texts) if texts else default_calibration_texts()
    encodings = [tok(t, truncation=True, max_length=min(max_length, CALIBRATION_MAX_LENGTH),
                     return_token_type_ids=True) for t in texts]
    model = ckpt.model
    before_heads, before_params = heads_per_layer(model), count_parameters(model)
    importance = head_importance(model, encodings, ckpt.task.output)
    heads, want = choose_heads(importance, fraction)

    masked = copy.deepcopy(model)
    zero_heads(masked, heads)
    masked.save_pretrained(workdir)
    del masked
    prune_model(model, heads)
    after = heads_per_layer(model)
    return {
        "method": "head importance |dL/dmask| (Michel et al. 2019), own argmax as targets, per-layer L2 norm",
        "fraction": fraction,
        "calibration_texts": len(texts),
        "heads_requested": want,
        "heads_pruned": {str(l): h for l, h in heads.items()},
        "heads_per_layer_before": before_heads,
        "heads_per_layer_after": after,
        "heads_before": sum(before_heads),
        "heads_after": sum(after),
        "params_before": before_params,
        "params_after": count_parameters(model),
        "importance": [[round(float(x), 6) for x in row] for row in importance],
    }
