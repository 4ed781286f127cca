"""Which CPU a speed figure was measured on, by the instruction sets that decide int8 speed.

The same bundle runs 5x apart on two x86 servers: XNNPACK's dynamic int8 GEMM reached 206 GMAC/s
with AVX-512 VNNI and 42 GMAC/s with AVX2 + FMA alone. A table without the CPU's features cannot
be compared with another, so every bench and compute-limit report carries them, and the runtime
names them when it says which backend it chose (backends.choose_backend).
"""
from __future__ import annotations

import os
import platform

#: /proc/cpuinfo flags that change which int8/fp32 kernels ONNX Runtime (MLAS) and XNNPACK run.
X86 = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8")
ARM = ("asimd", "asimddp", "i8mm", "sve", "sve2", "bf16")     # asimddp = dotprod


def _cpuinfo() -> tuple[str, set[str]]:
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model", "Hardware") and not model:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), flags


def flags() -> set[str]:
    """Every flag /proc/cpuinfo lists, hidden ones included (what the silicon has)."""
    return _cpuinfo()[1]


def _usable_and_hidden(flags: set[str]) -> tuple[list[str], list[str]]:
    masked = set(filter(None, os.environ.get("MBJA_CPU_HIDDEN", "").split(",")))
    relevant = [f for f in X86 + ARM if f in flags]
    return [f for f in relevant if f not in masked], [f for f in relevant if f in masked]


def hidden() -> list[str]:
    """Flags the CPU has but the engines were made not to use (benchmarks/avx2_only hides AVX-512).

    /proc/cpuinfo still lists them; a report that named them would claim kernels that did not run.
    """
    return _usable_and_hidden(flags())[1]


def features() -> list[str]:
    """The relevant instruction-set flags this CPU has and its engines use, in a fixed order."""
    return _usable_and_hidden(flags())[0]


def describe() -> str:
    """'<model name> [flag flag ...]', e.g. 'AMD EPYC 7B13 [avx2 fma]'.

    With flags hidden: 'AMD EPYC [avx2 fma; hidden: avx512f avx512_vnni]'.
    """
    model, all_flags = _cpuinfo()
    have, gone = _usable_and_hidden(all_flags)
    text = " ".join(have) if have else "no AVX2/VNNI/dotprod flags"
    return f"{model} [{text}; hidden: {' '.join(gone)}]" if gone else f"{model} [{text}]"
