"""Keep the engines' notes off mbja-run's stderr, which carries its own errors and progress only.

LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." the first time a process
runs a model, straight to file descriptor 2, and has no switch for it (TF_CPP_MIN_LOG_LEVEL does
not reach its minimal logger). So the CLI and the corpus job open their model inside
``engine_notes_dropped``: fd 2 goes to a temporary file meanwhile, and every other line the engines
wrote is passed on afterwards (another thread's stderr meanwhile is delayed, not lost; a native
crash inside loses it). Calls are serialised: fd 2 belongs to the whole process. The library API
(``mbja_runtime.load``) leaves fd 2 alone.
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
import threading
from contextlib import contextmanager

NOTES = (b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)
#: fd 2 is the process's: two threads redirecting it at once would restore each other's file
_ONE_AT_A_TIME = threading.Lock()


@contextmanager
def engine_notes_dropped():
    with _ONE_AT_A_TIME:
        try:
            fd = sys.stderr.fileno()
            sys.stderr.flush()
            tmp = tempfile.TemporaryFile()
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):   # captured (pytest), no temp dir
            yield
            return
        saved = os.dup(fd)
        os.dup2(tmp.fileno(), fd)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            kept = [line for line in tmp.read().splitlines(keepends=True) if not line.startswith(NOTES)]
            tmp.close()
            if kept:
                os.write(fd, b"".join(kept))
