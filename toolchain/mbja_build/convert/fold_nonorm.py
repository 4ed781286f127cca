"""Export-time MobileBERT: every NoNorm folded into the linear layers around it.

MobileBERT's NoNorm is ``y = x * gamma + beta`` (per channel): a Mul and an Add on a (batch, seq,
channels) tensor, eight times per layer, that neither exporter removes and ORT's BERT optimizer
cannot fuse (it knows LayerNorm only). All of them are affine, so they fold into the neighbouring
linear layers exactly (up to fp32 rounding):

* **NoNorm after a linear** (``bottleneck.input``, ``bottleneck.attention``):
  ``gamma * (W x + b) + beta = (diag(gamma) W) x + (gamma * b + beta)``: the NoNorm disappears.
* **NoNorm of a linear plus a residual** (attention output, every FFN output, the layer output
  and its bottleneck): ``gamma * (W h + b + r) + beta = (diag(gamma) W) h + (gamma * b + beta) +
  gamma * r``: Add, Mul, Add become Mul, Add. Where the residual ``r`` is itself the output of a
  linear that nothing else reads (the attention block's residual is ``bottleneck.input``'s output
  when ``use_bottleneck`` and not ``use_bottleneck_attention``), gamma goes into that linear's
  rows too and only the Add remains.
* **Embeddings**: ``gamma * (T e + b + P[pos] + E_type[t]) + beta``: gamma scales the rows of the
  embedding transformation ``T`` and the position and token-type tables, beta joins ``T``'s bias.
  The word-embedding table is never touched (a masked-LM head shares it); without a transformation
  (``embedding_size == hidden_size``, no trigram input) that NoNorm stays as it is.

Scaling a linear's output rows is neutral for per-channel int8 weight quantization (the channel's
scale scales with it), and every activation a quantizer sees keeps its values, so the folded model
quantizes as the original does. Folding only multiplies by gamma, never divides: small or zero
gammas are harmless. What stays is ``gamma * r`` on the residual stream (five Muls a layer).

Rewritten anyway, the layer also gets three more exact changes:

* **The attention scale** ``1/sqrt(head_size)`` goes into the query projection.
* **The padding mask** is built once, additive, of shape (batch, 1, 1, seq), from the 2-D mask
  (transformers builds (batch, 1, seq, seq)); attention is plain matmul-softmax-matmul
  (transformers' "eager" attention) -- or, for ONNX, ONNX Runtime's fused
  ``com.microsoft.MultiHeadAttention`` (``onnx_attention=True``, see :class:`FoldedLayer`).
* **Shared-input projections** (``fuse_projections=True``): ``bottleneck.input``,
  ``bottleneck.attention`` and the value projection all read the layer input (with
  ``key_query_shared_bottleneck``), query and key both read the shared bottleneck; their weights
  are concatenated into one matmul per input, whose output is split. Larger GEMMs pay in TFLite
  (XNNPACK); in ONNX Runtime the split costs what the larger GEMM saves, and its dynamic int8
  quantization already quantizes a shared input once, so the ONNX exporter leaves them apart.

:func:`fold_mobilebert` returns a folded copy and never modifies the caller's model (the build
verifies against it). Other model types, and MobileBERTs with LayerNorm, come back as given.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

#: attribute under which transformers' task heads keep their MobileBertModel
BASE = "mobilebert"


def is_foldable(model: nn.Module) -> bool:
    config = getattr(model, "config", None)
    return getattr(config, "model_type", None) == "mobilebert" and config.normalization_type == "no_norm"


def fold_mobilebert(model: nn.Module, fuse_projections: bool = True, onnx_attention: bool = False) -> nn.Module:
    """``model`` with its MobileBertModel replaced by a :class:`FoldedMobileBert` (a new module;
    the task head's own weights are shared, not copied, and not written). Any other model: itself."""
    if not is_foldable(model):
        return model
    from transformers import MobileBertModel

    options = dict(fuse_projections=fuse_projections, onnx_attention=onnx_attention)
    if isinstance(model, MobileBertModel):
        return FoldedMobileBert(model, **options)
    base = getattr(model, BASE, None)
    if not isinstance(base, MobileBertModel):
        return model
    head = copy.copy(model)                 # shallow: a child table of its own, the same head weights
    head._modules = dict(model._modules)
    head._modules[BASE] = FoldedMobileBert(base, **options)
    return head


def _linear(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    out = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        out.weight.copy_(weight)
        out.bias.copy_(bias)
    return out.requires_grad_(False)


def _scaled(linear: nn.Linear, gamma=None, beta=None, scale: float | None = None):
    """(weight, bias) of ``gamma * (linear(x) * scale) + beta``; None parts are left out."""
    w = linear.weight.detach().clone()
    b = linear.bias.detach().clone() if linear.bias is not None else torch.zeros(w.shape[0])
    if scale is not None:
        w, b = w * scale, b * scale
    if gamma is not None:
        w, b = w * gamma[:, None], b * gamma
    if beta is not None:
        b = b + beta
    return w, b


def _norm(no_norm) -> tuple[torch.Tensor, torch.Tensor]:
    """(gamma, beta) of a NoNorm."""
    return no_norm.weight.detach().clone(), no_norm.bias.detach().clone()


def _constant(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t.detach().clone(), requires_grad=False)


class Projections(nn.Module):
    """Linears that read the same input; forward returns their outputs in order.

    ``fuse``: one matmul of the concatenated weights, then a split; else one linear each.
    """

    def __init__(self, parts: list[tuple[torch.Tensor, torch.Tensor]], fuse: bool):
        super().__init__()
        self.sizes = [w.shape[0] for w, _ in parts]
        self.fuse = fuse or len(parts) == 1
        if self.fuse:
            self.linear = _linear(torch.cat([w for w, _ in parts]), torch.cat([b for _, b in parts]))
        else:
            self.linears = nn.ModuleList([_linear(w, b) for w, b in parts])

    def forward(self, x):
        if not self.fuse:
            return tuple(linear(x) for linear in self.linears)
        y = self.linear(x)
        return (y,) if len(self.sizes) == 1 else torch.split(y, self.sizes, dim=-1)


class ResidualScale(nn.Module):
    """``r * gamma``, what a folded NoNorm leaves on a residual; ``r`` when gamma went elsewhere."""

    def __init__(self, gamma: torch.Tensor | None):
        super().__init__()
        self.gamma = None if gamma is None else _constant(gamma)

    def forward(self, r):
        return r if self.gamma is None else r * self.gamma


class FoldedEmbeddings(nn.Module):
    """MobileBertEmbeddings with its NoNorm folded into the transformation and the two tables."""

    def __init__(self, emb):
        super().__init__()
        self.trigram_input = emb.trigram_input
        self.word_embeddings = emb.word_embeddings           # shared with the original, never written
        gamma, beta = _norm(emb.LayerNorm)
        if emb.trigram_input or emb.embedding_size != emb.hidden_size:
            self.transform = _linear(*_scaled(emb.embedding_transformation, gamma, beta))
            self.scale, self.shift = ResidualScale(None), None
        else:
            self.transform = None
            self.scale, self.shift = ResidualScale(gamma), _constant(beta)
        self.position = _constant(emb.position_embeddings.weight * gamma)
        self.token_type = _constant(emb.token_type_embeddings.weight * gamma)

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None):
        x = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        if self.trigram_input:
            x = torch.cat([nn.functional.pad(x[:, 1:], [0, 0, 0, 1, 0, 0], value=0.0), x,
                           nn.functional.pad(x[:, :-1], [0, 0, 1, 0, 0, 0], value=0.0)], dim=2)
        x = self.transform(x) if self.transform is not None else self.scale(x)
        if position_ids is None:
            x = x + self.position[: x.shape[1]]
        else:
            x = x + nn.functional.embedding(position_ids, self.position)
        if token_type_ids is None:
            x = x + self.token_type[0]
        else:
            x = x + nn.functional.embedding(token_type_ids, self.token_type)
        return x if self.shift is None else x + self.shift


class FoldedLayer(nn.Module):
    """One MobileBertLayer with its NoNorms folded (see the module docstring).

    Names follow transformers: ``x`` the layer input (width hidden_size), ``L`` bottleneck.input's
    output (the attention block's residual), ``S`` bottleneck.attention's output (query and key
    input with ``key_query_shared_bottleneck``), ``a`` the attention/FFN stream (true_hidden_size).
    Which tensor q, k, v and the residual read follows transformers' ``Bottleneck.forward``.

    ``onnx_attention``: while ``torch.onnx.export`` traces the layer, attention is one
    ``com.microsoft.MultiHeadAttention`` node (an ONNX Runtime contrib op with a CPU kernel; the
    SDK's ORT 1.23.2 runs it): query/key/value (batch, seq, heads * head_size), the 2-D padding mask as
    int32 ``key_padding_mask``, ``scale=1`` (already in the query) and ``mask_filter_value`` the
    float32 minimum that transformers' eager mask adds. Outside an ONNX export (eager PyTorch,
    litert-torch) the layer always runs the plain attention.
    """

    def __init__(self, layer, config, fuse_projections: bool = True, onnx_attention: bool = False):
        super().__init__()
        att_self, att_out = layer.attention.self, layer.attention.output
        self.heads = int(att_self.num_attention_heads)        # per layer: pruning may differ
        self.head_size = int(att_self.attention_head_size)
        self.onnx_attention = onnx_attention
        g_ao, b_ao = _norm(att_out.LayerNorm)
        q = _scaled(att_self.query, scale=float(att_self.scaling))
        k, v = _scaled(att_self.key), _scaled(att_self.value)
        if layer.use_bottleneck:
            g_in, b_in = _norm(layer.bottleneck.input.LayerNorm)
        if layer.use_bottleneck and config.use_bottleneck_attention:
            self.mode = "bottleneck-attention"      # q, k, v and the residual all read L
            first, second = [_scaled(layer.bottleneck.input.dense, g_in, b_in)], [q, k, v]
            residual_gamma = g_ao
        elif layer.use_bottleneck and config.key_query_shared_bottleneck:
            self.mode = "shared-qk"                 # L, S, v read x; q, k read S; the residual is L
            attn = layer.bottleneck.attention
            first = [_scaled(layer.bottleneck.input.dense, g_in * g_ao, b_in * g_ao),
                     _scaled(attn.dense, *_norm(attn.LayerNorm)), v]
            second, residual_gamma = [q, k], None   # the attention NoNorm's gamma is in L's rows
        elif layer.use_bottleneck:
            self.mode = "x-qkv"                     # L, q, k, v read x; the residual is L
            first = [_scaled(layer.bottleneck.input.dense, g_in * g_ao, b_in * g_ao), q, k, v]
            second, residual_gamma = None, None
        else:
            self.mode = "plain"                     # q, k, v read x; the residual is x
            first, second, residual_gamma = [q, k, v], None, g_ao
        self.first = Projections(first, fuse_projections)
        self.second = Projections(second, fuse_projections) if second else None
        self.att_dense = _linear(*_scaled(att_out.dense, g_ao, b_ao))
        self.att_residual = ResidualScale(residual_gamma)

        self.act = layer.intermediate.intermediate_act_fn
        ffns = list(layer.ffn) if config.num_feedforward_networks > 1 else []
        self.ffn_in = nn.ModuleList([_linear(*_scaled(f.intermediate.dense)) for f in ffns])
        self.ffn_out = nn.ModuleList([_linear(*_scaled(f.output.dense, *_norm(f.output.LayerNorm))) for f in ffns])
        self.ffn_residual = nn.ModuleList([ResidualScale(f.output.LayerNorm.weight) for f in ffns])
        out = layer.output
        self.inter = _linear(*_scaled(layer.intermediate.dense))
        self.out_dense = _linear(*_scaled(out.dense, *_norm(out.LayerNorm)))
        self.out_residual = ResidualScale(out.LayerNorm.weight)
        self.bottleneck_dense = None
        if layer.use_bottleneck:
            ob = out.bottleneck
            self.bottleneck_dense = _linear(*_scaled(ob.dense, *_norm(ob.LayerNorm)))
            self.bottleneck_residual = ResidualScale(ob.LayerNorm.weight)

    def attention(self, q, k, v, mask, mask2d):
        if self.onnx_attention and torch.onnx.is_in_onnx_export():
            operands = (q, k, v) if mask2d is None else (q, k, v, None, mask2d.to(torch.int32))
            return torch.onnx.ops.symbolic(
                "com.microsoft::MultiHeadAttention", operands,
                dict(num_heads=self.heads, scale=1.0, mask_filter_value=float(torch.finfo(torch.float32).min)),
                dtype=q.dtype, shape=q.shape, version=1)
        b, s = q.shape[0], q.shape[1]
        q = q.view(b, s, self.heads, self.head_size).transpose(1, 2)
        k = k.view(b, s, self.heads, self.head_size).permute(0, 2, 3, 1)
        v = v.view(b, s, self.heads, self.head_size).transpose(1, 2)
        scores = torch.matmul(q, k)
        if mask is not None:
            scores = scores + mask
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2)
        return ctx.reshape(b, s, self.heads * self.head_size)

    def forward(self, x, mask, mask2d):
        if self.mode == "shared-qk":
            residual, shared, v = self.first(x)
            q, k = self.second(shared)
        elif self.mode == "bottleneck-attention":
            (residual,) = self.first(x)
            q, k, v = self.second(residual)
        elif self.mode == "x-qkv":
            residual, q, k, v = self.first(x)
        else:
            (q, k, v), residual = self.first(x), x
        a = self.att_dense(self.attention(q, k, v, mask, mask2d)) + self.att_residual(residual)
        for ffn_in, ffn_out, ffn_residual in zip(self.ffn_in, self.ffn_out, self.ffn_residual):
            a = ffn_out(self.act(ffn_in(a))) + ffn_residual(a)
        y = self.out_dense(self.act(self.inter(a))) + self.out_residual(a)
        if self.bottleneck_dense is not None:
            y = self.bottleneck_dense(y) + self.bottleneck_residual(x)
        return y


