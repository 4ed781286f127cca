"""Writing a bundle: files into a temp dir, a manifest with every file's sha256, then one rename.

The layout and manifest are specified in docs/bundle-format.md; the names and version come from
mbja_runtime.bundle so writer and reader share one definition.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from mbja_runtime.bundle import FORMAT, FORMAT_VERSION, MANIFEST, sha256_file

from .errors import UsageError


def check_output_dir(out: Path) -> None:
    """Fail before any conversion work if --out can't be (re)placed."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise UsageError(f"--out {out} is a non-empty directory that is not a bundle; refusing to replace it")
    # Probe by creating a directory where the bundle will be staged: os.access() says yes to
    # root even on read-only mounts, and only a real attempt catches every case.
    probe = out.resolve().parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"--out {out}: {probe} is not a directory")
    try:
        tempfile.TemporaryDirectory(prefix=".mbja-probe-", dir=probe).cleanup()
    except OSError as e:
        raise UsageError(f"--out {out}: cannot write in {probe} ({e.strerror})") from None


@contextmanager
def staging_dir(out: Path):
    """Yield a temp dir beside ``out``; on success it atomically becomes ``out``, on error it vanishes.

    Beside, not in /tmp, so the final rename stays on one filesystem. An existing bundle at ``out``
    is moved aside first and deleted only once the new one is in place.
    """
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    os.chmod(tmp, 0o755)  # mkdtemp's 0700 would make the finished bundle private
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_manifest(root: Path, body: dict) -> dict:
    """Add format header and the sha256/size of every file under ``root`` (except the manifest)."""
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            rel = p.relative_to(root).as_posix()
            files[rel] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **body, "files": files}
    write_json(root / MANIFEST, manifest)
    return manifest


def tool_versions() -> dict:
    from importlib import metadata

    versions = {}
    for dist in ("mobilebert-ja-sdk", "torch", "transformers", "onnx", "onnxruntime", "litert-torch",
                 "ai-edge-quantizer", "ai-edge-litert", "fugashi", "unidic-lite"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return versions
