"""Write a compiled dictionary into a directory and describe it for the bundle manifest.

``write_dictionary`` is what ``build.py`` (the bundle writer) and ``mbja-build dictionary`` call.
Files are written to a temporary name and renamed, so an interrupted build never leaves a file
that passes the size check but holds half a payload.
"""
from __future__ import annotations

import io
import lzma
import os
import time
import zipfile
from pathlib import Path

from mbja_runtime.bundle import sha256_file
from mbja_runtime.tokenize import format as fmt

from .compiler import CompiledDictionary, compile_dictionary
from .mecab_source import read_mecab_dictionary

FORMAT_NAME = "mbja-dictionary"


def _notice(source: dict) -> str:
    dicdir = Path(source["dicdir"])
    lines = [
        "This directory is a compiled subset (surfaces, context classes, costs, character classes)",
        f"of UniDic {source.get('unidic_version', '?')} as packaged by unidic-lite",
        f"({source.get('unidic_lite_version', '?')}), made by mobilebert-ja-sdk for segmentation only.",
        "UniDic is copyrighted free software by the UniDic Consortium, released under any of the",
        "GPL, the LGPL or the BSD License; it is redistributed here under the BSD License:",
        "",
    ]
    bsd = dicdir / "BSD"
    body = bsd.read_text(encoding="utf-8") if bsd.is_file() else "(BSD licence text not found in the source)\n"
    return "\n".join(lines) + body


def write_compiled(compiled: CompiledDictionary, out_dir: str | os.PathLike, notice: str | None = None) -> dict:
    """Write every file of ``compiled`` into ``out_dir``; return the manifest-ready description."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, name in fmt.FILES.items():
        _atomic_write(out / name, compiled.files[kind].to_bytes())
        written.append(name)
    if notice is not None:
        _atomic_write(out / fmt.NOTICE, notice.encode("utf-8"))
        written.append(fmt.NOTICE)
    files = {n: {"sha256": sha256_file(out / n), "size": (out / n).stat().st_size} for n in written}
    return {"format": FORMAT_NAME, "format_version": fmt.FORMAT_VERSION, "files": files,
            "stats": compiled.stats}


def write_dictionary(out_dir: str | os.PathLike, dicdir: str | os.PathLike | None = None) -> dict:
    """Compile unidic-lite (or the MeCab binary dictionary in ``dicdir``) into ``out_dir``.

    Returns ``{"format", "format_version", "source", "files": {name: {"sha256", "size"}}, "stats"}``
    with file names relative to ``out_dir`` (the bundle keeps them under ``dictionary/``).
    """
    t0 = time.perf_counter()
    src = read_mecab_dictionary(dicdir)
    try:
        from importlib import metadata
        src.source["unidic_lite_version"] = metadata.version("unidic-lite")
    except Exception:  # a dicdir from elsewhere: the version file is all we know
        pass
    compiled = compile_dictionary(src)
    result = write_compiled(compiled, out_dir, _notice(src.source))
    result["source"] = {k: v for k, v in src.source.items() if k != "dicdir"}
    result["stats"]["compile_seconds"] = round(time.perf_counter() - t0, 1)
    return result


def measure_sizes(out_dir: str | os.PathLike, xz_preset: int = 6) -> dict:
    """Bytes of the dictionary raw, per file and as shipped: zip (deflate, what an APK does) and xz.

    ``xz`` is the sum of the files compressed one by one (a tar.xz of all is within 0.1 %). The
    default preset takes ~30 s; docs/dictionary-format.md's table used
    ``xz_preset=9 | lzma.PRESET_EXTREME`` (~45 s, 0.2 MB smaller).
    """
    out = Path(out_dir)
    names = [n for n in list(fmt.FILES.values()) + [fmt.NOTICE] if (out / n).is_file()]
    per_file = {}
    for n in names:
        data = (out / n).read_bytes()
        per_file[n] = {"raw": len(data), "xz": len(lzma.compress(data, preset=xz_preset))}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for n in names:
            z.write(out / n, n)
            per_file[n]["zip"] = z.getinfo(n).compress_size
    return {"files": per_file, "raw": sum(v["raw"] for v in per_file.values()), "zip": len(buf.getvalue()),
            "xz": sum(v["xz"] for v in per_file.values())}


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
