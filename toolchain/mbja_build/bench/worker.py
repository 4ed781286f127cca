"""One measured variant in its own process: load it, then time sentences when the parent asks.

Why a process per variant: peak resident memory (VmHWM) is then the variant's own, and one
variant's libraries, thread pools and allocator state cannot slow another. The parent keeps every
worker alive and hands them the test sentences in interleaved chunks, so a neighbour's burst of
CPU on a shared machine hits all variants alike and the ratios of one run hold.

Protocol (JSON lines): the parent writes the spec, the worker answers ``{"ok", "load_s", ...}``;
then ``{"op": "run", "start", "stop"}`` -> ``{"latencies": [s...], "preds": [[[type, start, end]...]...]}``
and ``{"op": "stats"}`` -> ``{"peak_rss": bytes, ...}``; EOF ends it. Library chatter goes to stderr.

Timed per sentence: everything from the text to its entity list (tokenize + infer + decode), one
sentence at a time, as the seed's table did.
"""
from __future__ import annotations

import json
import os
import sys
import time

from ..errors import describe


def peak_rss() -> int:
    """This process's peak resident set (VmHWM), in bytes; ru_maxrss where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class TorchNER:
    """transformers' side: BertJapaneseTokenizer + the PyTorch model + the runtime's IOB2 decoding.

    BertJapaneseTokenizer gives no character offsets, so the pieces it produces (its own MeCab
    word tokenizer, then its WordPiece, exactly what ``tokenizer(text)`` runs) are located in the
    NFKC text and mapped back to the original characters, as the demo's training code does. A
    sentence that cannot be aligned still runs the model (it is timed) but predicts nothing; the
    count is reported as ``unaligned`` (0 on the test split).
    """

    def __init__(self, path: str, threads: int):
        import torch
        from transformers import AutoModelForTokenClassification

        from ..reference import reference_tokenizer

        torch.set_num_threads(threads)
        self.tok = reference_tokenizer(os.path.join(path, "vocab.txt"))
        self.model = AutoModelForTokenClassification.from_pretrained(path).eval()
        self.id2label = {int(k): v for k, v in self.model.config.id2label.items()}
        self.max_len = int(self.model.config.max_position_embeddings)
        self.torch = torch
        self.unaligned = 0

    def encode(self, text: str):
        """(input_ids, offsets) with [CLS]/[SEP]; offsets None when the pieces can't be located."""
        from ..demo.align import nfkc_char_map

        tok = self.tok
        words = tok.word_tokenizer.tokenize(text, never_split=tok.all_special_tokens)
        pieces, spans = [], []
        mapped = nfkc_char_map(text)
        norm, owner = mapped if mapped else ("", [])
        pos = 0
        for word in words:
            sub = tok.subword_tokenizer.tokenize(word)
            pieces += sub
            start = norm.find(word, pos) if mapped else -1
            if start < 0:
                spans = None
                continue
            pos, at = start + len(word), start
            for p in sub:
                length = len(word) if p == tok.unk_token else len(p[2:] if p.startswith("##") else p)
                if spans is not None:
                    spans.append((owner[at], owner[at + length - 1] + 1))
                at += length
        ids = [tok.cls_token_id, *tok.convert_tokens_to_ids(pieces), tok.sep_token_id]
        return ids, (None if spans is None else [None, *spans, None])

    def __call__(self, text: str) -> list[tuple]:
        from mbja_runtime.iob import decode_iob2

        ids, offsets = self.encode(text)
        ids = ids[: self.max_len]
        t = self.torch
        with t.inference_mode():
            x = t.tensor([ids])
            logits = self.model(input_ids=x, attention_mask=t.ones_like(x), token_type_ids=t.zeros_like(x)).logits[0]
        if offsets is None:
            self.unaligned += 1
            return []
        tags = [self.id2label[i] for i in logits.argmax(-1).tolist()]
        return [(e["type"], e["start"], e["end"]) for e in decode_iob2(tags, offsets[: len(tags)])]


class BundleNER:
    """The SDK's side: ``mbja_runtime.load(bundle)(text)``, the real pipeline a device runs."""

    def __init__(self, path: str, backend: str, threads: int):
        import mbja_runtime

        self.pipe = mbja_runtime.load(path, backend=backend, num_threads=threads)
        self.unaligned = 0

    def __call__(self, text: str) -> list[tuple]:
        return [(e["type"], e["start"], e["end"]) for e in self.pipe(text)]


def main() -> None:
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")   # the protocol channel
    os.dup2(2, 1)                                       # everything else printed goes to stderr

    def send(obj):
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()

    spec = json.loads(sys.stdin.readline())
    texts = json.loads(open(spec["texts"], encoding="utf-8").read())
    try:
        t0 = time.perf_counter()
        if spec["backend"] == "pytorch":
            run = TorchNER(spec["path"], spec["threads"])
        else:
            run = BundleNER(spec["path"], spec["backend"], spec["threads"])
        for text in texts[: spec["warmup"]]:
            run(text)
        load_s = time.perf_counter() - t0
    except Exception as e:  # reported as the variant's row, never hidden
        send({"ok": False, "error": describe(e)})
        return
    send({"ok": True, "load_s": load_s, "rss_after_load": peak_rss()})
    clock = time.perf_counter
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "run":
            lat, preds = [], []
            for text in texts[cmd["start"]:cmd["stop"]]:
                t = clock()
                ents = run(text)
                lat.append(clock() - t)
                preds.append(ents)
            send({"latencies": lat, "preds": preds})
        elif cmd["op"] == "stats":
            send({"peak_rss": peak_rss(), "unaligned": run.unaligned})


if __name__ == "__main__":
    main()
