"""gdb script: run the program (gdb --args) with XGETBV returning XCR0 without MBJA_XCR0_MASK's bits.

Breakpoints go on every XGETBV of the engines' shared libraries as they load (sites found with
objdump, cached per file); each hit sets EDX:EAX and steps over the instruction without stopping.
XGETBV runs a handful of times at start-up, so the program runs untraced at full speed after it.
"""
import ctypes
import json
import mmap
import os
import re
import subprocess

import gdb

MASK = int(os.environ["MBJA_XCR0_MASK"], 0)
LIBS = re.compile(r"onnxruntime|ai_edge_litert|tflite|tensorflow|mkl|dnnl|xnnpack")
CACHE = os.environ["MBJA_XCR0_CACHE"]        # run.py: in the checkout's build/


def real_xcr0() -> int:
    # mov ecx, edi; xgetbv; shl rdx, 32; or rax, rdx; ret
    buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(bytes.fromhex("89f9 0f01d0 48c1e220 4809d0 c3"))
    fn = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint32)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))
    return fn(0)


XCR0 = real_xcr0() & ~MASK
try:
    with open(CACHE, encoding="utf-8") as f:
        cache = json.load(f)
except (OSError, ValueError):
    cache = {}


def sites(path: str) -> list[int]:
    st = os.stat(path)
    key = f"{path}:{st.st_size}:{st.st_mtime_ns}"
    if key not in cache:
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True, text=True).stdout
        cache[key] = [int(m.group(1), 16) for m in re.finditer(r"^\s*([0-9a-f]+):\s+xgetbv\b", out, re.M)]
        os.makedirs(os.path.dirname(CACHE), exist_ok=True)
        tmp = f"{CACHE}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(cache, f)
        os.replace(tmp, CACHE)
    return cache[key]


def load_base(path: str) -> int | None:
    with open(f"/proc/{gdb.selected_inferior().pid}/maps", encoding="ascii") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5] == path and int(parts[2], 16) == 0:
                return int(parts[0].split("-")[0], 16)
    return None


class Xgetbv(gdb.Breakpoint):
    def stop(self) -> bool:
        gdb.execute(f"set $rax = {XCR0 & 0xFFFFFFFF}")
        gdb.execute(f"set $rdx = {XCR0 >> 32}")
        gdb.execute("set $pc = $pc + 3")           # XGETBV is 0f 01 d0
        return False


seen: set[str] = set()


def on_new_objfile(event) -> None:
    path = os.path.realpath(event.new_objfile.filename or "")
    if path in seen or ".so" not in os.path.basename(path) or not LIBS.search(path):
        return
    seen.add(path)
    base = load_base(path)
    if base is None:
        return
    for offset in sites(path):
        Xgetbv(f"*{base + offset:#x}", internal=True)


gdb.events.new_objfile.connect(on_new_objfile)
for setting in ("pagination off", "confirm off", "print thread-events off", "print inferior-events off",
                "startup-with-shell off"):
    gdb.execute(f"set {setting}")
gdb.execute("handle SIGINT SIGTERM SIGPIPE SIGUSR1 SIGUSR2 SIGCHLD nostop noprint pass")
gdb.execute("unset environment MBJA_XCR0_IN_GDB")    # the program and its children: see sitecustomize
gdb.execute("run")


def status() -> int:
    """The program's exit status as a shell reports it (128 + signal when a signal ended it)."""
    for name, offset in (("$_exitcode", 0), ("$_exitsignal", 128)):
        value = gdb.parse_and_eval(name)
        if value.type.code != gdb.TYPE_CODE_VOID:
            return int(value) + offset
    return 1                                    # stopped for another reason (a fault): gdb kills it


if gdb.selected_inferior().pid:
    gdb.execute("kill")
gdb.execute(f"quit {status()}")
