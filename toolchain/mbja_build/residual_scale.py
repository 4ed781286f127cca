"""Function-preserving per-channel rescaling of MobileBERT's residual stream.

The residual stream (``hidden_size`` channels) is written by the embeddings' NoNorm and by every
layer's output bottleneck (``dense`` + NoNorm over ``dense(x) + residual``), and read by each
layer's input projections (``bottleneck.input``, ``bottleneck.attention`` and, with
``key_query_shared_bottleneck`` and no bottleneck attention, the value projection) and by the task
head. NoNorm is an elementwise affine ``x * gamma + beta``, so multiplying channel ``c`` of the
stream by ``s_c`` everywhere is exact: the writers' output rows, biases and NoNorm betas (the
embeddings' gamma too) are multiplied by ``s_c``, the readers' input columns divided by it. In
exact arithmetic the logits do not change.

Two uses, one transform:

* **Outlier twins** (``s_c`` = 10-1000 on a few channels): the pattern of real MobileBERT
  checkpoints (huge NoNorm activations in a few channels, optimum#1027; Bondarenko et al. 2021), made
  from the demo so tests and the bench can show what it does to int8 and that the repair helps.
* **Migration** (``s_c`` < 1 on the channels calibration finds too large): SmoothQuant's idea on a
  shared stream. A per-tensor int8 activation scale is set by the largest channel; dividing that
  channel (and multiplying the readers' weights, which are quantized per output channel) gives the
  other channels their resolution back.
"""
from __future__ import annotations

import copy

import torch

from .convert.fold_nonorm import BASE, is_foldable
from .errors import UsageError


def _check(model) -> None:
    if not is_foldable(model) or not model.config.use_bottleneck or getattr(model, BASE, None) is None:
        raise UsageError("residual rescaling needs a MobileBERT task model with NoNorm and bottlenecks")


def supports(model) -> bool:
    """Whether ``rescale_residual`` can transform ``model`` (else it raises UsageError)."""
    try:
        _check(model)
        _head_reader(model)
    except UsageError:
        return False
    return True


def _readers(model) -> list[torch.nn.Linear]:
    """Every linear whose input is the residual stream."""
    config = model.config
    out = []
    for layer in getattr(model, BASE).encoder.layer:
        out.append(layer.bottleneck.input.dense)
        if config.key_query_shared_bottleneck:
            out.append(layer.bottleneck.attention.dense)
        if not config.use_bottleneck_attention:
            out.append(layer.attention.self.value)
            if not config.key_query_shared_bottleneck:
                out += [layer.attention.self.query, layer.attention.self.key]
    head = _head_reader(model)
    out.append(head)
    return out


def _head_reader(model) -> torch.nn.Linear:
    classifier = getattr(model, "classifier", None)
    if type(model).__name__ == "MobileBertForTokenClassification" and isinstance(classifier, torch.nn.Linear):
        return classifier
    raise UsageError(f"residual rescaling supports token classification heads, not {type(model).__name__}")


def rescale_residual(model, scales: torch.Tensor):
    """A copy of ``model`` whose residual-stream channel ``c`` carries ``scales[c]`` times its value.

    ``scales``: positive, shape (hidden_size,). The caller's model is not modified."""
    _check(model)
    scales = torch.as_tensor(scales, dtype=torch.float32)
    hidden = model.config.hidden_size
    if scales.shape != (hidden,) or not bool(torch.all(scales > 0)) or not bool(torch.all(torch.isfinite(scales))):
        raise UsageError(f"residual scales must be {hidden} positive finite numbers")
    twin = copy.deepcopy(model).eval()
    base = getattr(twin, BASE)
    with torch.no_grad():
        norm = base.embeddings.LayerNorm
        norm.weight.mul_(scales)
        norm.bias.mul_(scales)
        for layer in base.encoder.layer:
            writer = layer.output.bottleneck
            writer.dense.weight.mul_(scales[:, None])
            writer.dense.bias.mul_(scales)
            writer.LayerNorm.bias.mul_(scales)
        for reader in _readers(twin):
            reader.weight.div_(scales[None, :])
    return twin


def outlier_scales(hidden: int, channels: int, scale: float, seed: int = 0) -> torch.Tensor:
    """Scales that blow ``channels`` fixed, seeded channels up by ``scale`` (the twins' pattern)."""
    if not 0 < channels <= hidden or scale <= 0:
        raise UsageError(f"need 0 < channels <= {hidden} and a positive scale")
    picked = torch.randperm(hidden, generator=torch.Generator().manual_seed(seed))[:channels]
    scales = torch.ones(hidden)
    scales[picked] = float(scale)
    return scales


def residual_absmax(model, batches) -> torch.Tensor:
    """Per-channel max |value| of the residual stream over ``batches`` (dicts of model inputs):
    the embeddings' output and every layer's output, each a place where a quantizer meets it."""
    _check(model)
    base = getattr(model, BASE)
    seen = torch.zeros(model.config.hidden_size)

    def hook(_module, _inputs, output):
        out = output[0] if isinstance(output, tuple) else output
        seen.copy_(torch.maximum(seen, out.detach().abs().reshape(-1, out.shape[-1]).amax(0)))

    handles = [base.embeddings.register_forward_hook(hook)]
    handles += [layer.register_forward_hook(hook) for layer in base.encoder.layer]
    try:
        with torch.no_grad():
            for feeds in batches:
                model(**feeds)
    finally:
        for h in handles:
            h.remove()
    return seen


def write_outlier_twin(src, dst, channels: int = 3, scale: float = 100.0, seed: int = 0):
    """Save the function-preserving outlier twin of the token-classification checkpoint ``src``
    into ``dst`` (weights, config, vocabulary and tokenizer settings; the NOTICE travels with it)."""
    import shutil
    from pathlib import Path

    from transformers import AutoModelForTokenClassification

    src, dst = Path(src), Path(dst)
    model = AutoModelForTokenClassification.from_pretrained(src).eval()
    twin = rescale_residual(model, outlier_scales(model.config.hidden_size, channels, scale, seed))
    dst.mkdir(parents=True, exist_ok=True)
    twin.save_pretrained(dst)
    for name in ("vocab.txt", "tokenizer_config.json", "NOTICE"):
        if (src / name).is_file():
            shutil.copy(src / name, dst / name)
    return dst
