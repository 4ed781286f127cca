"""Run a pipeline over a corpus: chunks of input lines -> records, in one process or in worker
processes, committed in input order through a ``Journal`` (when writing a file) so that an
interrupted job restarted with the same command continues where it stopped.

Chunks are the unit of everything: the batches a chunk's texts form, which worker runs it, what a
commit covers. Their boundaries depend only on the chunk size, so a resumed or multi-worker run
batches every text with the same neighbours as a single uninterrupted run and writes the same
bytes. Workers are spawned processes (an ONNX Runtime session does not survive fork), each opening
the bundle once with the backend the parent chose, so every worker runs the same model.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..backends import ENV
from ..threads import MAX_THREADS, check_threads
from ..errors import MbjaError
from ..quiet import engine_notes_dropped
from . import records
from .journal import Journal, files_of, recorded_setting

#: input lines per chunk (and per commit) unless the job says otherwise
DEFAULT_CHUNK = 256


@dataclass
class Job:
    """One corpus run: ``task``'s results (``records.RESULT_KEYS`` names their key) for every line."""
    bundle: str | Path
    task: str
    input: str = "-"                        # a file, or "-" for stdin
    output: str | Path | None = None        # None: records go to stdout (no resume)
    options: dict = field(default_factory=dict)
    input_format: str | None = None         # records.TEXT / records.JSONL; None: from the file name
    text_field: str = "text"
    batch_size: int | None = None
    workers: int = 1
    threads: int | None = None              # per worker; None: cores / workers
    backend: str | None = None
    chunk_size: int = DEFAULT_CHUNK
    overwrite: bool = False
    progress: bool | None = None            # None: a bar when stderr is a terminal


