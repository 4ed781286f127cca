"""Ray Data: the bundle on every actor of a cluster, for ``Dataset.map_batches``.

    import ray
    from mbja_runtime.corpus.ray_data import BundlePredictor

    ds = ray.data.read_text("corpus.txt")                       # or read_json: a "text" column
    out = ds.map_batches(BundlePredictor, fn_constructor_kwargs={"bundle": "dist/demo"},
                         batch_size=256, concurrency=4, num_cpus=1)
    out.write_json("entities/")

Each actor opens the bundle once (sha256-checked) and runs ``Pipeline.process`` on its batches,
so a row gets exactly the result ``mbja-run --input`` writes for the same line (``records``):
the task's key (``entities``, ``labels``, ``masks``) as the JSON text of the result, or for
``embed`` a float32 vector column, and an ``error`` column ("" when the row is fine; a bad text
does not fail the batch). JSON text because Arrow needs one schema for every block: a block whose
rows found no entity would otherwise get another column type than one that found some.
Ray Data retries failed tasks and writes one file per block; resuming is its business, not the
journal's (``journal`` serves single-machine jobs).
"""
from __future__ import annotations

import json

import numpy as np

from . import records


class BundlePredictor:
    """``BundlePredictor(bundle, text_column="text", batch_size=32, backend=None, num_threads=1,
    **options)``: ``options`` are the task's (``aggregation``, ``top_k``, ``pooling``, ...);
    ``batch_size`` is the model's (texts per call), Ray's own ``batch_size`` the rows per call."""

    def __init__(self, bundle, text_column: str = "text", batch_size: int | None = 32, backend: str | None = None,
                 num_threads: int | None = 1, task: str | None = None, **options):
        from ..api import load

        self.pipe = load(bundle, backend=backend, num_threads=num_threads, task=task)
        self.task = self.pipe.task
        self.key = records.RESULT_KEYS[self.task]
        self.text_column, self.batch_size, self.options = text_column, batch_size, options
        self.pipe.check_options(batch_size, **options)    # a bad option fails the actor at once

    def __call__(self, batch: dict) -> dict:
        texts = [t if isinstance(t, str) else t.decode("utf-8", "surrogateescape") if isinstance(t, bytes) else t
                 for t in batch[self.text_column]]
        results = self.pipe.process(texts, self.batch_size, **self.options)
        errors = [str(r) if isinstance(r, Exception) else "" for r in results]
        if self.task == "feature-extraction":
            dim = next((len(r) for r in results if not isinstance(r, Exception)), 0)
            column = np.full((len(results), dim), np.nan, dtype=np.float32)
            for i, r in enumerate(results):
                if not isinstance(r, Exception):
                    column[i] = r
        else:
            column = np.array([None if isinstance(r, Exception) else
                               json.dumps(records.to_json(self.task, r), ensure_ascii=False) for r in results],
                              dtype=object)
        return {**batch, self.key: column, "error": np.array(errors, dtype=object)}
