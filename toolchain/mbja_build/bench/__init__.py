"""`mbja-build bench`: the seed's speed table, reproduced end to end on real sentences.

One sentence at a time over the NER test split (n=2,140): tokenize + infer + decode, per variant
(PyTorch fp32 of a checkpoint; bundle backends ONNX/TFLite at each precision), each in its own
process; total, p50/p90, size on disk, peak RSS, and entity exact-match F1 where the weights are
trained. Modules: ``shapes`` (which checkpoints), ``variants`` (how each runs), ``worker`` (the
timed loop in a child process), ``run`` (orchestration, one run), ``report`` (Markdown/JSON/PNG).
"""
from .run import BenchOptions, run_bench

__all__ = ["BenchOptions", "run_bench"]
