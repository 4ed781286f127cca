"""`mbja-run`: the runtime from the shell. argparse only: the runtime install has no click.

Every task command takes texts as arguments, or reads UTF-8 lines from stdin when none are given,
and writes one JSON object per text. Exit codes: 0 ok, 1 some input could not be processed (its
line carries an "error" key), 2 usage error, unusable bundle (missing, tampered, wrong task) or
a file that cannot be written.
Errors are one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Callable

from .corpus.records import RESULT_KEYS, to_json
from .errors import BundleError, MbjaError
from .quiet import engine_notes_dropped
from .threads import MAX_THREADS, check_threads

EPILOG = """examples:
  mbja-run ner --bundle dist/demo 'レッドフォックス株式会社は東京都千代田区にある。'
  mbja-run ner --bundle dist/demo --aggregation first < sentences.txt > entities.jsonl
  mbja-run classify --bundle dist/sentiment --top-k 3 'この映画は最高だった。'
  mbja-run fill-mask --bundle dist/mlm '東京は日本の[MASK]です。'
  mbja-run embed --bundle dist/encoder --pooling mean --normalize < texts.txt
  echo '東京都に住んでいる' | mbja-run tokenize --bundle dist/demo
  mbja-run backend --bundle dist/demo --threads 1      # which model runs on this CPU, and why

corpus jobs (one record per input line, resumable, batched, in worker processes):
  mbja-run ner --bundle dist/demo --input corpus.txt --output entities.jsonl --batch-size 32 --workers 2
  mbja-run embed --bundle dist/encoder --input docs.jsonl --text-field body --output vectors.jsonl
  Killed or Ctrl-C'd, the same command continues where it stopped (OUTPUT.partial + its state file);
  OUTPUT appears only when complete. Records: {"line": n, "text": ..., KEY: ...}; a JSONL input line's
  fields are kept (e.g. its "id"); a bad line becomes {"line": n, "error": ...} and the job goes on.

