"""mbja_runtime: run an mbja bundle with ONNX Runtime or LiteRT, without torch or transformers.

    >>> import mbja_runtime
    >>> m = mbja_runtime.load("dist/demo")
    >>> m.tokenizer.encode("東京都に本社を置く").input_ids
"""
from .api import load
from .opened import Bundle
from .errors import BundleError, MbjaError

__version__ = "0.1.0"
__all__ = ["Bundle", "BundleError", "MbjaError", "load"]
