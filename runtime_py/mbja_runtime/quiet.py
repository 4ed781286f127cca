"""Keep the engines' notes off mbja-run's stderr, which carries its own errors and progress only.

LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." the first time a process
runs a model, straight to file descriptor 2, and has no switch for it (TF_CPP_MIN_LOG_LEVEL does
not reach its minimal logger). So the CLI and the corpus job open their model inside
``engine_notes_dropped``: fd 2 goes to a temporary file meanwhile, and every other line the engines
wrote is passed on afterwards. The library API (``mbja_runtime.load``) leaves fd 2 alone.
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
from contextlib import contextmanager

NOTES = (b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)


@contextmanager
def engine_notes_dropped():
    try:
        fd = sys.stderr.fileno()
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):   # captured, as under pytest
        yield
        return
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as tmp:
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
            if kept:
                os.write(fd, b"".join(kept))
