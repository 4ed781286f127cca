"""What a benchmark "shape" is: a local token-classification checkpoint directory to measure.

* ``demo``: the trained checkpoint given by ``--model`` (default: the embedded demo). A Hub id, or
  a directory without ``vocab.txt``, is materialized into the work directory first (through
  ``checkpoint.load_checkpoint``, so Hub loading and the cl-tohoku vocabulary fallback behave as in
  ``mbja-build``), so every measured process afterwards reads local files only.
* ``mobilebert-full`` / ``bert-base``: RANDOM weights with the real sizes, for timing without the
  Hub. Their predictions mean nothing: rows say "random weights: timing only" and carry no F1.

The full-size vocabulary has 32,768 entries, as cl-tohoku/bert-large-japanese's (the seed's
tokenizer). We do not have that vocabulary offline, so it is the demo's 10,000 WordPieces padded
with ``[unused<i>]`` entries: tokenization works and model size and embedding cost are real, but
sentences are cut into the demo vocabulary's pieces (41 tokens per test sentence on average), a
little more than the real vocabulary would make.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..demo import CHECKPOINT_DIR
from ..demo.data import LABELS
from ..errors import UsageError

FULL_VOCAB_SIZE = 32768
#: mobilebert-uncased's config (google/mobilebert-uncased), the architecture of ysakuramoto/mobilebert-ja.
MOBILEBERT_FULL = dict(hidden_size=512, embedding_size=128, true_hidden_size=128, intra_bottleneck_size=128,
                       intermediate_size=512, num_hidden_layers=24, num_attention_heads=4,
                       num_feedforward_networks=4, normalization_type="no_norm", hidden_act="relu",
                       trigram_input=True, use_bottleneck=True, key_query_shared_bottleneck=True,
                       use_bottleneck_attention=False, max_position_embeddings=512, type_vocab_size=2)
#: bert-base (12 layers, hidden 768, 12 heads, FFN 3072), the seed table's "BERT" row.
BERT_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                 max_position_embeddings=512, type_vocab_size=2)

#: Outlier twins (residual_scale.py): 3 residual channels x s, fp32 function unchanged; what real
#: MobileBERT checkpoints look like to a quantizer. name -> (base shape, s).
TWINS = {"demo-outlier100": ("demo", 100.0), "demo-outlier1000": ("demo", 1000.0),
         "mobilebert-full-outlier100": ("mobilebert-full", 100.0)}
SHAPES = ("demo", *[t for t, (b, _) in TWINS.items() if b == "demo"], "mobilebert-full",
          *[t for t, (b, _) in TWINS.items() if b == "mobilebert-full"], "bert-base")
TOKENIZER_CONFIG = json.loads((CHECKPOINT_DIR / "tokenizer_config.json").read_text(encoding="utf-8"))


@dataclass
class Shape:
    name: str               # demo | mobilebert-full | bert-base
    label: str              # what the table shows (the model's name for demo)
    path: Path              # local checkpoint directory (config.json, weights, vocab.txt)
    trained: bool           # F1 is meaningful
    family: str             # "mobilebert" or "bert": which PyTorch row is the reference of a ratio
    full_size: bool         # real MobileBERT/BERT-base size (the speed targets apply)


def parse_shapes(spec: str) -> list[str]:
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [s for s in names if s not in SHAPES]
    if unknown or not names:
        raise UsageError(f"--shapes {spec!r}: choose from {', '.join(SHAPES)}")
    return list(dict.fromkeys(names))


def random_checkpoint(name: str, dest: Path) -> Path:
    """Write a random-weight token-classification checkpoint of a full-size shape (seeded)."""
    import torch
    import transformers

    if (dest / "config.json").is_file() and (dest / "vocab.txt").is_file():
        return dest
    torch.manual_seed(0)
    labels = dict(num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
                  label2id={l: i for i, l in enumerate(LABELS)})
    if name == "mobilebert-full":
        config = transformers.MobileBertConfig(vocab_size=FULL_VOCAB_SIZE, **MOBILEBERT_FULL, **labels)
        config.architectures = ["MobileBertForTokenClassification"]
        model = transformers.MobileBertForTokenClassification(config)
    elif name == "bert-base":
        config = transformers.BertConfig(vocab_size=FULL_VOCAB_SIZE, **BERT_BASE, **labels)
        config.architectures = ["BertForTokenClassification"]
        model = transformers.BertForTokenClassification(config)
    else:
        raise UsageError(f"no random shape {name!r}")
    perturb_norms(model)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.eval().save_pretrained(tmp)
    write_padded_vocab(tmp / "vocab.txt", FULL_VOCAB_SIZE)
    (tmp / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, ensure_ascii=False, indent=2) + "\n",
                                               encoding="utf-8")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def perturb_norms(model) -> None:
    """Give every NoNorm/LayerNorm a trained-looking scale and shift instead of 1 and 0.

    A fresh model's norms are the identity (weight 1, bias 0), and converters delete what does
    nothing: TFLite dropped every NoNorm multiply of the full-size MobileBERT (0 MUL ops against
    6 per layer in the trained demo) and most of its bias adds, while PyTorch still ran them. A
    timing of such a graph flatters the bundles, so the random shapes carry norms a trained model
    would have: weight 1 + N(0, 0.1), bias N(0, 0.1).
    """
    import torch

    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if type(module).__name__ in ("NoNorm", "LayerNorm"):
                module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=g))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=g))


def write_padded_vocab(path: Path, size: int) -> None:
    """The demo vocabulary followed by ``[unused<i>]`` tokens up to ``size`` entries."""
    vocab = (CHECKPOINT_DIR / "vocab.txt").read_text(encoding="utf-8").splitlines()
    vocab += [f"[unused{i}]" for i in range(size - len(vocab))]
    path.write_text("".join(t + "\n" for t in vocab), encoding="utf-8")


def materialize(model: str, dest: Path) -> Path:
    """A Hub id or an incomplete directory -> a complete local checkpoint (weights, vocab, settings)."""
    from ..checkpoint import load_checkpoint

    ckpt = load_checkpoint(model, "token-classification")
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    ckpt.model.save_pretrained(tmp)
    (tmp / "vocab.txt").write_text("".join(t + "\n" for t in ckpt.vocab), encoding="utf-8")
    cfg = {**TOKENIZER_CONFIG, "do_lower_case": bool(ckpt.tokenizer["do_lower_case"])}
    (tmp / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    if ckpt.notice:
        (tmp / "NOTICE").write_text(ckpt.notice, encoding="utf-8")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def trained_checkpoint(model: str | None, work: Path) -> tuple[str, Path]:
    """(label, local directory) of the trained checkpoint that the ``demo`` shape measures."""
    if model in (None, "demo"):
        return "demo", CHECKPOINT_DIR
    p = Path(model).expanduser()
    if p.is_dir() and (p / "vocab.txt").is_file() and (p / "config.json").is_file():
        return p.name, p
    return Path(model).name, materialize(model, work / "checkpoints" / "model")


def prepare(names: list[str], model: str | None, work: Path) -> list[Shape]:
    shapes = []
    for name in names:
        if name in TWINS:
            base_name, scale = TWINS[name]
            (base,) = prepare([base_name], model, work)
            dest = work / "checkpoints" / name
            if not (dest / "config.json").is_file():
                from ..residual_scale import write_outlier_twin

                write_outlier_twin(base.path, dest, 3, scale)
            label = f"{base.label.split(' (')[0]} outlier twin (3 channels x{scale:g})"
            if not base.trained:
                label += " (random weights: timing only)"
            shapes.append(Shape(name, label, dest, base.trained, base.family, base.full_size))
        elif name == "demo":
            label, path = trained_checkpoint(model, work)
            family = json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type", "mobilebert")
            full = label != "demo"   # a user's real fine-tune is full size; the demo is not
            shapes.append(Shape(name, label, path, True, family, full))
        else:
            path = random_checkpoint(name, work / "checkpoints" / name)
            family = "bert" if name == "bert-base" else "mobilebert"
            shapes.append(Shape(name, f"{name} (random weights: timing only)", path, False, family, True))
    return shapes


def weights_size(path: Path) -> tuple[int, list[str]]:
    """Bytes of the weight files of a checkpoint directory (safetensors, else pytorch .bin)."""
    files = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
    return sum(f.stat().st_size for f in files), [str(f) for f in files]