class FoldedMobileBert(nn.Module):
    """Stands in for transformers' MobileBertModel at export time: inference only, same outputs
    (``last_hidden_state``, ``pooler_output``) within fp32 rounding."""

    def __init__(self, base, fuse_projections: bool = True, onnx_attention: bool = False):
        super().__init__()
        self.config = base.config
        self.embeddings = FoldedEmbeddings(base.embeddings)
        self.layers = nn.ModuleList([FoldedLayer(layer, base.config, fuse_projections, onnx_attention)
                                     for layer in base.encoder.layer])
        self.pooler = base.pooler               # shared with the original, never written
        self.onnx_attention = onnx_attention

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, **_):
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        x = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        mask = None
        if attention_mask is not None and not (self.onnx_attention and torch.onnx.is_in_onnx_export()):
            # transformers' eager mask values, as (batch, 1, 1, seq) instead of (batch, 1, seq, seq)
            mask = torch.where(attention_mask[:, None, None, :].to(torch.bool),
                               torch.zeros((), dtype=x.dtype), torch.finfo(x.dtype).min)
        for layer in self.layers:
            x = layer(x, mask, attention_mask)
        pooled = self.pooler(x) if self.pooler is not None else None
        return BaseModelOutputWithPooling(last_hidden_state=x, pooler_output=pooled)
