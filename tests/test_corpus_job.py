"""Corpus jobs (`mbja-run TASK --input FILE --output FILE`, `mbja_runtime.corpus`): one record per
input line with the result the pipeline gives that text alone, bad lines as error records, the
same bytes with batches, workers or after a kill -9 and a rerun, and refusals where a resume
would mix two different runs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mbja_runtime
from mbja_runtime.cli import main
from mbja_runtime.corpus import Job, run_job
from mbja_runtime.corpus.journal import Journal
from mbja_runtime.errors import MbjaError

BAD_UTF8 = b"\xff\xfe broken utf-8"


def corpus(test_sentences, n=120) -> list[str]:
    texts = test_sentences[:n]
    return texts[:40] + ["".join(texts[:12]), "", "東京\x00大阪"] + texts[40:]   # a windowed text, empty, NUL


def write_text(path: Path, texts, extra: bytes = b"") -> Path:
    path.write_bytes("".join(t + "\n" for t in texts).encode("utf-8") + extra)
    return path


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def ner_job(bundle, input, output=None, **kw) -> Job:
    kw.setdefault("chunk_size", 8)
    return Job(bundle=bundle, task="token-classification", input=str(input), output=output,
               options={"aggregation": "simple"}, progress=False, **kw)


def test_records_are_the_pipelines_results_line_by_line(demo_fp32_bundle, test_sentences, tmp_path):
    texts = corpus(test_sentences)
    src = write_text(tmp_path / "in.txt", texts[:60], BAD_UTF8 + b"\r\n" + "\r\n".join(texts[60:]).encode())
    out = tmp_path / "out.jsonl"
    rc = main(["ner", "--bundle", str(demo_fp32_bundle), "--backend", "onnx", "--input", str(src),
               "--output", str(out), "--batch-size", "8", "--chunk-size", "32", "--quiet"])
    assert rc == 1                                    # one bad line: exit 1, the others are there
    recs = read_records(out)
    lines = texts[:60] + [None] + texts[60:]
    assert [r["line"] for r in recs] == list(range(1, len(lines) + 1))
    m = mbja_runtime.load(demo_fp32_bundle, backend="onnx")
    found = 0
    for rec, text in zip(recs, lines):
        if text is None:
            assert set(rec) == {"line", "error"} and "UTF-8" in rec["error"]
            continue
        assert rec["text"] == text                    # CRLF lines lose their \r, nothing else
        assert rec["entities"] == m(text), text
        found += len(rec["entities"])
    assert found > len(texts)                         # entities were found: the comparison checked something
    assert not (tmp_path / "out.jsonl.partial").exists() and not (tmp_path / "out.jsonl.partial.json").exists()


def test_jsonl_keeps_each_records_fields_and_reports_bad_lines(tiny_bundle, test_sentences, tmp_path):
    good = [{"id": f"doc-{i}", "body": t, "meta": {"n": i}} for i, t in enumerate(test_sentences[:20])]
    lines = [json.dumps(g, ensure_ascii=False) for g in good[:10]] + [
        "not json", "[1, 2]", '{"id": "no-body"}', '{"id": "num", "body": 5}', "",
        json.dumps({"id": "lone", "body": "a\ud800b"}), '{"id": "nan", "body": "東京", "x": NaN}',
        '{"body": ' + "[" * 100_000 + "]" * 100_000 + "}",      # Python's JSON parser recursed out of the job
        # fields named as the job's own keys (a record of an earlier job fed to this one) are replaced
        json.dumps({"id": "stale", "body": "東京", "line": 99, "error": "old", "entities": "old"})] + \
        [json.dumps(g, ensure_ascii=False) for g in good[10:]]
    src = tmp_path / "docs.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    summary = run_job(Job(bundle=tiny_bundle, task="token-classification", input=str(src), output=out,
                          text_field="body", progress=False, chunk_size=4))
    assert summary.records == len(lines) and summary.errors == 8
    recs = read_records(out)
    m = mbja_runtime.load(tiny_bundle)
    by_id = {r.get("id"): r for r in recs}
    for g in good:
        rec = by_id[g["id"]]
        assert rec["meta"] == g["meta"] and rec["body"] == g["body"] and rec["entities"] == m(g["body"])
    errors = [r for r in recs if "error" in r]
    assert [r["line"] for r in errors] == [11, 12, 13, 14, 15, 16, 17, 18]
    assert by_id["no-body"]["error"].endswith("has no 'body' field (a string)")
    assert errors[-2] == {"line": 17, "error": "line 17 is not JSON: NaN is not a JSON value"}   # never echoed
    assert errors[-1] == {"line": 18, "error": "line 18 is nested too deeply to read as JSON"}
    assert by_id["stale"] == {"line": 19, "id": "stale", "body": "東京", "entities": m("東京")}
    assert by_id["lone"]["body"] == "a\ud800b" and "surrogate" in by_id["lone"]["error"]   # \u escapes read back


@pytest.mark.parametrize("task", ["sequence-classification", "fill-mask", "feature-extraction"])
def test_other_tasks_write_the_pipelines_results(tiny_task_bundle, test_sentences, tmp_path, task):
    from mbja_runtime.corpus.records import RESULT_KEYS, to_json

    bundle = tiny_task_bundle(task)
    texts = test_sentences[:30]
    if task == "fill-mask":
        texts = [t[:5] + "[MASK]" + t[6:] for t in texts]
    out = tmp_path / "out.jsonl"
    run_job(Job(bundle=bundle, task=task, input=str(write_text(tmp_path / "in.txt", texts)), output=out,
                batch_size=8, backend="onnx", progress=False))
    m = mbja_runtime.load(bundle, backend="onnx")
    key = RESULT_KEYS[task]
    for rec, text in zip(read_records(out), texts, strict=True):
        if task == "feature-extraction":
            np.testing.assert_allclose(rec[key], m(text), rtol=0, atol=1e-5)
            assert rec[key] == to_json(task, rec[key])
        else:
            assert rec[key] == m(text)


def test_workers_and_batches_write_the_same_bytes(demo_fp32_bundle, test_sentences, tmp_path):
    src = write_text(tmp_path / "in.txt", corpus(test_sentences, 200))
    outs = {}
    for name, kw in {"one": {}, "batched": {"batch_size": 16}, "workers": {"batch_size": 16, "workers": 2}}.items():
        outs[name] = tmp_path / f"{name}.jsonl"
        summary = run_job(ner_job(demo_fp32_bundle, src, outs[name], backend="onnx", chunk_size=24, **kw))
        assert summary.records == 203 and summary.errors == 0
    assert outs["batched"].read_bytes() == outs["workers"].read_bytes()
    one, batched = read_records(outs["one"]), read_records(outs["batched"])
    for a, b in zip(one, batched, strict=True):       # fp32 batches: equal to float rounding
        assert [(e["type"], e["start"], e["end"]) for e in a["entities"]] == \
               [(e["type"], e["start"], e["end"]) for e in b["entities"]]
        assert np.allclose([e["score"] for e in a["entities"]], [e["score"] for e in b["entities"]], atol=1e-5)


def test_kill_9_then_rerun_gives_the_uninterrupted_records(demo_fp32_bundle, test_sentences, tmp_path):
    src = write_text(tmp_path / "in.txt", corpus(test_sentences, 400) * 2)
    whole = tmp_path / "whole.jsonl"
    run_job(ner_job(demo_fp32_bundle, src, whole, backend="onnx", batch_size=8, chunk_size=16))
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "mbja_runtime", "ner", "--bundle", str(demo_fp32_bundle), "--backend", "onnx",
           "--input", str(src), "--output", str(out), "--batch-size", "8", "--chunk-size", "16"]
    state = tmp_path / "out.jsonl.partial.json"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text())["done_lines"] >= 64:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the job ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads(state.read_text())["done_lines"]
    assert 64 <= done < 806 and not out.exists()
    rerun = subprocess.run(cmd, capture_output=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert f"resumed after line {done}" in rerun.stderr.decode()
    assert out.read_bytes() == whole.read_bytes()
    assert not state.exists()


def _interrupted(bundle, src: Path, out: Path, after_lines: int, **kw):
    """Run until ``after_lines`` input lines were read, then Ctrl-C (KeyboardInterrupt) the job."""
    class Interrupting:
        def __init__(self):
            self.f, self.n = open(src, "rb"), 0

        def __iter__(self):
            for raw in self.f:
                self.n += 1
                if self.n > after_lines:
                    raise KeyboardInterrupt
                yield raw

    reader = Interrupting()
    with pytest.raises(KeyboardInterrupt):
        run_job(ner_job(bundle, "-", out, **kw), stdin=reader)
    reader.f.close()


def assert_same_as_an_uninterrupted_run(bundle, src: Path, out: Path) -> None:
    fresh = out.with_name("fresh.jsonl")
    run_job(ner_job(bundle, src, fresh))
    assert out.read_bytes() == fresh.read_bytes()


def test_resume_refuses_other_settings_or_another_input(tiny_bundle, test_sentences, tmp_path):
    texts = test_sentences[:60]
    src = write_text(tmp_path / "in.txt", texts)
    out = tmp_path / "out.jsonl"
    _interrupted(tiny_bundle, src, out, 30)
    assert json.loads((tmp_path / "out.jsonl.partial.json").read_text())["done_lines"] == 24
    with pytest.raises(MbjaError, match="other settings.*batch_size=None"):
        run_job(ner_job(tiny_bundle, src, out, batch_size=4))
    other = write_text(tmp_path / "other.txt", texts[1:])
    with pytest.raises(MbjaError, match="first 24 lines are not those of the interrupted run"):
        run_job(ner_job(tiny_bundle, other, out))
    short = write_text(tmp_path / "short.txt", texts[:10])
    with pytest.raises(MbjaError, match="has 10 lines, the interrupted run had done 24"):
        run_job(ner_job(tiny_bundle, short, out))
    summary = run_job(ner_job(tiny_bundle, src, out))            # the same settings and input: resumes
    assert summary.resumed_from == 24 and summary.records == 36
    assert_same_as_an_uninterrupted_run(tiny_bundle, src, out)


def test_a_resume_left_to_choose_keeps_the_interrupted_runs_backend(tiny_task_bundle, test_sentences, tmp_path,
                                                                    monkeypatch):
    """The automatic choice times the engines at load; when the timing now favours the other one,
    the resume takes the journal's backend instead of refusing the run as "other settings"."""
    from mbja_runtime import backends

    bundle = tiny_task_bundle("token-classification")
    src = write_text(tmp_path / "in.txt", test_sentences[:40])
    out = tmp_path / "out.jsonl"
    monkeypatch.delenv(backends.ENV, raising=False)
    _interrupted(bundle, src, out, 20, backend="onnx")
    monkeypatch.setattr(backends, "_time_backends", lambda bes: {n: (9.0 if n == "onnx" else 1.0) for n in bes})
    assert run_job(ner_job(bundle, src, tmp_path / "fresh.jsonl")).backend == "tflite"   # the timing's pick
    summary = run_job(ner_job(bundle, src, out))
    assert summary.backend == "onnx" and summary.resumed_from == 16 and summary.records == 24
    whole = tmp_path / "whole.jsonl"
    run_job(ner_job(bundle, src, whole, backend="onnx"))
    assert out.read_bytes() == whole.read_bytes()
    _interrupted(bundle, src, tmp_path / "again.jsonl", 20, backend="onnx")
    with pytest.raises(MbjaError, match="other settings.*backend='onnx'"):    # asked for: still refused
        run_job(ner_job(bundle, src, tmp_path / "again.jsonl", backend="tflite"))


