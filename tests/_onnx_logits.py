"""Child process of the AVX2 comparison (test_demo_bundle): an ONNX model's logits for given ids.

Usage: python _onnx_logits.py MODEL IDS.json OUT.npy -- runs each id list alone, one thread, and
saves the logits concatenated over all tokens.
"""
import json
import sys

import numpy as np
import onnxruntime as ort

model, ids_file, out = sys.argv[1:4]
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
logits = []
for ids in json.load(open(ids_file, encoding="utf-8")):
    x = np.asarray(ids, dtype=np.int64)[None]
    logits.append(session.run(None, {"input_ids": x, "attention_mask": np.ones_like(x),
                                     "token_type_ids": np.zeros_like(x)})[0][0])
np.save(out, np.concatenate(logits))
