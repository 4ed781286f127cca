"""PyTorch -> ONNX and PyTorch -> TFLite exporters, sharing one export wrapper."""