def test_a_torn_chunk_after_the_last_commit_is_cut_away(tiny_bundle, test_sentences, tmp_path):
    src = write_text(tmp_path / "in.txt", test_sentences[:40])
    out = tmp_path / "out.jsonl"
    _interrupted(tiny_bundle, src, out, 20)
    partial = tmp_path / "out.jsonl.partial"
    with open(partial, "ab") as f:                    # killed while writing the next chunk
        f.write(b'{"line": 17, "text": "half a rec')
    run_job(ner_job(tiny_bundle, src, out))
    assert_same_as_an_uninterrupted_run(tiny_bundle, src, out)


def test_outputs_are_never_silently_replaced(tiny_bundle, test_sentences, tmp_path):
    src = write_text(tmp_path / "in.txt", test_sentences[:5])
    out = tmp_path / "out.jsonl"
    run_job(ner_job(tiny_bundle, src, out))
    with pytest.raises(MbjaError, match="exists; pass --overwrite"):
        run_job(ner_job(tiny_bundle, src, out))
    src2 = write_text(tmp_path / "in2.txt", test_sentences[5:8])
    assert run_job(ner_job(tiny_bundle, src2, out, overwrite=True)).records == 3
    assert [r["text"] for r in read_records(out)] == test_sentences[5:8]
    (tmp_path / "out.jsonl.partial.json").write_text("{not json")
    (tmp_path / "out.jsonl").unlink()
    with pytest.raises(MbjaError, match="not a readable job state"):
        Journal(out, {})
    (tmp_path / "out.jsonl.partial").write_bytes(b"")
    for bad in ({"done_lines": -5}, {"output_bytes": -1}, {"errors": 9}, {"done_lines": True}, None):
        state = [] if bad is None else {"format": 1, "settings": {}, "done_lines": 4, "output_bytes": 0, "errors": 0,
                                        "input_sha256": "0" * 64, **bad}
        (tmp_path / "out.jsonl.partial.json").write_text(json.dumps(state))
        with pytest.raises(MbjaError, match="not a readable job state"):
            Journal(out, {})


