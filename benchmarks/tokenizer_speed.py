"""Sentences per second on ner.json: our tokenizer against transformers' BertJapaneseTokenizer.

    python benchmarks/tokenizer_speed.py [--dictionary DIR] [--rounds 3]

Both tokenizers run in this one process, alternately, round after round; we report the best
round of each, because on a shared machine the slow rounds measure the neighbours, not us.
Our tokenizer is timed one text at a time (``encode``) and in batches (``encode_batch``).
Without --dictionary, unidic-lite is compiled into a temporary directory first (~30 s).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _best(fn, rounds):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dictionary", help="a compiled dictionary directory (default: compile one now)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256, help="texts per encode_batch call")
    args = ap.parse_args(argv)

    from transformers import BertJapaneseTokenizer
    from transformers.utils import logging

    from mbja_build.demo import CHECKPOINT_DIR
    from mbja_build.demo.data import load_ner
    from mbja_runtime.tokenize import Dictionary, Tokenizer

    logging.set_verbosity_error()
    texts = [r["text"] for r in load_ner()]
    vocab = CHECKPOINT_DIR / "vocab.txt"
    tmp = None
    if args.dictionary is None:
        from mbja_build.dictionary import write_dictionary

        tmp = tempfile.TemporaryDirectory(prefix="mbja-dic-")
        t0 = time.perf_counter()
        write_dictionary(tmp.name)
        print(f"compiled unidic-lite in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    dic_dir = args.dictionary or tmp.name

    t0 = time.perf_counter()
    Dictionary(dic_dir)
    load_verified = time.perf_counter() - t0
    t0 = time.perf_counter()
    Dictionary(dic_dir, verify=False)
    load_mapped = time.perf_counter() - t0
    ref = BertJapaneseTokenizer(str(vocab), word_tokenizer_type="mecab", mecab_kwargs={"mecab_dic": "unidic_lite"},
                                subword_tokenizer_type="wordpiece", do_lower_case=False, model_max_length=512)
    ours = Tokenizer.from_files(vocab, dic_dir, {"model_max_length": 512})
    for t in texts[:200]:       # warm caches of both
        ref(t)
        ours.encode(t)

    def run_ref():
        for t in texts:
            ref(t, return_token_type_ids=True)

    def run_single():
        for t in texts:
            ours.encode(t)

    def run_batch():
        for i in range(0, len(texts), args.batch):
            ours.encode_batch(texts[i:i + args.batch])

    best = {"reference": [], "single": [], "batch": []}
    for _ in range(args.rounds):
        best["reference"].append(_best(run_ref, 1))
        best["single"].append(_best(run_single, 1))
        best["batch"].append(_best(run_batch, 1))
    n = len(texts)
    print(f"{n} sentences (ner.json), best of {args.rounds} rounds, one process, {os.cpu_count()} CPUs")
    print(f"dictionary load: {load_verified * 1000:.0f} ms with CRC check, {load_mapped * 1000:.0f} ms mapped only")
    ref_rate = n / min(best["reference"])
    for name, label in (("reference", "transformers BertJapaneseTokenizer.__call__"),
                        ("single", "mbja Tokenizer.encode (one text per call)"),
                        ("batch", f"mbja Tokenizer.encode_batch ({args.batch} texts per call)")):
        rate = n / min(best[name])
        print(f"{label:58s} {rate:8.0f} sentences/s  ({rate / ref_rate:.2f}x reference)")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
