"""Re-executes this Python process under gdb with AVX-512 hidden (see run.py); no-op otherwise.

Three cases, told apart by the environment: a masked run's Python process outside gdb (re-exec
under gdb), gdb's own embedded Python (MBJA_XCR0_IN_GDB: nothing to do), and the program gdb
started (MBJA_XCR0_STDIO without MBJA_XCR0_IN_GDB: take back the real stdio).
"""
import json
import os
import sys


def _traced() -> bool:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return any(line.startswith("TracerPid:") and line.split()[1] != "0" for line in f)
    except OSError:
        return True          # cannot tell: do not risk a re-exec loop


if os.environ.get("MBJA_XCR0_MASK") and not os.environ.get("MBJA_XCR0_IN_GDB"):
    if os.environ.pop("MBJA_XCR0_STDIO", None):
        for fd in (0, 1, 2):
            os.dup2(10 + fd, fd)
            os.close(10 + fd)
    elif not _traced():
        # gdb's own messages must not reach the program's stdout (a bench worker speaks JSON
        # there): the real stdio waits on fds 10-12 for the program, gdb writes to a log.
        for fd in (0, 1, 2):
            os.dup2(fd, 10 + fd, inheritable=True)
        log = os.open(os.environ.get("MBJA_XCR0_LOG", os.devnull), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.environ["MBJA_XCR0_IN_GDB"] = os.environ["MBJA_XCR0_STDIO"] = "1"
        os.environ["MBJA_XCR0_ARGV"] = json.dumps([sys.executable, *sys.orig_argv[1:]])
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "isa_mask.py")
        os.execvp("gdb", ["gdb", "-q", "-nx", "-batch", "-x", script, "--args", sys.executable, "-m", "xcr0_exec"])