def test_cli_usage_errors_are_exit_2_with_one_line(tiny_bundle, tmp_path, capsys):
    src = write_text(tmp_path / "in.txt", ["東京"])
    partial = write_text(tmp_path / "o.jsonl.partial", ["東京"])
    cases = [
        (["--output", str(tmp_path / "o.jsonl")], "needs --input"),
        (["--input", str(src), "東京"], "not both"),
        (["--input", str(tmp_path / "missing.txt")], "no such file"),
        (["--input", str(src), "--output", str(src)], "is the job's own output file"),
        # the job truncates OUTPUT.partial first: as the input it would be emptied, then renamed
        (["--input", str(partial), "--output", str(tmp_path / "o.jsonl")], "is the job's own output file"),
        (["--input", str(partial), "--output", str(tmp_path / "o.jsonl"), "--overwrite"], "own output file"),
        (["--input", str(src), "--threads", "100000"], "threads must be an int from 1 to 256"),
        (["--input", str(src), "--workers", "0"], "workers must be a positive int"),
        (["--input", str(src), "--batch-size", "0"], "batch_size must be a positive int"),
        (["--input", str(src), "--output", str(tmp_path / "nodir" / "o.jsonl")], "does not exist"),
        (["--input", str(src), "--output", "."], "is a directory"),
        (["--input", str(src), "--output", ""], "is a directory"),
        (["--input", str(src), "--stride", "-1"], "stride must be an int from 0 to 61"),
        (["--input", str(src), "--output", str(tmp_path / "o.jsonl"), "--stride", "99"], "stride must be"),
    ]
    for extra, message in cases:
        assert main(["ner", "--bundle", str(tiny_bundle), *extra]) == 2, extra
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (extra, err)
    assert src.read_text(encoding="utf-8") == partial.read_text(encoding="utf-8") == "東京\n"   # inputs intact
    assert not (tmp_path / "o.jsonl").exists()         # a refused option wrote no "complete" output


