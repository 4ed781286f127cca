"""mobilebert-ja on-device SDK: build toolchain (mbja_build) and torch-free runtime (mbja_runtime)."""
import os
import re

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
#: The packages whose versions decide a bundle's bytes and the committed test vectors: the build
#: extra requires exactly the versions constraints.txt pins (its one source), so a plain
#: `pip install '.[build]'` converts like CI does. The runtime extra keeps ranges: a device runs
#: any compatible ONNX Runtime / LiteRT.
BYTES_DECIDING = ("torch", "transformers", "onnx", "onnxscript", "onnxruntime", "litert-torch", "litert-converter",
                  "ai-edge-quantizer", "ai-edge-litert", "torchao", "numpy", "fugashi", "unidic-lite")


def pinned(names):
    if os.environ.get("MBJA_UNPINNED"):   # scripts/upgrade-pins.sh: resolve the newest, then re-pin
        return list(names)
    with open(os.path.join(HERE, "constraints.txt"), encoding="utf-8") as f:
        pins = dict(m.groups() for m in (re.match(r"([A-Za-z0-9._-]+)==(\S+)$", line.strip()) for line in f) if m)
    missing = [n for n in names if n not in pins]
    if missing:
        raise SystemExit(f"constraints.txt pins none of {missing}; regenerate it (scripts/upgrade-pins.sh)")
    return [f"{n}=={pins[n]}" for n in names]


RUNTIME = ["numpy>=1.24", "onnxruntime>=1.17", "ai-edge-litert>=1.2", "tqdm>=4.60"]
#: Ray Data for corpus jobs on a cluster (mbja_runtime.corpus.ray_data)
RAY = ["ray[data]>=2.40"]
BUILD = pinned(BYTES_DECIDING) + [
    "safetensors",
    "click>=8.1",
    "rich>=13",
    "tqdm",
    "matplotlib",
]
DEV = ["pytest>=8", "hypothesis", "pytest-benchmark"]

setup(
    name="mobilebert-ja-sdk",
    version="0.1.0",
    description="Japanese MobileBERT on phones and edge devices: conversion toolchain, bundle format, runtime",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0 (code); CC-BY-SA-3.0 (demo checkpoint and vocabulary)",
    python_requires=">=3.10",
    package_dir={"mbja_build": "toolchain/mbja_build", "mbja_runtime": "runtime_py/mbja_runtime"},
    packages=[
        "mbja_build", "mbja_build.demo", "mbja_build.convert", "mbja_build.dictionary", "mbja_build.vectors",
        "mbja_build.bench",
        "mbja_runtime", "mbja_runtime.tokenize", "mbja_runtime.pipelines", "mbja_runtime.corpus",
    ],
    package_data={"mbja_build": ["demo_checkpoint/*", "samples/*", "data/*"], "mbja_runtime": ["py.typed"]},
    # optional C accelerator of the segmenter: without a compiler the install still succeeds and
    # the runtime uses its pure-Python path (mbja_runtime.tokenize.Segmenter.engine says which)
    ext_modules=[Extension("mbja_runtime.tokenize._segment", ["runtime_py/mbja_runtime/tokenize/_segment.c"],
                           optional=True)],
    install_requires=["numpy>=1.24"],
    extras_require={"runtime": RUNTIME, "ray": RUNTIME + RAY, "build": RUNTIME + BUILD,
                    "dev": RUNTIME + BUILD + RAY + DEV},
    entry_points={"console_scripts": [
        "mbja-build=mbja_build.__main__:main",
        "mbja-run=mbja_runtime.cli:main",
    ]},
)
