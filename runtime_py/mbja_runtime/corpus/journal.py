"""A job's output that survives Ctrl-C, SIGKILL and power loss: written to ``OUTPUT.partial`` in
completed chunks, with a state file beside it that says how much of it is committed.

Commit order: append the chunk's lines to the partial file and fsync it, then replace the state
file atomically (temporary file + fsync + ``os.replace``). A kill between the two leaves bytes past
the committed length; a resume truncates them and redoes that chunk, so no record is lost or
written twice. The state also holds the settings that decide the output's bytes (bundle, backend,
task options, batch size, input format) and the sha256 of the input lines already consumed: a
resume with other settings or another input is refused instead of mixing two runs in one file.
When the last chunk is in, the state file goes and the partial file is renamed to OUTPUT, so
OUTPUT only ever appears complete.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import MbjaError

STATE_FORMAT = 1


def files_of(output: str | os.PathLike) -> tuple[Path, Path, Path, Path]:
    """Every path a job on ``output`` writes: OUTPUT, its partial file, the state file and the
    state's temporary file (the job refuses an input that is one of them)."""
    out = Path(output)
    state = out.with_name(out.name + ".partial.json")
    return out, out.with_name(out.name + ".partial"), state, state.with_name(state.name + ".tmp")


def recorded_setting(output: str | os.PathLike, key: str):
    """``key`` of the settings an interrupted job on ``output`` ran with, or None (no readable state).
    A resume asked to choose by itself takes the backend the journal names, so a timing at load
    that now favours the other engine does not refuse the run as "other settings"."""
    try:
        settings = json.loads(files_of(output)[2].read_text(encoding="utf-8")).get("settings")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    return settings.get(key) if isinstance(settings, dict) else None


class Journal:
    def __init__(self, output: str | os.PathLike, settings: dict, overwrite: bool = False):
        self.output, self.partial, self.state_path, self._state_tmp = files_of(output)
        self.settings = settings
        self.done_lines = 0
        self.errors = 0
        self.input_sha256: str | None = None
        self._fd: int | None = None
        self._open(overwrite)

    @property
    def resumed(self) -> bool:
        return self.done_lines > 0

    def _open(self, overwrite: bool) -> None:
        if self.output.is_dir():
            raise MbjaError(f"--output {self.output} is a directory")
        if not self.output.parent.is_dir():
            raise MbjaError(f"--output {self.output}: its directory {self.output.parent} does not exist")
        if self.output.exists() and not overwrite:
            raise MbjaError(f"{self.output} exists; pass --overwrite to replace it "
                            f"(an interrupted run resumes from {self.partial.name} by itself)")
        state = None if overwrite else self._read_state()
        size = self.partial.stat().st_size if self.partial.exists() else 0
        if state is not None:
            different = sorted(k for k in set(state["settings"]) | set(self.settings)
                               if state["settings"].get(k) != self.settings.get(k))
            if different:
                was = ", ".join(f"{k}={state['settings'].get(k)!r}" for k in different)
                raise MbjaError(f"{self.partial} holds an interrupted run with other settings ({was}); rerun it "
                                f"with those, or pass --overwrite to start again")
            if size < state["output_bytes"]:
                raise MbjaError(f"{self.partial} is shorter ({size} bytes) than its state file says "
                                f"({state['output_bytes']}); pass --overwrite to start again")
            self.done_lines, self.errors = state["done_lines"], state["errors"]
            self.input_sha256 = state["input_sha256"]
        committed = state["output_bytes"] if state else 0
        self._fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT, 0o644)
        os.ftruncate(self._fd, committed)       # a torn chunk after the last commit, or a stale file
        os.lseek(self._fd, committed, os.SEEK_SET)
        self._bytes = committed

    def _read_state(self) -> dict | None:
        if not self.state_path.exists():
            return None
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            if not isinstance(state, dict):
                raise ValueError(f"a JSON {type(state).__name__}, not an object")
            if state.get("format") != STATE_FORMAT:
                raise ValueError(f"format {state.get('format')!r}")
            for key, kind in (("settings", dict), ("done_lines", int), ("output_bytes", int), ("errors", int),
                              ("input_sha256", str)):
                if not isinstance(state.get(key), kind) or isinstance(state[key], bool):
                    raise ValueError(f"no {key}")
                if kind is int and state[key] < 0:
                    raise ValueError(f"{key} {state[key]}")
            if state["errors"] > state["done_lines"]:
                raise ValueError(f"{state['errors']} errors in {state['done_lines']} lines")
        except (OSError, ValueError, RecursionError) as e:
            raise MbjaError(f"{self.state_path} is not a readable job state ({e}); pass --overwrite to start "
                            f"again") from None
        if not self.partial.exists():
            raise MbjaError(f"{self.state_path} has no {self.partial.name} beside it; pass --overwrite to start "
                            f"again")
        return state

    def commit(self, data: bytes, lines: int, errors: int, input_sha256: str) -> None:
        """Append one completed chunk (``lines`` input lines, ``errors`` of them error records)."""
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)
        self._bytes += len(data)
        self.done_lines += lines
        self.errors += errors
        self.input_sha256 = input_sha256
        state = {"format": STATE_FORMAT, "settings": self.settings, "done_lines": self.done_lines,
                 "errors": self.errors, "output_bytes": self._bytes, "input_sha256": input_sha256}
        tmp = self._state_tmp
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)

    def finish(self) -> None:
        """All lines are in: OUTPUT appears, complete, and the state goes."""
        self.close()
        os.replace(self.partial, self.output)
        self.state_path.unlink(missing_ok=True)
        _fsync_dir(self.output.parent)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
