"""The AVX2-only emulation (benchmarks/avx2_only) and the CPU description that reports it.

The emulation is what issue 14's AVX2 numbers are measured with on an AVX-512 machine, so it must
provably switch the engines' kernels, and every report made under it must say what was hidden.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_avx2_emulation
from mbja_runtime import cpu

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "avx2_only" / "run.py"


def test_hidden_flags_leave_the_features_and_are_named(monkeypatch):
    monkeypatch.setattr(cpu, "_cpuinfo", lambda: ("Some EPYC", {"avx2", "fma", "avx512f", "avx512_vnni", "sse2"}))
    monkeypatch.setenv("MBJA_CPU_HIDDEN", "avx512f,avx512_vnni,amx_int8")
    assert cpu.hidden() == ["avx512f", "avx512_vnni"]          # amx_int8: not on this CPU, not claimed
    assert cpu.features() == ["avx2", "fma"]
    assert cpu.describe() == "Some EPYC [avx2 fma; hidden: avx512f avx512_vnni]"
    monkeypatch.delenv("MBJA_CPU_HIDDEN")
    assert cpu.features() == ["avx2", "fma", "avx512f", "avx512_vnni"]
    assert cpu.describe() == "Some EPYC [avx2 fma avx512f avx512_vnni]"


# u8 x s8 products summed in pairs: AVX2's vpmaddubsw saturates each pair at int16, VNNI's vpdpbusd
# accumulates them exactly in int32. A 255 x 127 GEMM tells the two kernels apart by its result.
SATURATION = r"""
import json, sys, numpy as np, onnxruntime as ort
from onnx import helper, TensorProto
from mbja_runtime import cpu
K = 64
g = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "g",
    [helper.make_tensor_value_info("a", TensorProto.UINT8, [2, K])],
    [helper.make_tensor_value_info("y", TensorProto.INT32, [2, 8])],
    [helper.make_tensor("b", TensorProto.INT8, [K, 8], np.full((K, 8), 127, np.int8).tobytes(), raw=True)])
s = ort.InferenceSession(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString(),
                         providers=["CPUExecutionProvider"])
y = s.run(None, {"a": np.full((2, K), 255, np.uint8)})[0]
print(json.dumps({"y": int(y[0, 0]), "cpu": cpu.describe(), "usable": cpu.features(), "hidden": cpu.hidden(),
                  "argv": sys.argv[1:]}))
sys.exit(7)
"""


@needs_avx2_emulation
def test_mask_makes_onnx_runtime_run_its_avx2_int8_kernel():
    K = 64
    exact = 255 * 127 * K
    saturated = (K // 2) * min(2 * 255 * 127, 2 ** 15 - 1)
    arg = 'two\nlines "quoted"'
    plain = subprocess.run([sys.executable, "-c", SATURATION, arg], capture_output=True, text=True, timeout=120)
    masked = subprocess.run([sys.executable, str(RUN), "--", sys.executable, "-c", SATURATION, arg],
                            capture_output=True, text=True, timeout=300)
    assert plain.returncode == masked.returncode == 7, masked.stderr
    p, m = json.loads(plain.stdout), json.loads(masked.stdout)      # stdout: the program's alone, not gdb's
    assert p["y"] == exact and "hidden" not in p["cpu"]
    assert m["y"] == saturated and m["y"] != exact
    assert m["cpu"].endswith("hidden: " + " ".join(f for f in cpu.X86 if f in cpu.flags()
                                                    and f not in ("avx2", "fma")) + "]")
    assert m["argv"] == p["argv"] == [arg]


@needs_avx2_emulation
@pytest.mark.skipif("avx_vnni" not in cpu.flags(), reason="needs a CPU with AVX-VNNI to keep")
def test_keep_avx_vnni_hides_avx512_but_leaves_the_vex_dot_product():
    """The AVX2 + AVX-VNNI class (Intel client cores): VNNI's exact sum, with AVX-512 named hidden."""
    K = 64
    masked = subprocess.run([sys.executable, str(RUN), "--keep-avx-vnni", "--", sys.executable, "-c", SATURATION],
                            capture_output=True, text=True, timeout=300)
    assert masked.returncode == 7, masked.stderr
    m = json.loads(masked.stdout)
    assert m["y"] == 255 * 127 * K
    assert "avx_vnni" in m["usable"] and "avx512f" not in m["usable"]
    assert "avx_vnni" not in m["hidden"] and "avx512_vnni" in m["hidden"]
