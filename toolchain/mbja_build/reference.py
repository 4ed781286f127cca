"""The reference tokenizer: transformers' BertJapaneseTokenizer set up as cl-tohoku/bert-large-japanese
is (MeCab with unidic-lite, then WordPiece, no lower-casing).

Every parity check (verify, the demo's label alignment, the bench's PyTorch rows, the tests) compares
the device tokenizer with this one object; the settings come from the runtime's own definition of
what it supports (``mbja_runtime.tokenize.tokenizer.SUPPORTED``), so the two cannot drift.
"""
from __future__ import annotations

import os

from mbja_runtime.tokenize.tokenizer import SUPPORTED


def reference_tokenizer(vocab_file: str | os.PathLike, model_max_length: int | None = None):
    from transformers import BertJapaneseTokenizer

    extra = {} if model_max_length is None else {"model_max_length": model_max_length}
    return BertJapaneseTokenizer(
        os.fspath(vocab_file),
        do_lower_case=SUPPORTED["do_lower_case"],
        word_tokenizer_type=SUPPORTED["word_tokenizer"],
        subword_tokenizer_type=SUPPORTED["subword_tokenizer"],
        mecab_kwargs={"mecab_dic": SUPPORTED["dictionary"].replace("-", "_")},
        **extra,
    )
