"""How many inference threads a caller may ask for, in a module light enough for ``--help``."""
from __future__ import annotations

from .errors import MbjaError

#: Most intra-op threads a caller may ask for: each is an OS thread with its own buffers, and a
#: typo such as 100000 once grew one process past 10,000 threads and 16 GB before anything ran.
#: The Kotlin and TypeScript runtimes have the same ceiling (their "default" is 0, Python's None).
MAX_THREADS = 256


def check_threads(num_threads) -> None:
    """Refuse a thread count no engine should be given (None: the engine's default)."""
    if num_threads is None:
        return
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or not 1 <= num_threads <= MAX_THREADS:
        raise MbjaError(f"threads must be an int from 1 to {MAX_THREADS}, not {num_threads!r}")
