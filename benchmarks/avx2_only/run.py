"""Run a command as if this x86 CPU had no AVX-512 and no AVX-VNNI: every engine's AVX2 + FMA code paths.

Why: issue 14's CPU class (AVX2 + FMA, no AVX-512, no VNNI: many x86 servers, desktops and edge
boxes) is not always the machine a session gets. ONNX Runtime (MLAS), XNNPACK (LiteRT) and
PyTorch pick their kernels at start-up from XGETBV (which register state the OS saves) and
CPUID. Clearing XCR0's AVX-512 and AMX bits makes them believe that state cannot be used;
clearing CPUID leaf 7.1's AVX-VNNI bits (VEX-encoded int8 dot products, which need only YMM
state) hides the rest. They then run exactly the kernels they run on an AVX2-only CPU (int8
GEMM without VNNI: vpmaddubsw/vpmaddwd), on this silicon.

How: every Python process of COMMAND (the bench's workers too) re-executes itself under gdb
(sitecustomize.py beside this file), which puts a breakpoint on each XGETBV and CPUID
instruction of the engines' shared libraries and returns the masked answers (isa_mask.py).
Nothing else is touched: after start-up the process runs at full speed, untraced code paths
included.

What it is not: a different CPU. Caches, clocks and the AVX2 units are this machine's (a Zen 4
or Zen 5 runs AVX2 code with its own clocks, caches and port widths, not like every AVX2 CPU).
Use it to choose between kernels, precisions and graphs for that CPU class; confirm headline
numbers on a real one.
Reports say so: mbja_runtime.cpu lists the hidden flags as "hidden" (MBJA_CPU_HIDDEN).

Usage:
    python benchmarks/avx2_only/run.py -- mbja-build bench --threads 1 --shapes mobilebert-full ...
    python benchmarks/avx2_only/run.py --check     # prove the engines now pick AVX2 kernels
    python benchmarks/avx2_only/run.py --keep-avx-vnni -- ...   # AVX2 + AVX-VNNI, no AVX-512

Needs gdb (apt install gdb) and objdump (binutils); x86-64 Linux only.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: XCR0 bits 5-7: AVX-512 opmask, ZMM0-15 upper halves, ZMM16-31 state; bits 17-18: AMX tile config and data.
XCR0_HIDDEN = 0xE0 | 0x60000
#: The flags CPUID leaf 7 subleaf 1 reports, as (register: 0 eax .. 3 edx, bit). The VEX-encoded
#: ones run on YMM state alone, so XCR0 cannot hide them.
CPUID7_1_BITS = {"avx_vnni": (0, 4), "avx512_bf16": (0, 5), "avx_ifma": (0, 23),
                 "avx_vnni_int8": (3, 4), "avx_ne_convert": (3, 5), "avx_vnni_int16": (3, 10)}
#: The /proc/cpuinfo flags that are unusable once that state and those bits are hidden.
HIDDEN = ("avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512cd", "avx512dq", "avx512vl",
          "avx512ifma", "avx512vbmi", "avx512_vbmi2", "avx512_bitalg", "avx512_vpopcntdq", "avx512_fp16",
          "avx512_vp2intersect", "amx_tile", "amx_int8", "amx_bf16", "amx_fp16",
          "avx_vnni", "avx_ifma", "avx_vnni_int8", "avx_ne_convert", "avx_vnni_int16")


def environment(base: dict[str, str], keep_avx_vnni: bool = False) -> dict[str, str]:
    """``keep_avx_vnni``: the AVX2 + AVX-VNNI class instead (Intel's Alder Lake to Arrow Lake client
    cores and their edge boxes: 256-bit VNNI, no AVX-512), on a CPU that has AVX-VNNI."""
    env = dict(base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), base.get("PYTHONPATH", "")) if p)
    hidden = [f for f in HIDDEN if not (keep_avx_vnni and f == "avx_vnni")]
    cpuid_mask = [0, 0, 0, 0]
    for register, bit in (CPUID7_1_BITS[f] for f in hidden if f in CPUID7_1_BITS):
        cpuid_mask[register] |= 1 << bit
    env["MBJA_XCR0_MASK"] = hex(XCR0_HIDDEN)
    env["MBJA_CPUID7_1_MASK"] = ",".join(map(hex, cpuid_mask))
    env["MBJA_CPU_HIDDEN"] = ",".join(hidden)
    # where the XGETBV and CPUID sites found per library are kept (objdump takes seconds a library)
    env["MBJA_XCR0_CACHE"] = str(HERE.parents[1] / "build" / "avx2_only-isa-sites.json")
    # PyTorch's own dispatch (ATen, oneDNN, MKL) also has documented caps; set them too so the
    # PyTorch baseline is the AVX2 one even where its libraries bypass XGETBV.
    env["ATEN_CPU_CAPABILITY"] = "avx2"
    env["ONEDNN_MAX_CPU_ISA"] = "AVX2_VNNI" if keep_avx_vnni else "AVX2"
    env["MKL_ENABLE_INSTRUCTIONS"] = "AVX2"
    return env


CHECK = r"""
import time, numpy as np, onnxruntime as ort
from onnx import helper, TensorProto
from mbja_runtime import cpu
M, K, N = 128, 512, 2048
w = np.random.default_rng(0).integers(-128, 127, (K, N)).astype(np.int8)
g = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "g",
    [helper.make_tensor_value_info("a", TensorProto.UINT8, [M, K])],
    [helper.make_tensor_value_info("y", TensorProto.INT32, [M, N])],
    [helper.make_tensor("b", TensorProto.INT8, [K, N], w.tobytes(), raw=True)])
so = ort.SessionOptions(); so.intra_op_num_threads = 1
s = ort.InferenceSession(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString(), so,
                         providers=["CPUExecutionProvider"])
x = np.random.default_rng(1).integers(0, 255, (M, K)).astype(np.uint8)
for _ in range(5): s.run(None, {"a": x})
best = 1e9
for _ in range(5):
    t = time.perf_counter(); [s.run(None, {"a": x}) for _ in range(20)]; best = min(best, (time.perf_counter() - t) / 20)
print(f"{cpu.describe()}: ONNX Runtime U8S8 GEMM {M}x{K}x{N} {M * K * N / best / 1e9:.0f} GMAC/s")
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--check", action="store_true", help="time one int8 GEMM with and without the mask")
    ap.add_argument("--keep-avx-vnni", action="store_true",
                    help="hide AVX-512 and AMX only: the AVX2 + AVX-VNNI class (Intel client cores), "
                         "on a CPU that has AVX-VNNI")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    missing = [tool for tool in ("gdb", "objdump") if shutil.which(tool) is None]
    if missing:
        print(f"avx2_only: needs {' and '.join(missing)} (apt install gdb binutils)", file=sys.stderr)
        return 2
    if os.uname().machine != "x86_64":
        print("avx2_only: x86-64 only (XCR0 is an x86 register)", file=sys.stderr)
        return 2
    if args.keep_avx_vnni:
        from mbja_runtime import cpu

        if "avx_vnni" not in cpu.flags():
            print("avx2_only: --keep-avx-vnni: this CPU has no AVX-VNNI to keep", file=sys.stderr)
            return 2
    if args.check:
        import subprocess
        for env in (dict(os.environ), environment(os.environ, args.keep_avx_vnni)):
            subprocess.run([sys.executable, "-c", CHECK], env=env, check=True)
        return 0
    if not command:
        ap.error("give a command after --, or --check")
    os.execvpe(command[0], command, environment(os.environ, args.keep_avx_vnni))


if __name__ == "__main__":
    sys.exit(main())
