"""mbja_runtime: run an mbja bundle with ONNX Runtime or LiteRT, without torch or transformers."""

__version__ = "0.1.0"
