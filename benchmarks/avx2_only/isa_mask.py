"""gdb script: run the program (gdb --args) with the engines blind to the ISA extensions run.py hides.

Two instructions tell a library what it may use. XGETBV returns XCR0, the register state the OS
saves: without MBJA_XCR0_MASK's bits (AVX-512, AMX) every AVX-512 and AMX kernel is off. CPUID
leaf 7 subleaf 1 lists the VEX-encoded extensions that need only the YMM state XCR0 keeps
(AVX-VNNI, AVX-IFMA, AVX-VNNI-INT8/INT16): its MBJA_CPUID7_1_MASK bits are cleared too, or an
AVX-VNNI CPU (Zen 5, Alder Lake and later) would still run its dot-product kernels.

Breakpoints go on every XGETBV and CPUID of the engines' shared libraries as they load (sites
found with objdump, cached per file); a hit sets the result registers and steps over the
instruction without stopping (a CPUID of any other leaf runs for real). Both run a few dozen
times at start-up, so the program runs untraced at full speed after it.
"""
import ctypes
import json
import mmap
import os
import re
import subprocess

import gdb

MASK = int(os.environ["MBJA_XCR0_MASK"], 0)
CPUID7_1_MASK = [int(word, 0) for word in os.environ["MBJA_CPUID7_1_MASK"].split(",")]    # eax,ebx,ecx,edx
LIBS = re.compile(r"onnxruntime|ai_edge_litert|tflite|tensorflow|mkl|dnnl|xnnpack")
CACHE = os.environ["MBJA_XCR0_CACHE"]        # run.py: in the checkout's build/


def machine_code(code: str, restype, *argtypes):
    """A C function of these x86-64 bytes (hex): gdb's own Python asks the CPU what it really has."""
    buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(bytes.fromhex(code))
    fn = ctypes.CFUNCTYPE(restype, *argtypes)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))
    fn.code = buf           # the mapping lives as long as the function: unmapped code would crash gdb
    return fn


def real_xcr0() -> int:
    # mov ecx, edi; xgetbv; shl rdx, 32; or rax, rdx; ret
    return machine_code("89f9 0f01d0 48c1e220 4809d0 c3", ctypes.c_uint64, ctypes.c_uint32)(0)


def real_cpuid(leaf: int, subleaf: int) -> list[int]:
    # push rbx; mov r8, rdx; mov eax, edi; mov ecx, esi; cpuid; mov [r8+0/4/8/12], eax/ebx/ecx/edx; pop rbx; ret
    out = (ctypes.c_uint32 * 4)()
    machine_code("53 4989d0 89f8 89f1 0fa2 418900 41895804 41894808 4189500c 5b c3",
                 None, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p)(leaf, subleaf, ctypes.addressof(out))
    return list(out)


XCR0 = real_xcr0() & ~MASK
#: leaf 7 subleaf 1 describes the core's features, the same on every core: this process's answer is the program's
CPUID7_1 = [word & ~mask for word, mask in zip(real_cpuid(7, 1), CPUID7_1_MASK)]
try:
    with open(CACHE, encoding="utf-8") as f:
        cache = json.load(f)
except (OSError, ValueError):
    cache = {}


def sites(path: str) -> dict[str, list[int]]:
    """Offsets of each XGETBV and CPUID instruction in the library at path."""
    st = os.stat(path)
    key = f"{path}:{st.st_size}:{st.st_mtime_ns}"
    if key not in cache:
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True, text=True).stdout
        cache[key] = {op: [int(m.group(1), 16) for m in re.finditer(rf"^\s*([0-9a-f]+):\s+{op}\b", out, re.M)]
                      for op in ("xgetbv", "cpuid")}
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


class Cpuid(gdb.Breakpoint):
    def stop(self) -> bool:
        leaf, subleaf = (int(gdb.parse_and_eval(r)) & 0xFFFFFFFF for r in ("$rax", "$rcx"))
        if (leaf, subleaf) == (7, 1):
            for reg, word in zip(("rax", "rbx", "rcx", "rdx"), CPUID7_1):
                gdb.execute(f"set ${reg} = {word}")
            gdb.execute("set $pc = $pc + 2")       # CPUID is 0f a2
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
    found = sites(path)
    for offset in found["xgetbv"]:
        Xgetbv(f"*{base + offset:#x}", internal=True)
    for offset in found["cpuid"]:
        Cpuid(f"*{base + offset:#x}", internal=True)


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
