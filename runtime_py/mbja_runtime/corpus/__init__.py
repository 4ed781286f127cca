"""Corpus-scale inference with a bundle: JSONL or text in, JSONL out, resumable.

``records`` decides what an input line and an output record are (shared by ``mbja-run --input``
and the Ray integration, so both write the same records); ``journal`` makes the output survive
a kill; ``job`` runs the chunks in one process or in worker processes; ``ray_data`` is the
``Dataset.map_batches`` class for clusters (needs the ``[ray]`` extra).
"""
from .job import Job, JobSummary, run_job
from .records import INPUT_FORMATS

__all__ = ["INPUT_FORMATS", "Job", "JobSummary", "run_job"]
