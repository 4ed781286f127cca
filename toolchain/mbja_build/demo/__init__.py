"""The embedded demo checkpoint: recipe (vocab + training) and data split.

The Hugging Face Hub is unreachable where this project is built and tested, so the default model
of `mbja-build` is a small MobileBERT NER model trained here on Stockmark's Japanese Wikipedia NER
set. It is a demonstration of the pipeline, not a useful NER model.
"""
from pathlib import Path

#: Where the committed demo checkpoint lives (package data).
CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "demo_checkpoint"
