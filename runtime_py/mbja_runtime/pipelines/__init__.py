"""Task pipelines, one per bundle task: ``mbja_runtime.load(dir)`` returns the matching one.

Registry, not an if-chain: a new task is a module with a ``Pipeline`` subclass and one entry here.
"""
from __future__ import annotations

from .base import Pipeline
from .feature_extraction import FeatureExtractionPipeline, pool
from .fill_mask import FillMaskPipeline, decode_masks
from .text_classification import TextClassificationPipeline, decode_labels
from .token_classification import AGGREGATIONS, TokenClassificationPipeline, decode_entities

PIPELINES: dict[str, type[Pipeline]] = {
    p.task: p for p in (TokenClassificationPipeline, TextClassificationPipeline, FillMaskPipeline,
                        FeatureExtractionPipeline)
}

__all__ = ["AGGREGATIONS", "PIPELINES", "Pipeline", "FeatureExtractionPipeline", "FillMaskPipeline",
           "TextClassificationPipeline", "TokenClassificationPipeline", "decode_entities", "decode_labels",
           "decode_masks", "pool"]
