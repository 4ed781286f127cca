"""The bundle on disk: names, format version, and the manifest check every reader performs.

The format is specified in docs/bundle-format.md. The toolchain writes bundles with these same
constants (mbja_build.bundle imports them), so writer and reader cannot drift apart.
"""
from __future__ import annotations

import hashlib
import json
import re
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
    except RecursionError:          # Python's parser recurses: [[[...]]] 100,000 deep
        raise BundleError(f"corrupt {what} {path}: nested too deeply") from None
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
    if root.is_file():
        raise BundleError(f"{root} is a file, not a bundle directory")
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
    check_manifest(manifest, path)
    if verify:
        for name, meta in manifest["files"].items():
            f = root / name
            if not f.is_file():
                raise BundleError(f"bundle file missing: {f}")
            if f.stat().st_size != meta["size"]:
                raise BundleError(f"bundle file {f} has size {f.stat().st_size}, manifest says {meta['size']}")
            if sha256_file(f) != meta["sha256"].lower():
                raise BundleError(f"bundle file {f} does not match its sha256 in the manifest (corrupt or tampered)")
    return manifest


_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
#: Optional manifest keys that name a file listed in ``files`` (``dictionary`` names a directory).
FILE_KEYS = ("tokenizer", "vocab", "labels")


def check_manifest(manifest: dict, path: Path | str = MANIFEST) -> None:
    """Refuse a manifest whose keys a reader relies on are missing or of the wrong type, naming the
    key, so a hand-edited or foreign manifest is an unusable bundle at open and never a
    KeyError / TypeError at the first text (or a silently wrong result, as ``max_length: 0`` was).

    Keys of models this runtime cannot run are not checked beyond ``backend`` and ``file``: a newer
    writer may add a backend, and the reader skips it."""
    def bad(key: str, want: str, value) -> BundleError:
        return BundleError(f"{path}: {key} must be {want}, not {value!r}"[:300])

    def is_int(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if not isinstance(manifest.get("task"), str) or not manifest["task"]:
        raise bad("'task'", "a task name", manifest.get("task"))
    if not is_int(manifest.get("max_length")) or manifest["max_length"] < 2:
        raise bad("'max_length'", "an int >= 2 ([CLS] and [SEP] included)", manifest.get("max_length"))
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{path}: 'files' is missing or empty")
    for name, meta in files.items():
        if not is_safe_relative(name):
            raise BundleError(f"{path}: file entry {name!r} points outside the bundle")
        if (not isinstance(meta, dict) or not is_int(meta.get("size")) or meta["size"] < 0
                or not isinstance(meta.get("sha256"), str) or not _SHA256.fullmatch(meta["sha256"])):
            raise bad(f"files[{name!r}]", 'an object {"sha256": "<64 hex digits>", "size": <bytes>}', meta)
    for key in FILE_KEYS:
        if key in manifest and not (isinstance(manifest[key], str) and manifest[key] in files):
            raise bad(f"{key!r}", "the name of a file the manifest lists", manifest[key])
    if "dictionary" in manifest and not (isinstance(manifest["dictionary"], str)
                                         and is_safe_relative(manifest["dictionary"])):
        raise bad("'dictionary'", "a directory name inside the bundle", manifest["dictionary"])
    models = manifest.get("models", [])
    if not isinstance(models, list):
        raise bad("'models'", "a list", models)
    for i, spec in enumerate(models):
        where = f"models[{i}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("backend"), str):
            raise bad(where, 'an object with a "backend" name', spec)
        if not (isinstance(spec.get("file"), str) and spec["file"] in files):
            raise bad(f"{where}.file", "the name of a file the manifest lists", spec.get("file"))
        if spec["backend"] == "tflite":
            sigs = spec.get("signatures")
            if not isinstance(sigs, list) or not sigs:
                raise bad(f"{where}.signatures", "a non-empty list", sigs)
            for j, sig in enumerate(sigs):
                if (not isinstance(sig, dict) or not isinstance(sig.get("name"), str)
                        or not is_int(sig.get("length")) or sig["length"] < 2):
                    raise bad(f"{where}.signatures[{j}]", 'an object with a "name" and an int "length" >= 2', sig)


def is_safe_relative(name: str) -> bool:
    """A relative POSIX path inside the bundle: not absolute, no drive letter, no empty part, no
    ``..``, no NUL (the Kotlin and TypeScript readers' rule)."""
    if not name or name[0] in "/\\" or "\0" in name or re.match(r"[A-Za-z]:", name):
        return False
    return all(part not in ("", "..") for part in re.split(r"[/\\]", name))


def output_name(spec: dict) -> str | None:
    """The output a model entry (or TFLite signature) names first, or None: the reader then takes
    the model's only output (every exported graph has one)."""
    outputs = spec.get("outputs")
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict) \
            and isinstance(outputs[0].get("name"), str):
        return outputs[0]["name"]
    return None
