"""Recipe step 2: train the demo MobileBERT NER checkpoint on CPU with fixed seeds.

Run it as `mbja-build demo-train --out DIR`. It writes a transformers checkpoint (config.json,
model.safetensors, vocab.txt, tokenizer_config.json), a NOTICE carrying the data's CC-BY-SA 3.0
licence, and metrics.json with the entity-level exact-match F1 on the fixed test split.
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

from mbja_runtime.iob import decode_iob2, entity_f1

from . import data
from .align import Aligner
from .vocab import build_vocab

#: Small enough to train in ~20 CPU minutes, shaped like MobileBERT (bottlenecks, NoNorm, 4 FFNs).
MODEL_SHAPE = dict(
    hidden_size=256,
    embedding_size=128,
    true_hidden_size=128,
    intra_bottleneck_size=128,
    intermediate_size=512,
    num_hidden_layers=6,
    num_attention_heads=4,
    num_feedforward_networks=2,
    max_position_embeddings=512,
    normalization_type="no_norm",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
)

TOKENIZER_CONFIG = {
    "tokenizer_class": "BertJapaneseTokenizer",
    "do_lower_case": False,
    "word_tokenizer_type": "mecab",
    "subword_tokenizer_type": "wordpiece",
    "mecab_kwargs": {"mecab_dic": "unidic_lite"},
    "model_max_length": 512,
}

NOTICE = """Demo checkpoint of mobilebert-ja on-device SDK — NOT a production model.

A small MobileBERT token-classification model trained from scratch on CPU by
`mbja-build demo-train` on the training split of Stockmark's Japanese Wikipedia NER dataset
(stockmarkteam/ner-wikipedia-dataset). Its vocabulary (vocab.txt) was built from the same text.

Licence: CC-BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/), inherited from the
dataset and from Japanese Wikipedia. Attribution: Stockmark Inc., Wikipedia contributors.
"""


def _tag_tokens(offsets, entities):
    tags = []
    for span in offsets:
        if span is None:
            tags.append(None)
            continue
        tag = "O"
        for ent in entities:
            s, e = ent["span"]
            if s <= span[0] < e:
                tag = ("B-" if span[0] == s else "I-") + ent["type"]
                break
        tags.append(tag)
    # An entity whose first token starts before it never gets its B: fix the I into a B.
    for i in range(1, len(tags)):
        if tags[i] and tags[i].startswith("I-") and tags[i - 1] != "B-" + tags[i][2:] and tags[i - 1] != tags[i]:
            tags[i] = "B-" + tags[i][2:]
    return tags


def encode_split(aligner, records, label2id):
    examples, skipped = [], 0
    for r in records:
        enc = aligner.encode(r["text"])
        if enc is None:
            skipped += 1
            continue
        ids, offsets = enc
        tags = _tag_tokens(offsets, r["entities"])
        labels = [-100 if t is None else label2id[t] for t in tags]
        examples.append({"ids": ids, "offsets": offsets, "labels": labels, "record": r})
    return examples, skipped


def _skipped(records, examples):
    kept = {id(e["record"]) for e in examples}
    return [r for r in records if id(r) not in kept]


def predict_entities(model, examples, id2label, batch_size=64):
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            batch = examples[i : i + batch_size]
            ids, mask = _pad([e["ids"] for e in batch])
            logits = model(input_ids=ids, attention_mask=mask).logits
            for e, row in zip(batch, logits.argmax(-1).tolist()):
                tags = [id2label[t] for t in row[: len(e["ids"])]]
                ents = decode_iob2(tags, e["offsets"])
                out.append({(x["type"], x["start"], x["end"]) for x in ents})
    return out


def _pad(seqs, value=0):
    import torch

    n = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), n), value, dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def train(out: Path, data_path=None, epochs: int = 40, seed: int = 0, lr: float = 2e-3, batch_size: int = 32,
          vocab_size: int = 10000, threads: int = 2, log=print) -> dict:
    import torch
    from transformers import MobileBertConfig, MobileBertForTokenClassification

    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    records = data.load_ner(data_path)
    train_recs, test_recs = data.split(records)

    t0 = time.time()
    n_vocab = build_vocab([r["text"] for r in records], out / "vocab.txt", vocab_size)
    log(f"vocab: {n_vocab} tokens in {time.time() - t0:.0f}s")
    (out / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, ensure_ascii=False, indent=2) + "\n")

    label2id = {l: i for i, l in enumerate(data.LABELS)}
    id2label = {i: l for l, i in label2id.items()}
    aligner = Aligner(str(out / "vocab.txt"))
    train_ex, skipped_tr = encode_split(aligner, train_recs, label2id)
    test_ex, skipped_te = encode_split(aligner, test_recs, label2id)
    log(f"examples: train {len(train_ex)} (+{skipped_tr} unalignable), test {len(test_ex)} (+{skipped_te})")

    config = MobileBertConfig(vocab_size=n_vocab, num_labels=len(label2id), id2label=id2label,
                              label2id=label2id, **MODEL_SHAPE)
    config.architectures = ["MobileBertForTokenClassification"]
    model = MobileBertForTokenClassification(config)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps_per_epoch = (len(train_ex) + batch_size - 1) // batch_size
    total = epochs * steps_per_epoch
    warmup = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup))))

    rng = random.Random(seed)
    step = 0
    for epoch in range(epochs):
        model.train()
        # Length-sorted buckets, shuffled: little padding, still random batches.
        order = sorted(range(len(train_ex)), key=lambda i: (len(train_ex[i]["ids"]), rng.random()))
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        rng.shuffle(batches)
        total_loss = 0.0
        for b in batches:
            ids, mask = _pad([train_ex[i]["ids"] for i in b])
            labels, _ = _pad([train_ex[i]["labels"] for i in b], value=-100)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            total_loss += loss.item()
            step += 1
        log(f"epoch {epoch + 1}/{epochs} loss {total_loss / len(batches):.4f} ({time.time() - t0:.0f}s)")

    # Unalignable test sentences still count: their gold entities are all misses.
    gold = [{(e["type"], *e["span"]) for e in ex["record"]["entities"]} for ex in test_ex]
    gold += [{(e["type"], *e["span"]) for e in r["entities"]} for r in _skipped(test_recs, test_ex)]
    pred = predict_entities(model, test_ex, id2label) + [set()] * skipped_te
    metrics = entity_f1(gold, pred)
    metrics.update(test_sentences=len(test_recs), train_sentences=len(train_recs), epochs=epochs,
                   seed=seed, train_seconds=round(time.time() - t0), parameters=sum(p.numel() for p in model.parameters()))
    model.save_pretrained(out)
    (out / "NOTICE").write_text(NOTICE, encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log(f"test entity F1 {metrics['f1']:.4f} (P {metrics['precision']:.4f} R {metrics['recall']:.4f})")
    return metrics
