"""Shared fixtures: real NER sentences, tiny random checkpoints per task, built bundles.

Nothing here may touch the network: the Hub is unreachable where this project is tested.
"""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# Tests compare runs with each other (API vs CLI, one process vs another), so they all run the
# bundle's first model; the automatic choice, which times the models at load, is tested with an
# explicit backend="auto" (test_runtime_api.py), which this does not override.
os.environ.setdefault("MBJA_BACKEND", "first")

import json
import shutil
import sys
from pathlib import Path

import pytest

# The product must be self-contained: nothing may read a file beside the checkout (such as a
# shared/ folder beside it that only developers have). An audit hook records every open() under an entry
# that sat beside the checkout when the session started; the session fails if there was one.
# Hidden entries and those holding Python itself or the temporary directory are not "beside" it.
# (.ci/run also runs the suite from a copy with nothing beside it.)
CHECKOUT = Path(__file__).resolve().parent.parent


def _siblings() -> tuple[str, ...]:
    import tempfile

    if CHECKOUT.parent == Path(CHECKOUT.anchor):
        return ()   # a checkout directly under "/": its "siblings" are the whole system
    needed = [Path(p).resolve() for p in (sys.prefix, sys.base_prefix, tempfile.gettempdir(), Path.home())]
    out = []
    for entry in CHECKOUT.parent.iterdir():
        entry = entry.resolve()
        if entry == CHECKOUT or entry.name.startswith(".") or any(n == entry or entry in n.parents for n in needed):
            continue
        out.append(str(entry))
    return tuple(out)


_SIBLINGS = _siblings()
_outside_reads: list[str] = []


def _audit(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)) and len(_outside_reads) < 20:
        try:
            path = os.path.abspath(os.fsdecode(args[0]))
        except (TypeError, ValueError):
            return
        if any(path == s or path.startswith(s + os.sep) for s in _SIBLINGS):
            _outside_reads.append(path)


if _SIBLINGS:
    sys.addaudithook(_audit)


def pytest_sessionfinish(session, exitstatus):
    if _outside_reads:
        print("\nFAILED: files outside the checkout were opened (the project must be self-contained):\n  "
              + "\n  ".join(sorted(set(_outside_reads))), file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

from mbja_build.demo import CHECKPOINT_DIR
from mbja_runtime import cpu
from mbja_build.demo.data import load_ner, split


@pytest.fixture(scope="session")
def ner_records():
    return load_ner()


@pytest.fixture(scope="session")
def test_sentences(ner_records):
    """Unseen (test-split) real sentences, a fixed sample of 200 for conversion parity."""
    _, test = split(ner_records)
    return [r["text"] for r in test[:200]]


def make_tiny_checkpoint(path: Path, model_type: str, task: str, init_range: float = 0.15) -> Path:
    """A random, tiny checkpoint whose logits still depend on input and mask.

    MobileBERT at the default init (0.02) yields near-constant logits, so a parity test on it
    proves little. With hidden sizes of 32-64 a larger init is needed than for full-size models
    (~0.035): measured, 0.15 moves every task's output by > 0.08 when the input or the mask
    changes, while NoNorm stays finite. The conversion test asserts that dependence itself.
    """
    import torch
    import transformers

    from mbja_build.tasks import get_task

    torch.manual_seed(0)
    vocab = (CHECKPOINT_DIR / "vocab.txt").read_text(encoding="utf-8").splitlines()
    common = dict(vocab_size=len(vocab), num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=128,
                  initializer_range=init_range, num_labels=5)
    if model_type == "mobilebert":
        config = transformers.MobileBertConfig(hidden_size=64, embedding_size=32, true_hidden_size=32,
                                               intra_bottleneck_size=32, intermediate_size=64, **common)
    else:
        config = transformers.BertConfig(hidden_size=32, intermediate_size=64, **common)
    t = get_task(task)
    model = getattr(transformers, t.auto_class).from_config(config)
    model.eval()
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    shutil.copy(CHECKPOINT_DIR / "vocab.txt", path / "vocab.txt")
    shutil.copy(CHECKPOINT_DIR / "tokenizer_config.json", path / "tokenizer_config.json")
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    cache = {}

    def get(model_type: str, task: str) -> Path:
        key = (model_type, task)
        if key not in cache:
            cache[key] = make_tiny_checkpoint(tmp_path_factory.mktemp(f"{model_type}-{task}"), model_type, task)
        return cache[key]

    return get


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, tiny_checkpoint):
    """A small ONNX bundle (demo vocabulary + compiled dictionary) for runtime and CLI tests."""
    from mbja_build.build import BuildOptions, build_bundle

    out = tmp_path_factory.mktemp("tiny-bundle") / "bundle"
    build_bundle(BuildOptions(model=str(tiny_checkpoint("mobilebert", "token-classification")), target="onnx",
                              max_length=64, out=out))
    return out


@pytest.fixture(scope="session")
def reference_tokenizer():
    """transformers' BertJapaneseTokenizer with the demo vocabulary: the parity reference."""
    from mbja_build.reference import reference_tokenizer

    return reference_tokenizer(CHECKPOINT_DIR / "vocab.txt")


@pytest.fixture(scope="session")
def tiny_task_bundle(tmp_path_factory, tiny_checkpoint):
    """An ONNX + TFLite bundle of a tiny random MobileBERT per task (max length 64, buckets 16/64)."""
    from mbja_build.build import BuildOptions, build_bundle

    cache = {}

    def get(task: str) -> Path:
        if task not in cache:
            out = tmp_path_factory.mktemp(f"tiny-{task}") / "bundle"
            build_bundle(BuildOptions(model=str(tiny_checkpoint("mobilebert", task)), target="all",
                                      buckets="16,64", max_length=64, out=out))
            cache[task] = out
        return cache[task]

    return get


@pytest.fixture(scope="session")
def demo_fp32_bundle(tmp_path_factory):
    """The trained demo NER model in fp32, ONNX + TFLite, buckets 32/64/128 (max length 128)."""
    from mbja_build.build import BuildOptions, build_bundle

    out, _ = build_bundle(BuildOptions(target="all", buckets="32,64,128", max_length=128,
                                       out=tmp_path_factory.mktemp("demo-fp32") / "bundle"))
    return out


@pytest.fixture(scope="session")
def demo_reference():
    """(tokenizer, PyTorch model) of the demo checkpoint: transformers' side of every parity test."""
    from transformers import AutoModelForTokenClassification

    from mbja_build.reference import reference_tokenizer

    tok = reference_tokenizer(CHECKPOINT_DIR / "vocab.txt")
    return tok, AutoModelForTokenClassification.from_pretrained(CHECKPOINT_DIR).eval()


#: Tests that compare this CPU's VNNI kernels with its AVX2 ones (benchmarks/avx2_only): they need
#: gdb, objdump and a VNNI CPU (AVX-512 VNNI or AVX-VNNI), whose dot products the mask hides.
needs_avx2_emulation = pytest.mark.skipif(
    shutil.which("gdb") is None or shutil.which("objdump") is None
    or not {"avx2", "fma"} <= cpu.flags() or not {"avx512_vnni", "avx_vnni"} & cpu.flags(),
    reason="needs gdb, objdump and a VNNI CPU (AVX-512 VNNI or AVX-VNNI) to hide VNNI from the engines")
