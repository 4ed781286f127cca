"""What a long `mbja-build` command shows while it works: our steps, and nothing of the libraries.

A conversion spends minutes inside torch.export, onnxscript, litert-torch, ai-edge-quantizer and
the TFLite interpreter, which print deprecation warnings, their own progress bars and C++ log lines
(``INFO: Created TensorFlow Lite XNNPACK delegate``) straight to file descriptors 1 and 2. Python
filters cannot reach the C++ half, so :func:`library_output_to_log` moves both descriptors to a
log file for the duration of the job and hands our own reporter a stream on the real stderr. The
log is deleted after a success and kept (its path printed) after a failure, where it is evidence.

:class:`Steps` prints one line per step with its elapsed time: a live line (rich) on a terminal,
plain lines when stderr is a file or a pipe, nothing with ``--quiet``.
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import IO, Iterator

#: Set (to anything) to let every library print as it likes; MBJA_DEBUG=1 does the same and also
#: shows tracebacks. The CLI's --verbose sets it so bench worker processes inherit it.
VERBOSE_ENV = "MBJA_VERBOSE"


def verbose() -> bool:
    return bool(os.environ.get(VERBOSE_ENV) or os.environ.get("MBJA_DEBUG"))


@contextmanager
def library_output_to_log(prog: str) -> Iterator[IO[str]]:
    """Redirect fds 1 and 2 to a temporary log; yield a text stream on the original stderr.

    Does nothing (yields ``sys.stderr``) in verbose mode or when the streams have no file
    descriptor (click's CliRunner, a notebook), where the libraries' output is already contained.
    """
    try:
        if verbose():
            raise io.UnsupportedOperation
        out_fd, err_fd = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
        yield sys.stderr
        return
    sys.stdout.flush()
    sys.stderr.flush()
    log = tempfile.NamedTemporaryFile(prefix=f"{prog}-", suffix=".log", delete=False)
    saved_out, saved_err = os.dup(out_fd), os.dup(err_fd)
    ours = os.fdopen(os.dup(saved_err), "w", buffering=1, encoding="utf-8", errors="replace")
    os.dup2(log.fileno(), out_fd)
    os.dup2(log.fileno(), err_fd)
    ok = False
    try:
        yield ours
        ok = True
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os.dup2(saved_out, out_fd)
        os.dup2(saved_err, err_fd)
        os.close(saved_out)
        os.close(saved_err)
        log.close()
        if ok or os.path.getsize(log.name) == 0:
            os.unlink(log.name)
        else:
            ours.write(f"{prog}: the libraries' own output of this run is in {log.name}\n")
        ours.close()


class Steps:
    """Numbered steps with elapsed times on ``stream``: live on a terminal, else plain lines.

    ``step(name)`` ends the running step and starts the next; ``detail(text)`` says what the
    running step is doing now, under its own number (a step whose length is only known as it goes,
    such as the int8 repair's attempts, keeps the total true: no "[6/5]", no "[5/5]" that is not
    the end); ``note(text)`` prints a line between steps (warnings); ``close()`` ends the last
    step. Usable as the ``progress``, ``detail`` and ``warn`` callbacks of the library functions.
    """

    def __init__(self, prog: str, total: int | None = None, stream: IO[str] | None = None,
                 quiet: bool = False, live: bool | None = None):
        self.prog, self.total, self.quiet = prog, total, quiet
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.count = 0
        self._name = ""
        self._progress = None
        self._task = None
        if live is None:
            isatty = getattr(self.stream, "isatty", None)
            live = bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
        if live and not quiet:
            self._start_live()

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(file=self.stream, force_terminal=True, highlight=False)
        self._progress = Progress(SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"),
                                  TimeElapsedColumn(), console=console, transient=False)
        self._progress.start()

    def _label(self, name: str) -> str:
        of = f"/{max(self.total, self.count)}" if self.total else ""
        return f"[{self.count}{of}] {name}"

    def step(self, name: str) -> None:
        self._finish_task()
        self.count += 1
        self._name = name
        if self.quiet:
            return
        if self._progress is not None:
            self._task = self._progress.add_task(self._label(name), total=1)
        else:
            self._line(self._label(name))

    def detail(self, text: str) -> None:
        if self.quiet:
            return
        label = self._label(f"{self._name}: {text}" if self._name else text)
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=label)
        elif self._progress is None:
            self._line(label)

    def _line(self, label: str) -> None:
        self.stream.write(f"{self.prog}: {label} (at {time.monotonic() - self.started:.1f} s)\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(f"{self.prog}: {text}", markup=False, highlight=False)
        else:
            self.stream.write(f"{self.prog}: {text}\n")
            self.stream.flush()

    def _finish_task(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=1)
            self._progress.stop_task(self._task)
            self._task = None

    def close(self, ok: bool = True) -> None:
        self._finish_task()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif ok and not self.quiet and self.count:
            self.stream.write(f"{self.prog}: done in {time.monotonic() - self.started:.1f} s\n")
            self.stream.flush()

    def __enter__(self) -> "Steps":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(ok=exc_type is None)