exit codes: 0 ok; 1 some text could not be processed (its line is {"error": ...}, the others
still print); 2 usage error or unusable bundle (missing, tampered, newer format, other task), an
output that cannot be written (full disk, read-only), or a corpus job that cannot resume (other
settings or input); 130 interrupted (resumable).
"""


@dataclass(frozen=True)
class TaskCommand:
    name: str
    task: str
    help: str
    options: Callable[[argparse.Namespace], dict]

    @property
    def key(self) -> str:                      # the result's key in the JSON line
        return RESULT_KEYS[self.task]

    def to_json(self, result):
        return to_json(self.task, result)


TASK_COMMANDS = {c.name: c for c in (
    TaskCommand("ner", "token-classification",
                "entities with character spans (token-classification bundles)",
                lambda a: {"aggregation": a.aggregation, "stride": a.stride}),
    TaskCommand("classify", "sequence-classification",
                "top-k labels with scores (sequence-classification bundles)",
                lambda a: {"top_k": a.top_k}),
    TaskCommand("fill-mask", "fill-mask",
                "top-k fillers for every [MASK] (fill-mask bundles)",
                lambda a: {"top_k": a.top_k}),
    TaskCommand("embed", "feature-extraction",
                "one vector per text (feature-extraction bundles)",
                lambda a: {"pooling": a.pooling, "normalize": a.normalize}),
)}


def _common(p: argparse.ArgumentParser, texts: bool = True) -> None:
    p.add_argument("--bundle", required=True, metavar="DIR", help="bundle directory (mbja-build --out)")
    if texts:
        p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to process (default: one per stdin line)")
        _backend_options(p)


def _backend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("auto", "onnx", "tflite", "first"),
                   help="model to run: auto = the bundle's fastest on this CPU, timed at load (default; "
                        "$MBJA_BACKEND overrides it), first = the first the manifest lists; "
                        "`mbja-run backend` shows the choice")
    p.add_argument("--threads", type=int, metavar="N", help=f"inference threads, 1-{MAX_THREADS} (default: the backend's)")


def _corpus_options(p: argparse.ArgumentParser) -> None:
    from .corpus import INPUT_FORMATS
    from .corpus.job import DEFAULT_CHUNK

    g = p.add_argument_group("corpus jobs", "read a file (or stdin) line by line and write one JSON record per "
                                            "line; resumable when --output is a file")
    g.add_argument("--input", metavar="FILE", help="text (one text per line) or JSONL file; - for stdin")
    g.add_argument("--output", metavar="FILE", help="JSONL records (default: stdout, not resumable)")
    g.add_argument("--input-format", choices=INPUT_FORMATS,
                   help="default: jsonl for *.jsonl / *.ndjson files, else text")
    g.add_argument("--text-field", default="text", metavar="NAME", help="JSONL field with the text (default: text)")
    g.add_argument("--batch-size", type=int, metavar="N",
                   help="texts per model call, similar lengths together (fp32 ONNX; default: 1)")
    g.add_argument("--workers", type=int, default=1, metavar="K",
                   help="worker processes, each with its own copy of the model (default: 1)")
    g.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, metavar="N",
                   help=f"lines per commit to the output (default: {DEFAULT_CHUNK})")
    g.add_argument("--overwrite", action="store_true", help="replace OUTPUT / discard an interrupted run")
    g.add_argument("--quiet", action="store_true", help="no progress bar, no summary line")


def package_version() -> str:
    """The installed distribution's version (both CLIs' --version)."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    try:
        return version("mobilebert-ja-sdk")
    except PackageNotFoundError:   # run from a source tree that was never installed
        return __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mbja-run", description="Run an mbja bundle without torch: each command "
                                "prints one JSON object per input text.", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"mbja-run {package_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in TASK_COMMANDS.values():
        s = sub.add_parser(cmd.name, help=cmd.help, description=f"{cmd.help[0].upper()}{cmd.help[1:]}. "
                           f"Output per text: {{\"text\": ..., \"{cmd.key}\": ...}}.")
        _common(s)
        _corpus_options(s)
        if cmd.name == "ner":
            from .pipelines import AGGREGATIONS

            s.add_argument("--aggregation", default="simple", choices=AGGREGATIONS,
                           help="how tokens become entities (default: simple)")
            s.add_argument("--stride", type=int, metavar="N",
                           help="overlap of the windows over texts longer than the model (default: 32)")
        elif cmd.name in ("classify", "fill-mask"):
            s.add_argument("--top-k", type=int, default=1 if cmd.name == "classify" else 5, metavar="K",
                           help="how many labels / fillers to return")
        else:
            s.add_argument("--pooling", choices=("cls", "mean"), default="cls", help="(default: cls)")
            s.add_argument("--normalize", action="store_true", help="L2-normalise the vector")
    b = sub.add_parser("backend", help="which model of the bundle runs here, and why (JSON)",
                       description="Open the bundle as the task commands do and print which backend was "
                                   "chosen, why, the timings behind an automatic choice and the CPU's "
                                   "instruction-set features.")
    _common(b, texts=False)
    _backend_options(b)
    t = sub.add_parser("tokenize", help="UTF-8 lines on stdin -> one JSON object per line on stdout",
                       description="Tokenize each stdin line exactly as the device does: input_ids, tokens, "
                                   "offsets (character spans in the line), attention_mask, token_type_ids.")
    _common(t, texts=False)
    t.add_argument("--max-length", type=int, metavar="N", help="truncate to N tokens ([CLS] and [SEP] included)")
    return p


