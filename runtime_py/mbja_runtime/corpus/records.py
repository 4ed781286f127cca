"""Input lines -> texts, results -> output lines: what a corpus job's JSONL looks like.

One input line gives exactly one output record, in input order, so a record is found by its
line number (``"line"``, 1-based) and a resumed job knows where it stopped by counting lines.

* text input: the line (without its ``\\n`` / ``\\r\\n``) is the text; output
  ``{"line": n, "text": ..., KEY: result}``;
* JSONL input: each line is a JSON object whose ``text_field`` holds the text; the output keeps
  every field of it (``id`` and any metadata) and adds ``"line"`` and ``KEY``;
* a line that cannot be used (invalid UTF-8 or JSON, no text field) or whose text the pipeline
  rejects becomes ``{"line": n, [its fields,] "error": "..."}``; the job goes on.

``"line"``, ``"error"`` and ``KEY`` are the job's: an input field of one of these names (say, a
record of an earlier job fed to the next) is replaced, never passed on as if this job wrote it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

TEXT, JSONL = "text", "jsonl"
INPUT_FORMATS = (TEXT, JSONL)
#: each task's result key in a record (also mbja-run's one-text-per-line output)
RESULT_KEYS = {"token-classification": "entities", "sequence-classification": "labels", "fill-mask": "masks",
               "feature-extraction": "embedding"}


def to_json(task: str, result):
    """A pipeline result as JSON: embeddings as lists of floats rounded to 7 digits (float32 holds
    ~7; the rest would be noise that makes equal vectors print differently), the others as they are."""
    if task == "feature-extraction":
        return [round(float(x), 7) for x in result]
    return result


@dataclass
class Item:
    """One input line: its text, or why it has none (``error``)."""
    line: int
    text: str | None
    fields: dict | None = None          # a JSONL line's object, kept in the output record
    error: str | None = None


def input_format(path: str, requested: str | None) -> str:
    """``requested``, else JSONL for ``*.jsonl`` / ``*.ndjson`` files, else text."""
    if requested:
        return requested
    return JSONL if path.lower().endswith((".jsonl", ".ndjson")) else TEXT


def parse_line(raw: bytes, line: int, fmt: str, text_field: str = "text") -> Item:
    raw = raw[:-1] if raw.endswith(b"\n") else raw
    raw = raw[:-1] if raw.endswith(b"\r") else raw
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return Item(line, None, error=f"line {line} is not valid UTF-8 (byte {raw[e.start]:#04x} at {e.start})")
    if fmt == TEXT:
        return Item(line, decoded)
    if not decoded.strip():
        return Item(line, None, error=f"line {line} is empty (JSONL wants one JSON object per line)")
    try:
        obj = json.loads(decoded, parse_constant=_no_constant)
    except ValueError as e:
        return Item(line, None, error=f"line {line} is not JSON: {e}")
    except RecursionError:          # Python's parser recurses: one hostile line must not end the job
        return Item(line, None, error=f"line {line} is nested too deeply to read as JSON")
    if not isinstance(obj, dict):
        return Item(line, None, error=f"line {line} is a JSON {type(obj).__name__}, not an object")
    text = obj.get(text_field)
    if not isinstance(text, str):
        what = "has no" if text_field not in obj else f"has a {type(text).__name__} in its"
        return Item(line, None, obj, f"line {line} {what} {text_field!r} field (a string)")
    return Item(line, text, obj)


def _no_constant(name: str):
    """NaN and Infinity are not JSON (RFC 8259): Python reads them, so an output echoing them would
    be a file other readers refuse."""
    raise ValueError(f"{name} is not a JSON value")


def record(item: Item, key: str, result=None, error: str | None = None) -> dict:
    """The output record of ``item``: its result under ``key``, or ``error``."""
    out: dict = {"line": item.line}
    if item.fields is not None:
        out.update((k, v) for k, v in item.fields.items() if k not in ("line", "error", key))
    elif item.text is not None:
        out["text"] = item.text
    if error is not None:
        out["error"] = error
    else:
        out[key] = result
    return out


def dumps(obj: dict) -> bytes:
    """One JSONL line. Characters stay readable; a lone surrogate (JSON input may hold one) can't be
    UTF-8, so such a record is written with \\u escapes instead, still valid JSON that reads back."""
    try:
        return (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(obj) + "\n").encode("ascii")
