"""Sentences per second on ner.json: our tokenizer against transformers' BertJapaneseTokenizer,
plus what the device cares about besides speed: dictionary load time and resident memory.

    python benchmarks/tokenizer_speed.py [--dictionary DIR] [--rounds 3]

Both tokenizers run in this one process, alternately, round after round; we report the best
round of each, because on a shared machine the slow rounds measure the neighbours, not us.
Our tokenizer is timed one text at a time (``encode``) and in batches (``encode_batch``), with
each segmentation engine: the C accelerator (when it was built) and the pure-Python fallback.
Load time is the best of 5: the dictionary mapped only (``verify=False``), mapped with the
CRC-32 check (what ``from_bundle`` does), and the whole tokenizer. Memory is this process's
RSS (Linux /proc/self/status) growth, split into anonymous (heap: tables we build) and
file-backed (dictionary pages the kernel mapped in), measured in a fresh child process with
the default engine (so neither the reference nor the compiler is counted): after loading our
tokenizer, after encoding the corpus one text at a time, and after encoding it again in
batches. Without --dictionary, unidic-lite is compiled into a temporary directory first (~30 s).
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


def _rss() -> dict:
    """Resident memory in bytes: {"anon", "file"} (Linux), else {"anon": max RSS so far}."""
    try:
        with open("/proc/self/status") as f:
            kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f) if k in ("RssAnon", "RssFile")}
        return {"anon": kb["RssAnon"] * 1024, "file": kb["RssFile"] * 1024}
    except (OSError, KeyError):
        import resource

        return {"anon": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "file": 0}


def _growth(before: dict, after: dict) -> str:
    mb = {k: (after[k] - before[k]) / 1e6 for k in after}
    return f"{mb['anon'] + mb['file']:6.1f} MB ({mb['anon']:.1f} MB heap + {mb['file']:.1f} MB mapped dictionary pages)"


_MEMORY_CHILD = """
import gc, json, sys
sys.path.insert(0, {here!r})
from tokenizer_speed import _rss
from mbja_build.demo.data import load_ner
from mbja_runtime.tokenize import Tokenizer
gc.collect(); out = [_rss()]
tok = Tokenizer.from_files({vocab!r}, {dic!r}, {{"model_max_length": 512}}, verify=False)
gc.collect(); out.append(_rss())
texts = [r["text"] for r in load_ner()]
for t in texts:
    tok.encode(t)
gc.collect(); out.append(_rss())
for i in range(0, len(texts), {batch}):
    tok.encode_batch(texts[i:i + {batch}])
gc.collect(); out.append(_rss())
print(json.dumps(out))
"""


def _memory(vocab, dic_dir, batch: int) -> list[dict]:
    import json
    import subprocess

    code = _MEMORY_CHILD.format(here=os.path.dirname(os.path.abspath(__file__)), vocab=str(vocab), dic=str(dic_dir),
                                batch=batch)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dictionary", help="a compiled dictionary directory (default: compile one now)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256, help="texts per encode_batch call")
    args = ap.parse_args(argv)

    from transformers.utils import logging

    from mbja_build.demo import CHECKPOINT_DIR
    from mbja_build.demo.data import load_ner
    from mbja_build.reference import reference_tokenizer
    from mbja_runtime.tokenize import Dictionary, Tokenizer
    from mbja_runtime.tokenize.segmenter import c_engine_available

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

    rss = _memory(vocab, dic_dir, args.batch)
    engines = (["c"] if c_engine_available() else []) + ["python"]
    ours = {e: Tokenizer.from_files(vocab, dic_dir, {"model_max_length": 512}, engine=e) for e in engines}
    for tok in ours.values():
        for t in texts[:200]:       # warm caches
            tok.encode(t)
        tok.encode_batch(texts[:args.batch])

    ref = reference_tokenizer(vocab, model_max_length=512)
    for t in texts[:200]:
        ref(t)

    def run_ref():
        for t in texts:
            ref(t, return_token_type_ids=True)

    def run_single(tok):
        for t in texts:
            tok.encode(t)

    def run_batch(tok):
        for i in range(0, len(texts), args.batch):
            tok.encode_batch(texts[i:i + args.batch])

    runs = {"reference": run_ref}
    for e, tok in ours.items():
        runs[f"single-{e}"] = lambda tok=tok: run_single(tok)
        runs[f"batch-{e}"] = lambda tok=tok: run_batch(tok)
    best = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            best[name].append(_best(fn, 1))

    def load(**kw):
        return min(_best(lambda: Dictionary(dic_dir, **kw), 1) for _ in range(5))

    load_mapped, load_verified = load(verify=False), load(verify=True)
    load_tokenizer = min(_best(lambda: Tokenizer.from_files(vocab, dic_dir, {"model_max_length": 512}), 1)
                         for _ in range(5))
    n = len(texts)
    print(f"{n} sentences (ner.json), best of {args.rounds} rounds, one process, {os.cpu_count()} CPUs; "
          f"segmentation engines: {', '.join(engines)}" + ("" if "c" in engines else " (the C one is not built)"))
    print(f"dictionary load: {load_mapped * 1000:.0f} ms mapped only, {load_verified * 1000:.0f} ms with CRC check; "
          f"whole tokenizer (vocab, tables, CRC): {load_tokenizer * 1000:.0f} ms")
    print(f"RSS growth, tokenizer loaded:         {_growth(rss[0], rss[1])}")
    print(f"RSS growth, corpus encoded one by one: {_growth(rss[0], rss[2])}")
    print(f"RSS growth, and again in batches:      {_growth(rss[0], rss[3])}")
    ref_rate = n / min(best["reference"])
    labels = {"reference": "transformers BertJapaneseTokenizer.__call__"}
    for e in engines:
        labels[f"single-{e}"] = f"mbja Tokenizer.encode, {e} engine (one text per call)"
        labels[f"batch-{e}"] = f"mbja Tokenizer.encode_batch, {e} engine ({args.batch} texts per call)"
    for name, label in labels.items():
        rate = n / min(best[name])
        print(f"{label:66s} {rate:8.0f} sentences/s  ({rate / ref_rate:.2f}x reference)")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
