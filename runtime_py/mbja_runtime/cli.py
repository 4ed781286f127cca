"""`mbja-run`: the runtime from the shell. argparse only: the runtime install has no click.

Exit codes: 0 ok, 1 some input could not be processed (its line carries an "error" key),
2 usage error or unusable bundle. Errors are one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import io
import json
import sys

from .errors import MbjaError

EPILOG = """examples:
  echo 'レッドフォックス株式会社は東京都千代田区にある。' | mbja-run tokenize --bundle dist/demo
  mbja-run tokenize --bundle dist/demo --max-length 32 < sentences.txt > tokens.jsonl
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mbja-run", description="Run an mbja bundle without torch.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    t = sub.add_parser("tokenize", help="UTF-8 lines on stdin -> one JSON object per line on stdout",
                       description="Tokenize each stdin line exactly as the device does: input_ids, tokens, "
                                   "offsets (character spans in the line), attention_mask, token_type_ids.")
    t.add_argument("--bundle", required=True, metavar="DIR", help="bundle directory (mbja-build --out)")
    t.add_argument("--max-length", type=int, metavar="N", help="truncate to N tokens ([CLS] and [SEP] included)")
    return p


def _tokenize(args) -> int:
    from .tokenize import Tokenizer

    if args.max_length is not None and args.max_length < 2:
        raise MbjaError("--max-length must be >= 2")
    tok = Tokenizer.from_bundle(args.bundle)
    # surrogateescape: a line of invalid UTF-8 reaches the tokenizer, which rejects it by itself.
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape", newline="\n")
    failed = 0
    for line in stdin:
        line = line[:-1] if line.endswith("\n") else line
        try:
            enc = tok.encode(line, max_length=args.max_length)
            out = {"input_ids": list(enc.input_ids), "tokens": list(enc.tokens),
                   "offsets": [list(o) if o is not None else None for o in enc.offsets],
                   "attention_mask": list(enc.attention_mask), "token_type_ids": list(enc.token_type_ids)}
        except MbjaError as e:
            failed += 1
            out = {"error": str(e)}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 1 if failed else 0


COMMANDS = {"tokenize": _tokenize}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except MbjaError as e:
        print(f"mbja-run: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
