"""A bundle damaged where its sha256s cannot see (a hand-edited manifest, a labels.json rewritten
and rehashed) is refused when it is opened, as an unusable bundle naming what is wrong: a
BundleError from the Python API, exit 2 and one line from mbja-run. Before, these were KeyError /
TypeError tracebacks at the first text, errors repeated for every text, or silently wrong results
(``max_length: 0`` classified anyway; a short labels.json named the labels LABEL_n)."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest

import mbja_runtime
from mbja_runtime.cli import main
from mbja_runtime.errors import BundleError, MbjaError


def _models(m, backend):
    return [x for x in m["models"] if x["backend"] == backend]


MANIFEST_CASES = {
    "no task": (lambda m: m.pop("task"), "'task'"),
    "task a list": (lambda m: m.update(task=["x"]), "'task'"),
    "max_length 0": (lambda m: m.update(max_length=0), "'max_length'"),
    "max_length a string": (lambda m: m.update(max_length="64"), "'max_length'"),
    "files a list": (lambda m: m.update(files=list(m["files"])), "'files'"),
    "a file without sha256": (lambda m: m["files"]["vocab.txt"].pop("sha256"), "files['vocab.txt']"),
    "models a string": (lambda m: m.update(models="onnx"), "'models'"),
    "a model an int": (lambda m: m.update(models=[1]), "models[0]"),
    "a model file not listed": (lambda m: m["models"][0].update(file="other.onnx"), "models[0].file"),
    "a model without file": (lambda m: m["models"][0].pop("file"), "models[0].file"),
    "tflite without signatures": (lambda m: _models(m, "tflite")[0].pop("signatures"), ".signatures"),
    "a signature length a string": (lambda m: _models(m, "tflite")[0]["signatures"][0].update(length="16"),
                                    ".signatures[0]"),
    "labels an int": (lambda m: m.update(labels=5), "'labels'"),
    "tokenizer null": (lambda m: m.update(tokenizer=None), "'tokenizer'"),
    "vocab not listed": (lambda m: m.update(vocab="novocab.txt"), "'vocab'"),
    "vocab a list": (lambda m: m.update(vocab=[]), "'vocab'"),                     # unhashable: no TypeError
    "a model file a list": (lambda m: m["models"][0].update(file=["model.onnx"]), "models[0].file"),
    "dictionary an int": (lambda m: m.update(dictionary=5), "'dictionary'"),
    # outside the bundle: its files would escape the sha256 check (Kotlin and TypeScript refused it)
    "dictionary outside the bundle": (lambda m: m.update(dictionary="../dictionary"), "'dictionary'"),
    "a file name with an empty part": (lambda m: m["files"].update({"a//b": m["files"]["vocab.txt"]}),
                                       "'a//b' points outside the bundle"),
}

FILE_CASES = {          # file -> new content, rehashed into the manifest so the sha256 check passes
    "labels.json not ids": ("labels.json", '{"a": "X"}', "ids 0..n-1"),
    "labels.json a list": ("labels.json", '["A", "B"]', "not a JSON object"),
    "labels.json signed ids": ("labels.json", '{"+0": "A", "1": "B", "2": "C", "3": "D", "4": "E"}', "ids 0..n-1"),
    "labels.json not JSON": ("labels.json", "{bad", "corrupt labels file"),
    "config.json not JSON": ("config.json", "{bad", "corrupt config file"),
    "a mask token not a string": ("tokenizer.json", '{"mask_token": 5}', "mask_token"),
    "max_input_chars_per_word a string": ("tokenizer.json", '{"max_input_chars_per_word": "abc"}',
                                          "max_input_chars_per_word"),
    "an empty vocabulary": ("vocab.txt", "", "vocabulary is empty"),
    # Python's JSON parser recurses: a RecursionError traceback before (Kotlin and TypeScript refused it)
    "labels.json nested too deeply": ("labels.json", '{"0": ' + "[" * 100_000 + "]" * 100_000 + "}",
                                      "nested too deeply"),
}


def _copy(src, dst, edit=None, files=None):
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    for name, content in (files or {}).items():
        if isinstance(content, bytes):
            (dst / name).write_bytes(content)
        else:
            (dst / name).write_text(content, encoding="utf-8")
        data = (dst / name).read_bytes()
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    if edit:
        edit(manifest)
    (dst / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return dst


def _assert_refused(bundle, match, capsys):
    with pytest.raises(BundleError, match=match.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        mbja_runtime.load(bundle)
    capsys.readouterr()                      # what building the shared fixture printed
    assert main(["classify", "--bundle", str(bundle), "東京"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and match in captured.err, captured.err


@pytest.mark.parametrize("case", MANIFEST_CASES)
def test_a_malformed_manifest_is_an_unusable_bundle(tiny_task_bundle, tmp_path, capsys, case):
    edit, match = MANIFEST_CASES[case]
    source = tiny_task_bundle("sequence-classification")
    _assert_refused(_copy(source, tmp_path / "b", edit), match, capsys)


@pytest.mark.parametrize("case", FILE_CASES)
def test_a_malformed_bundle_file_is_refused_at_load(tiny_task_bundle, tmp_path, capsys, case):
    name, content, match = FILE_CASES[case]
    source = tiny_task_bundle("sequence-classification")
    _assert_refused(_copy(source, tmp_path / "b", files={name: content}), match, capsys)


def test_the_untouched_copy_loads_and_agrees(tiny_task_bundle, tmp_path):
    """The control: copying and rewriting the manifest as the cases do changes nothing by itself;
    and a manifest without "outputs" (optional: a model has one output) gives the same results."""
    source = tiny_task_bundle("sequence-classification")

    def drop_outputs(m):
        for spec in m["models"]:
            spec.pop("outputs", None)
            for sig in spec.get("signatures", []):
                sig.pop("outputs", None)

    for backend in ("onnx", "tflite"):
        want = mbja_runtime.load(source, backend=backend)("東京に住む", top_k=None)
        assert mbja_runtime.load(_copy(source, tmp_path / f"same-{backend}"), backend=backend)(
            "東京に住む", top_k=None) == want
        assert mbja_runtime.load(_copy(source, tmp_path / f"no-outputs-{backend}", drop_outputs), backend=backend)(
            "東京に住む", top_k=None) == want


def test_odd_but_valid_settings_load_as_the_other_runtimes_read_them(tiny_task_bundle, tmp_path):
    """config.json's id2label not an object: softmax, as Kotlin and TypeScript decide (it was a
    TypeError); model_max_length 1e400 (inf to Python's json) means no limit (it was an OverflowError)."""
    source = tiny_task_bundle("sequence-classification")
    want = mbja_runtime.load(source, backend="onnx")("東京に住む", top_k=None)
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    settings = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    odd = _copy(source, tmp_path / "odd", files={
        "config.json": json.dumps({**config, "id2label": 5}),
        "tokenizer.json": json.dumps(settings).replace(f'"model_max_length": {settings["model_max_length"]}',
                                                       '"model_max_length": 1e400')})
    m = mbja_runtime.load(odd, backend="onnx")
    assert m.tokenizer.model_max_length is None and m.score_function == "softmax"
    assert m("東京に住む", top_k=None) == want


COMMANDS = {"sequence-classification": "classify", "token-classification": "ner"}


@pytest.mark.parametrize("backend", ["onnx", "tflite"])
@pytest.mark.parametrize("task", COMMANDS)
def test_labels_json_naming_fewer_labels_than_the_model_scores(tiny_task_bundle, tmp_path, capsys, task, backend):
    """Ids 0..n-1, well formed, but fewer than the model's outputs: an unusable bundle when it is
    opened (ONNX declares its output's width, TFLite's shapes are static), exit 2, not LABEL_n
    names mixed in with the real ones (nor, before, a failure at the first text)."""
    bundle = _copy(tiny_task_bundle(task), tmp_path / "b", files={"labels.json": '{"0": "A"}'})
    with pytest.raises(BundleError, match=r"the model scores \d+ labels, labels.json names 1$"):
        mbja_runtime.load(bundle, backend=backend)
    capsys.readouterr()
    assert main([COMMANDS[task], "--bundle", str(bundle), "--backend", backend, "東京", "大阪"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "labels.json names 1" in captured.err


@pytest.mark.parametrize("task", COMMANDS)
def test_a_model_that_does_not_declare_its_width_is_checked_on_its_first_output(tiny_task_bundle, tmp_path,
                                                                                monkeypatch, capsys, task):
    """A model whose output width is unknown until it runs (an ONNX graph whose last axis shape
    inference cannot resolve, made so here): the first text fails as an unusable bundle."""
    from mbja_runtime import opened

    chosen = opened.choose_backend

    def undeclared(*args, **kwargs):
        backend, why = chosen(*args, **kwargs)
        backend.output_width = None
        return backend, why

    monkeypatch.setattr(opened, "choose_backend", undeclared)
    bundle = _copy(tiny_task_bundle(task), tmp_path / "b", files={"labels.json": '{"0": "A"}'})
    m = mbja_runtime.load(bundle, backend="onnx")
    with pytest.raises(BundleError, match=r"the model scores \d+ labels, labels.json names 1$"):
        m("東京")
    capsys.readouterr()
    assert main([COMMANDS[task], "--bundle", str(bundle), "--backend", "onnx", "東京", "大阪"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "labels.json names 1" in captured.err


def test_the_backends_know_the_output_width_at_open(tiny_task_bundle):
    for task in COMMANDS:
        source = tiny_task_bundle(task)
        labels = len(json.loads((source / "labels.json").read_text(encoding="utf-8")))
        for backend in ("onnx", "tflite"):
            m = mbja_runtime.load(source, backend=backend)
            assert m.backend.output_width == labels == m.logits("東京").shape[-1], (task, backend)


def test_a_bundle_path_of_the_wrong_type_is_an_mbja_error():
    for bad in (None, 5, ["dir"]):
        with pytest.raises(MbjaError, match="a bundle is a directory path"):
            mbja_runtime.load(bad)


@pytest.mark.parametrize("args,match", [
    (["classify", "--top-k", "0"], "top_k must be a positive int"),
    (["classify", "--top-k", "-3"], "top_k must be a positive int"),
    (["fill-mask", "--top-k", "0"], "top_k must be a positive int"),
    (["ner", "--stride", "-1"], "stride must be an int from 0 to 61"),
    (["ner", "--stride", "62"], "stride must be an int from 0 to 61"),
    (["ner", "--batch-size", "0"], "--batch-size needs --input"),
])
def test_bad_task_options_are_refused_before_any_text(tiny_task_bundle, capsys, args, match):
    """Before, --top-k 0 and --stride -1 failed every text (exit 1, one error record each; a corpus
    job wrote a "complete" output of error records) and --batch-size 0 was ignored."""
    task = {"classify": "sequence-classification", "fill-mask": "fill-mask", "ner": "token-classification"}[args[0]]
    text = "東京は[MASK]です。" if task == "fill-mask" else "東京"
    bundle = tiny_task_bundle(task)
    capsys.readouterr()
    assert main([args[0], "--bundle", str(bundle), *args[1:], text]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and match in captured.err, captured.err


def test_bad_options_through_the_python_api(tiny_task_bundle):
    ner = mbja_runtime.load(tiny_task_bundle("token-classification"))
    for options, match in [({"stride": "8"}, "stride must be an int"), ({"stride": True}, "stride must be an int"),
                           ({"ignore_labels": 5}, "ignore_labels must be a list"),
                           ({"ignore_labels": "O"}, "ignore_labels must be a list")]:
        with pytest.raises(MbjaError, match=match):
            ner("東京", **options)
    assert ner("東京", ignore_labels=["O"]) == ner("東京")
