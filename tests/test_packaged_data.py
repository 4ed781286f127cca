"""The NER data ships inside the package, and an installed package finds it without any path.

The reference is the dataset itself: the packaged copy must hold Stockmark's 5,343 records with
spans that cut out each entity's name, and a wheel built from this checkout must carry it, its
notice and the other package data (demo checkpoint, samples).
"""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mbja_build.demo import data
from mbja_build.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent


def test_packaged_copy_is_the_whole_dataset(ner_records):
    assert data.find_ner_json() == data.PACKAGED_NER
    assert (data.PACKAGED_NER.parent / "NOTICE").read_text(encoding="utf-8").count("CC-BY-SA 3.0") >= 1
    assert len(ner_records) == 5343
    for r in ner_records:
        for e in r["entities"]:
            start, end = e["span"]
            assert r["text"][start:end] == e["name"], (r["curid"], e)
    train, test = data.split(ner_records)
    assert (len(train), len(test)) == (3203, 2140)


def test_other_copy_through_option_and_environment(tmp_path, monkeypatch, ner_records):
    plain = tmp_path / "ner.json"
    plain.write_text(json.dumps(ner_records[:10], ensure_ascii=False), encoding="utf-8")
    assert data.load_ner(plain) == ner_records[:10]
    monkeypatch.setenv("MBJA_NER_JSON", str(plain))
    assert data.load_ner() == ner_records[:10]
    packed = tmp_path / "ner.json.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert data.load_ner(packed) == ner_records[:10]   # the option wins over the environment


@pytest.mark.parametrize("content,needle", [(None, "is not a file"), (b"{not json", "not readable"),
                                            (b'{"text": "x"}', "expected a JSON list"),
                                            (b"\x1f\x8b\x08broken", "not readable")])
def test_bad_data_file_is_a_clear_usage_error(tmp_path, content, needle):
    path = tmp_path / ("ner.json.gz" if content and content.startswith(b"\x1f\x8b") else "ner.json")
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=needle):
        data.load_ner(path)


def test_wheel_carries_the_package_data(tmp_path):
    """What `pip install` (not editable) puts in site-packages: built from this checkout."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "MBJA_UNPINNED": ""})
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("mobilebert_ja_sdk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for must in ("mbja_build/data/ner.json.gz", "mbja_build/data/NOTICE", "mbja_build/samples/NOTICE",
                 "mbja_build/demo_checkpoint/model.safetensors", "mbja_build/demo_checkpoint/NOTICE"):
        assert must in names, must
    with zipfile.ZipFile(wheel).open("mbja_build/data/ner.json.gz") as f:
        assert f.read() == data.PACKAGED_NER.read_bytes()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    for pkg in ("torch", "transformers", "onnxruntime", "litert-torch", "ai-edge-quantizer", "onnx", "onnxscript"):
        assert f"Requires-Dist: {pkg}=={pins[pkg]}; extra == \"build\"" in metadata, pkg
