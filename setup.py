"""mobilebert-ja on-device SDK: build toolchain (mbja_build) and torch-free runtime (mbja_runtime)."""
from setuptools import Extension, setup

RUNTIME = ["numpy>=1.24", "onnxruntime>=1.17", "ai-edge-litert>=1.2"]
BUILD = RUNTIME + [
    "torch>=2.4",
    "transformers>=5,<6",
    "safetensors",
    "onnx>=1.16",
    "onnxscript",
    "litert-torch>=0.10",
    "ai-edge-quantizer",
    "fugashi>=1.3",
    "unidic-lite==1.0.8",
    "click>=8.1",
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
        "mbja_runtime", "mbja_runtime.tokenize", "mbja_runtime.pipelines",
    ],
    package_data={"mbja_build": ["demo_checkpoint/*", "samples/*"]},
    # optional C accelerator of the segmenter: without a compiler the install still succeeds and
    # the runtime uses its pure-Python path (mbja_runtime.tokenize.Segmenter.engine says which)
    ext_modules=[Extension("mbja_runtime.tokenize._segment", ["runtime_py/mbja_runtime/tokenize/_segment.c"],
                           optional=True)],
    install_requires=["numpy>=1.24"],
    extras_require={"runtime": RUNTIME, "build": BUILD, "dev": BUILD + DEV},
    entry_points={"console_scripts": [
        "mbja-build=mbja_build.cli:main",
        "mbja-run=mbja_runtime.cli:main",
    ]},
)
