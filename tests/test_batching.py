"""Batched inference (``m(texts, batch_size=N)``) returns what one-text-at-a-time calls return,
for every task, in input order, with texts of mixed lengths (NER: one longer than the model, so
it takes the windows)."""
from __future__ import annotations

import pytest

import mbja_runtime
from mbja_runtime.errors import MbjaError


def _mixed(test_sentences):
    texts = test_sentences[:60]
    return texts[::-1][:30] + ["".join(texts[:12])] + texts[30:]      # unsorted lengths, one long text


def test_batched_ner_equals_one_at_a_time(demo_fp32_bundle, test_sentences):
    m = mbja_runtime.load(demo_fp32_bundle, backend="onnx")
    texts = _mixed(test_sentences)
    assert len(m.tokenizer.encode(texts[30], truncation=False)) > m.max_length
    for aggregation in ("simple", "none"):
        one = m(texts, aggregation=aggregation)
        assert sum(map(len, one)) > len(texts)          # entities found: the comparison checks something
        for batch_size in (2, 7, 32):
            assert m(texts, batch_size=batch_size, aggregation=aggregation) == one


@pytest.mark.parametrize("task", ["sequence-classification", "fill-mask", "feature-extraction"])
def test_batched_other_tasks_equal_one_at_a_time(tiny_task_bundle, test_sentences, task):
    import numpy as np

    m = mbja_runtime.load(tiny_task_bundle(task), backend="onnx")
    texts = test_sentences[:25]
    if task == "fill-mask":
        texts = [t[:5] + "[MASK]" + t[6:] for t in texts]
    one, batched = m(texts), m(texts, batch_size=8)
    assert len(batched) == len(texts)
    if task == "feature-extraction":
        for a, b in zip(one, batched):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)
    else:
        assert batched == one


def test_bad_batch_sizes(tiny_task_bundle):
    m = mbja_runtime.load(tiny_task_bundle("token-classification"))
    for bad in (0, -1, 2.5, True, "8"):
        with pytest.raises(MbjaError, match="batch_size"):
            m(["a", "b"], batch_size=bad)
    assert m(["東京", "大阪"], batch_size=1) == m(["東京", "大阪"])