def _texts(args):
    """``records.Item``s of the texts to process: the arguments, else stdin's lines (CRLF or LF;
    a line of invalid UTF-8 is an Item with its error, so it is reported as such)."""
    from .corpus.records import TEXT, Item, parse_line

    if getattr(args, "texts", None):
        return [Item(n, t) for n, t in enumerate(args.texts, 1)]
    return (parse_line(raw, n, TEXT) for n, raw in enumerate(sys.stdin.buffer, 1))


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _run_task(args) -> int:
    from .api import load

    cmd = TASK_COMMANDS[args.command]
    check_threads(args.threads)
    options = cmd.options(args)
    if args.input is not None:
        return _run_corpus(args, cmd, options)
    job_only = [f"--{n.replace('_', '-')}" for n in ("output", "input_format", "batch_size", "overwrite")
                if getattr(args, n) is not None and getattr(args, n) is not False] \
        + (["--workers"] if args.workers != 1 else [])
    if job_only:
        raise MbjaError(f"{', '.join(job_only)} {'needs' if len(job_only) == 1 else 'need'} --input FILE "
                        f"(or --input - for stdin)")
    with engine_notes_dropped():
        m = load(args.bundle, backend=args.backend, num_threads=args.threads, task=cmd.task)
    m.check_options(**options)                 # --top-k 0 is a usage error, not an error per text
    failed = 0
    for item in _texts(args):
        try:
            if item.error:
                raise MbjaError(item.error)
            _emit({"text": item.text, cmd.key: cmd.to_json(m(item.text, **options))})
        except BundleError:
            raise
        except MbjaError as e:
            failed += 1
            _emit({"error": str(e)})
    sys.stdout.flush()
    return 1 if failed else 0


def _run_corpus(args, cmd: TaskCommand, options: dict) -> int:
    from .corpus import Job, run_job

    if args.texts:
        raise MbjaError("give texts as arguments or --input, not both")
    job = Job(bundle=args.bundle, task=cmd.task, input=args.input, output=args.output,
              options=options, input_format=args.input_format, text_field=args.text_field,
              batch_size=args.batch_size, workers=args.workers, threads=args.threads, backend=args.backend,
              chunk_size=args.chunk_size, overwrite=args.overwrite, progress=False if args.quiet else None)
    try:
        summary = run_job(job)
    except KeyboardInterrupt:
        if args.output:
            print(f"mbja-run: interrupted; what was written is kept, rerun the same command to continue",
                  file=sys.stderr)
        return 130
    if not args.quiet:
        resumed = f", resumed after line {summary.resumed_from}" if summary.resumed_from else ""
        print(f"mbja-run: {summary.records} records{resumed}, {summary.errors} errors, "
              f"{summary.per_second:.0f} texts/s ({summary.backend}, {args.workers} worker"
              f"{'s' if args.workers > 1 else ''}) -> {args.output or 'stdout'}", file=sys.stderr)
    return 1 if summary.errors else 0


def _backend(args) -> int:
    from .opened import Bundle

    check_threads(args.threads)
    bundle = Bundle(args.bundle, backend=args.backend, num_threads=args.threads)
    with engine_notes_dropped():
        choice = bundle.backend_choice
    _emit({"bundle": str(args.bundle), "task": bundle.task, **choice, "precision": bundle.backend.precision,
           "models": [m["backend"] for m in bundle.manifest["models"]]})
    return 0


def _tokenize(args) -> int:
    from .tokenize import Tokenizer

    if args.max_length is not None and args.max_length < 2:
        raise MbjaError("--max-length must be >= 2")
    tok = Tokenizer.from_bundle(args.bundle)
    failed = 0
    for item in _texts(args):
        try:
            if item.error:
                raise MbjaError(item.error)
            enc = tok.encode(item.text, max_length=args.max_length)
            out = {"input_ids": list(enc.input_ids), "tokens": list(enc.tokens),
                   "offsets": [list(o) if o is not None else None for o in enc.offsets],
                   "attention_mask": list(enc.attention_mask), "token_type_ids": list(enc.token_type_ids)}
        except BundleError:
            raise
        except MbjaError as e:
            failed += 1
            out = {"error": str(e)}
        _emit(out)
    sys.stdout.flush()
    return 1 if failed else 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"tokenize": _tokenize, "backend": _backend}.get(args.command, _run_task)(args)
    except MbjaError as e:
        print(f"mbja-run: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OSError as e:           # e.g. an output that cannot be written: full disk, read-only file system
        where = f"{e.filename}: " if e.filename else ""
        print(f"mbja-run: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