@dataclass
class JobSummary:
    records: int                            # written by this run
    errors: int                             # error records in the whole output
    resumed_from: int                       # lines an earlier, interrupted run had committed
    seconds: float
    backend: str

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def run_job(job: Job, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> JobSummary:
    _check(job)
    from ..api import load
    from ..bundle import read_manifest

    read_manifest(job.bundle)               # sha256 of every file, before anything is written
    fmt = records.input_format(job.input, job.input_format)
    threads = job.threads or (min(MAX_THREADS, max(1, (os.cpu_count() or 1) // job.workers)) if job.workers > 1
                              else None)
    backend = job.backend
    if job.output is not None and not job.overwrite and (backend or os.environ.get(ENV) or "auto") == "auto":
        backend = recorded_setting(job.output, "backend") or backend      # a resume keeps its engine
    with engine_notes_dropped():
        pipe = load(job.bundle, backend=backend, num_threads=threads, task=job.task, verify=False)
    pipe.check_options(job.batch_size, **job.options)   # a bad option or batch size fails here, not per line
    backend = pipe.backend.name
    settings = {"bundle_manifest_sha256": _sha256_file(Path(job.bundle) / "manifest.json"), "task": job.task,
                "backend": backend, "precision": pipe.backend.precision, "options": _jsonable(job.options),
                "batch_size": job.batch_size, "chunk_size": job.chunk_size, "input_format": fmt,
                "text_field": job.text_field if fmt == records.JSONL else None}
    journal = Journal(job.output, settings, job.overwrite) if job.output is not None else None
    if job.workers > 1:
        pipe.close()
        runner = _Workers(job, backend, threads)
    else:
        runner = _InProcess(pipe, job)
    source = _open_input(job.input, stdin)
    skip = journal.done_lines if journal else 0
    bar = _progress(job, skip)
    sink = stdout or sys.stdout.buffer
    start, written, errors = time.perf_counter(), 0, journal.errors if journal else 0
    try:
        chunks = _chunks(source, fmt, job.text_field, job.chunk_size, skip, journal.input_sha256 if journal else None)
        for items, digest, results in runner.map(chunks):
            data, n_errors = _encode(items, results, job)
            if journal:
                journal.commit(data, len(items), n_errors, digest)
            else:
                sink.write(data)
                sink.flush()
            written += len(items)
            errors += n_errors
            if bar:
                bar.update(len(items))
        if journal:
            journal.finish()
    finally:
        runner.close()
        if bar:
            bar.close()
        if journal:
            journal.close()
        if source is not stdin and source is not sys.stdin.buffer:
            source.close()
    return JobSummary(written, errors, skip, time.perf_counter() - start, backend)


def _check(job: Job) -> None:
    for name in ("workers", "chunk_size"):
        v = getattr(job, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise MbjaError(f"{name.replace('_', '-')} must be a positive int, not {v!r}")
    check_threads(job.threads)
    if job.input_format not in (None, *records.INPUT_FORMATS):
        raise MbjaError(f"input format {job.input_format!r}: choose {' or '.join(records.INPUT_FORMATS)}")
    if job.input != "-" and not (Path(job.input).is_file() or Path(job.input).is_fifo()):
        raise MbjaError(f"--input {job.input}: no such file")       # (a pipe, as <(...) gives, reads as stdin)
    if job.output is not None and (not Path(job.output).name or Path(job.output).is_dir()):
        raise MbjaError(f"--output {str(job.output)!r} is a directory, not a file to write")
    if job.output is not None and job.input != "-":
        # the job truncates OUTPUT.partial and replaces its state file: never the input's bytes
        src, own = Path(job.input).resolve(), files_of(job.output)
        if any(p.resolve() == src for p in own):
            raise MbjaError(f"--input {job.input} is the job's own output file ({', '.join(p.name for p in own)}); "
                            "write the output elsewhere")


def _chunks(source: BinaryIO, fmt: str, text_field: str, size: int, skip: int, skip_sha256: str | None):
    """(items, sha256 of every input line up to the chunk's end) per chunk; the first ``skip``
    lines (committed by an interrupted run) are only hashed and compared with its record."""
    h = hashlib.sha256()
    line, items = 0, []
    for raw in source:
        line += 1
        h.update(raw)
        if line <= skip:
            if line == skip and h.hexdigest() != skip_sha256:
                raise MbjaError(f"the input's first {skip} lines are not those of the interrupted run; "
                                f"pass --overwrite to start again")
            continue
        items.append(records.parse_line(raw, line, fmt, text_field))
        if len(items) == size:
            yield items, h.hexdigest()
            items = []
    if line < skip:
        raise MbjaError(f"the input has {line} lines, the interrupted run had done {skip}; "
                        f"pass --overwrite to start again")
    if items:
        yield items, h.hexdigest()


def _encode(items: list, results: list, job: Job) -> tuple[bytes, int]:
    out, errors = [], 0
    results = iter(results)
    key = records.RESULT_KEYS[job.task]
    for item in items:
        ok, value = next(results) if item.text is not None else (False, item.error)
        out.append(records.dumps(records.record(item, key, records.to_json(job.task, value)) if ok
                                 else records.record(item, key, error=value)))
        errors += not ok
    return b"".join(out), errors


def process_texts(pipe, texts: list[str], batch_size: int | None, options: dict) -> list[tuple[bool, object]]:
    """(True, result) or (False, error message) per text: what a worker sends back."""
    return [(False, str(r)) if isinstance(r, MbjaError) else (True, r)
            for r in pipe.process(texts, batch_size, **options)]


class _InProcess:
    def __init__(self, pipe, job: Job):
        self.pipe, self.job = pipe, job

    def map(self, chunks):
        for items, digest in chunks:
            texts = [i.text for i in items if i.text is not None]
            yield items, digest, process_texts(self.pipe, texts, self.job.batch_size, self.job.options)

    def close(self) -> None:
        self.pipe.close()


_worker_pipe = None


def _worker_init(bundle: str, backend: str, threads: int | None, task: str, parent: int) -> None:
    import signal
    import threading

    from ..api import load

    global _worker_pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the parent decides what Ctrl-C does

    def orphaned():                                   # the parent was killed: do not linger
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()
    with engine_notes_dropped():
        _worker_pipe = load(bundle, backend=backend, num_threads=threads, task=task, verify=False)


def _worker_run(texts, batch_size, options):
    return process_texts(_worker_pipe, texts, batch_size, options)


class _Workers:
    """Chunks go to a pool of spawned processes, at most two per worker in flight (memory stays
    bounded on any corpus size); results come back in input order."""

    def __init__(self, job: Job, backend: str, threads: int | None):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.job = job
        self.pool = ProcessPoolExecutor(job.workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_worker_init,
                                        initargs=(str(job.bundle), backend, threads, job.task, os.getpid()))

    def map(self, chunks):
        from concurrent.futures.process import BrokenProcessPool

        pending: deque = deque()
        try:
            for items, digest in chunks:
                texts = [i.text for i in items if i.text is not None]
                pending.append((items, digest, self.pool.submit(_worker_run, texts, self.job.batch_size,
                                                                self.job.options)))
                while len(pending) >= 2 * self.job.workers:
                    items, digest, fut = pending.popleft()
                    yield items, digest, fut.result()
            while pending:
                items, digest, fut = pending.popleft()
                yield items, digest, fut.result()
        except BrokenProcessPool:
            raise MbjaError("a worker process died (out of memory?); what was committed is kept, rerun the "
                            "same command to continue") from None

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _open_input(path: str, stdin: BinaryIO | None) -> BinaryIO:
    if path == "-":
        return stdin or sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as e:
        raise MbjaError(f"--input {path}: {e.strerror}") from None


def _count_lines(path: str) -> int | None:
    """Lines in the file (for the bar's ETA); ~1 s per GB."""
    n, last = 0, b"\n"
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                n += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return None
    return n + (last != b"\n")


def _progress(job: Job, done: int):
    """A bar on stderr, or None; the input's lines are counted (for the ETA) only when one shows."""
    show = job.progress if job.progress is not None else sys.stderr.isatty()
    if not show:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    total = _count_lines(job.input) if job.input != "-" and Path(job.input).is_file() else None
    return tqdm(total=total, initial=done, unit=" texts", file=sys.stderr, dynamic_ncols=True, smoothing=0.1,
                desc=Path(job.output).name if job.output else job.task)


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jsonable(options: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in sorted(options.items())}
