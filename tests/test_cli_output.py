"""What `mbja-build` prints while it works: its own numbered steps on stderr, nothing of the libraries.

Real subprocesses with stderr redirected to a pipe (the non-terminal case: plain lines) and a
pseudo-terminal (the live case), on the tiny random checkpoint, so a real torch.export, onnxscript
and ONNX Runtime run under it: every line they would print (deprecation warnings, progress bars,
C++ log lines) must have gone to the hidden log.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from test_cli_errors import run_cli

STEP = re.compile(r"^mbja-build(?: verify)?: \[(\d+)/(\d+)\] (.+) \(at \d+\.\d s\)$")


@pytest.fixture(scope="module")
def plain_build(tmp_path_factory, tiny_checkpoint):
    out = tmp_path_factory.mktemp("progress") / "bundle"
    # the explicit subcommand; the other tests use the original form, `mbja-build [OPTIONS]`
    proc = run_cli("build", "--model", str(tiny_checkpoint("mobilebert", "token-classification")), "--target",
                   "onnx", "--max-length", "64", "--out", str(out))
    return proc, out


def test_build_steps_are_plain_numbered_lines_and_nothing_else(plain_build):
    proc, out = plain_build
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    steps = [STEP.match(l) for l in lines[:-1]]
    assert all(steps), f"a line that is not ours on stderr:\n{proc.stderr}"
    numbers = [int(m.group(1)) for m in steps]
    assert numbers == list(range(1, len(numbers) + 1)) and {int(m.group(2)) for m in steps} == {len(numbers)}
    names = [m.group(3) for m in steps]
    assert names[0] == "loading checkpoint" and "exporting ONNX" in names
    assert names[-2:] == ["verifying: PyTorch reference", "verifying: onnx (fp32)"]
    assert re.fullmatch(r"mbja-build: done in \d+\.\d s", lines[-1]), lines[-1]
    assert proc.stdout.startswith(f"bundle written to {out}: token-classification")
    assert (out / "manifest.json").is_file()


def test_int8_repair_attempts_keep_the_step_numbers_true(tmp_path, tiny_checkpoint):
    """The repair's attempts are known only as it goes: they show under the quantizing step's own
    number, so the total never grows past its first value (no "[5/5]" that is not the end)."""
    import json

    out = tmp_path / "int8"
    proc = run_cli("--model", str(tiny_checkpoint("mobilebert", "token-classification")), "--target", "onnx",
                   "--quantize", "dynamic-int8", "--max-length", "64", "--no-verify", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    steps = [STEP.match(l) for l in lines[:-1]]
    assert all(steps), f"a line that is not ours on stderr:\n{proc.stderr}"
    numbers = [int(m.group(1)) for m in steps]
    totals = {int(m.group(2)) for m in steps}
    assert totals == {max(numbers)} and sorted(set(numbers)) == list(range(1, max(numbers) + 1))
    assert numbers == sorted(numbers)
    attempts = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["models"][0]["int8"]["attempts"]
    shown = [m.group(3) for m in steps if m.group(3).startswith("quantizing ONNX: attempt ")]
    assert [s.split(":")[1].strip() for s in shown] == [f"attempt {i}" for i in range(1, len(attempts) + 1)]
    assert len(attempts) > 1, attempts   # the tiny random model needs a repair: several attempts shown
    assert shown[0].endswith("plain int8")


def test_quiet_verify_prints_only_its_result(plain_build):
    proc, out = plain_build
    quiet = run_cli("--quiet", "verify", "--bundle", str(out), "--no-write")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert "tokenizer: 200/200 texts with identical input_ids" in quiet.stdout
    assert re.search(r"^onnx \(fp32\): .* -> ok$", quiet.stdout, re.M), quiet.stdout


def test_verify_steps_name_each_backend(plain_build):
    proc, out = plain_build
    shown = run_cli("verify", "--bundle", str(out), "--no-write")
    assert shown.returncode == 0, shown.stderr
    names = [m.group(3) for m in map(STEP.match, shown.stderr.splitlines()) if m]
    assert names == ["PyTorch reference", "onnx (fp32)"], shown.stderr


def test_verbose_lets_the_libraries_speak(plain_build):
    """The hidden output exists: with --verbose, torch/transformers print to stderr themselves."""
    proc, out = plain_build
    loud = run_cli("--verbose", "verify", "--bundle", str(out), "--no-write")
    assert loud.returncode == 0, loud.stderr
    assert [l for l in loud.stderr.splitlines() if not l.startswith("mbja-build")], loud.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_terminal_gets_a_live_line_per_step(plain_build):
    import pty

    proc, out = plain_build
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TERM": "xterm", "COLUMNS": "100"}
    env.pop("MBJA_DEBUG", None)
    leader, follower = pty.openpty()     # a terminal for the child's stderr (no fork of this process)
    child = subprocess.Popen([sys.executable, "-m", "mbja_build", "verify", "--bundle", str(out), "--no-write"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:      # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert child.wait(timeout=600) == 0
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[" in screen, "no live (ANSI) rendering on a terminal"
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    assert re.search(r"\[1/2\] PyTorch reference\s+\d:\d\d:\d\d", text), text
    assert re.search(r"\[2/2\] onnx \(fp32\)\s+\d:\d\d:\d\d", text), text
    assert "Warning" not in text and "INFO:" not in text, text
