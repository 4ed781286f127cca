"""Silence the converters' chatter (deprecation warnings, per-step logs, inner progress bars).

A build prints our own progress and one result line; warnings from torch.export, onnxscript,
litert-torch and ai-edge-quantizer are about their internals, not about the user's model.
"""
from __future__ import annotations

import logging
import os
import warnings


def quiet_libraries() -> None:
    """Filters for what goes through Python (warnings, logging, transformers' bars); a no-op with
    --verbose / MBJA_DEBUG. The C++ half is contained by progress.library_output_to_log."""
    from .progress import verbose

    if verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for name in ("torch", "torch._dynamo", "torch.export", "torch.onnx", "torch.utils._pytree", "onnxscript",
                 "absl", "onnxruntime", "root", "litert_torch", "ai_edge_quantizer", "jax"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)
    try:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
