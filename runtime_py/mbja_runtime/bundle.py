"""The bundle on disk: names, format version, and the manifest check every reader performs.

The format is specified in docs/bundle-format.md. The toolchain writes bundles with these same
constants (mbja_build.bundle imports them), so writer and reader cannot drift apart.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import BundleError

FORMAT = "mbja-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VOCAB = "vocab.txt"
TOKENIZER = "tokenizer.json"
LABELS = "labels.json"
DICTIONARY = "dictionary"  # directory of the compiled segmentation dictionary (docs/dictionary-format.md)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_json_object(path: Path, what: str) -> dict:
    """A JSON object from ``path``; BundleError naming the file (and ``what`` it should be) when
    it is missing, not JSON or not an object."""
    if not path.is_file():
        raise BundleError(f"{what} missing: {path}")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(f"corrupt {what} {path}: {e}") from None
    if not isinstance(value, dict):
        raise BundleError(f"{path} is not a JSON object")
    return value


def max_input_length(manifest: dict) -> int:
    """The longest input, in tokens, that EVERY model of the bundle takes: the manifest's
    ``max_length``, capped by each TFLite model's largest signature. Every runtime truncates (or
    windows) to it whichever model runs, so results never depend on the backend chosen."""
    lengths = [int(manifest["max_length"])]
    for spec in manifest.get("models") or []:
        if spec.get("backend") == "tflite" and spec.get("signatures"):
            lengths.append(max(int(s["length"]) for s in spec["signatures"]))
    return min(lengths)


def read_manifest(bundle_dir: str | Path, verify: bool = True) -> dict:
    """Parse and check ``manifest.json``; with ``verify``, check every listed file's size and sha256.

    Raises BundleError naming the offending file, so a user can tell a truncated copy from a
    tampered model from a bundle of a newer format.
    """
    root = Path(bundle_dir)
    if not root.is_dir():
        raise BundleError(f"bundle directory not found: {root}")
    path = root / MANIFEST
    if not path.is_file():
        raise BundleError(f"not a bundle: {path} is missing")
    manifest = read_json_object(path, "manifest")
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{path} is not an {FORMAT} manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{path}: bundle format version {version!r} is not supported "
            f"(this runtime reads version {FORMAT_VERSION}); rebuild the bundle with a matching mbja-build"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{path}: 'files' is missing or empty")
    if verify:
        for name, meta in files.items():
            f = root / name
            if Path(name).is_absolute() or ".." in Path(name).parts:
                raise BundleError(f"{path}: file entry {name!r} points outside the bundle")
            if not f.is_file():
                raise BundleError(f"bundle file missing: {f}")
            if f.stat().st_size != meta.get("size"):
                raise BundleError(f"bundle file {f} has size {f.stat().st_size}, manifest says {meta.get('size')}")
            if sha256_file(f) != meta.get("sha256"):
                raise BundleError(f"bundle file {f} does not match its sha256 in the manifest (corrupt or tampered)")
    return manifest