def test_a_pipe_is_an_input_and_a_full_disk_is_one_line(tiny_bundle, test_sentences, tmp_path):
    """--input <(...) (a FIFO) reads like stdin; a write that fails (here /dev/full) is exit 2 and
    one line, not a traceback."""
    texts = test_sentences[:6]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    feeder = subprocess.Popen(["sh", "-c", f"cat > '{fifo}'"], stdin=subprocess.PIPE)
    feeder.stdin.write("".join(t + "\n" for t in texts).encode("utf-8"))
    feeder.stdin.close()
    out = tmp_path / "out.jsonl"
    assert main(["ner", "--bundle", str(tiny_bundle), "--input", str(fifo), "--output", str(out), "--quiet"]) == 0
    feeder.wait(timeout=60)
    m = mbja_runtime.load(tiny_bundle)
    assert [r["entities"] for r in read_records(out)] == [m(t) for t in texts]
    proc = subprocess.run([sys.executable, "-m", "mbja_runtime", "ner", "--bundle", str(tiny_bundle), "東京"],
                          stdout=open("/dev/full", "wb"), stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 2 and proc.stderr == b"mbja-run: error: No space left on device\n", proc.stderr


def test_mbja_run_keeps_the_engines_notes_off_stderr(tiny_task_bundle, tmp_path):
    """LiteRT's "INFO: Created TensorFlow Lite XNNPACK delegate" line has no switch; mbja-run
    drops it (and only it) from stderr, in the main process and in workers."""
    bundle = tiny_task_bundle("token-classification")
    src = write_text(tmp_path / "in.txt", ["東京", "大阪"])
    for extra in ([], ["--input", str(src), "--workers", "2", "--quiet"]):
        proc = subprocess.run([sys.executable, "-m", "mbja_runtime", "ner", "--bundle", str(bundle), "--backend",
                               "tflite", *extra, *([] if extra else ["東京"])], capture_output=True, timeout=300)
        assert proc.returncode == 0 and proc.stderr == b"", (extra, proc.stderr)
        assert len(proc.stdout.splitlines()) == (2 if extra else 1)


def test_ray_data_rows_equal_the_single_process_records(demo_fp32_bundle, test_sentences, tmp_path):
    import ray

    from mbja_runtime.corpus.ray_data import BundlePredictor

    texts = corpus(test_sentences, 150)
    out = tmp_path / "single.jsonl"
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)),
                   encoding="utf-8")
    run_job(ner_job(demo_fp32_bundle, src, out, backend="onnx", batch_size=16))
    single = {r["id"]: r for r in read_records(out)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)] + [{"id": -1, "text": "a\ud800"}])
        rows = ds.map_batches(BundlePredictor, fn_constructor_kwargs={"bundle": str(demo_fp32_bundle),
                                                                       "backend": "onnx", "batch_size": 16},
                              batch_size=40, compute=ray.data.ActorPoolStrategy(size=2)).take_all()
    finally:
        ray.shutdown()
    assert len(rows) == len(texts) + 1
    for row in rows:
        if row["id"] == -1:
            assert row["entities"] is None and "surrogate" in row["error"]
            continue
        rec = single[row["id"]]
        assert row["error"] == "" and row["text"] == rec["text"]
        got = json.loads(row["entities"])
        # batches of other neighbours: fp32 results equal to float rounding
        assert [(e["type"], e["start"], e["end"]) for e in got] == \
               [(e["type"], e["start"], e["end"]) for e in rec["entities"]]
        assert np.allclose([e["score"] for e in got], [e["score"] for e in rec["entities"]], atol=1e-5)
    assert sum(len(json.loads(r["entities"])) for r in rows if r["id"] >= 0) > len(texts)


def test_a_model_file_the_engine_cannot_read_is_an_unusable_bundle(tiny_bundle, tmp_path, capsys):
    """Sizes and sha256s match (the manifest was rewritten with them), the bytes are no ONNX model:
    exit 2 and one line naming the model, not a traceback."""
    import hashlib
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_bundle, bad)
    model = bad / "model.onnx"
    model.write_bytes(model.read_bytes()[:1000])
    manifest = json.loads((bad / "manifest.json").read_text(encoding="utf-8"))
    manifest["models"] = [m for m in manifest["models"] if m["backend"] == "onnx"]
    manifest["files"]["model.onnx"] = {"sha256": hashlib.sha256(model.read_bytes()).hexdigest(), "size": 1000}
    (bad / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for cmd in (["backend", "--bundle", str(bad)], ["ner", "--bundle", str(bad), "東京"]):
        assert main(cmd) == 2, cmd
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "onnx model of" in err and "cannot run here" in err, (cmd, err)
