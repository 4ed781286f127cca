"""Torch-free, transformers-free device tokenizer: MeCab-compatible segmentation over a compiled
unidic-lite dictionary, then WordPiece -- id-for-id what ``BertJapaneseTokenizer`` produces.

    from mbja_runtime.tokenize import Tokenizer
    tok = Tokenizer.from_bundle("dist/demo")
    enc = tok.encode("東京都に住んでいる")      # input_ids, attention_mask, token_type_ids, offsets, tokens

The dictionary format is specified in docs/dictionary-format.md (constants in ``format``).
"""
from .dictionary import Dictionary
from .segmenter import Segmenter
from .tokenizer import Encoding, Tokenizer

__all__ = ["Dictionary", "Encoding", "Segmenter", "Tokenizer", "tokenize_texts"]


def tokenize_texts(bundle_dir, texts, **encode_options) -> list[Encoding]:
    """What ``mbja-run tokenize`` calls: load the bundle's tokenizer once, encode every text."""
    return Tokenizer.from_bundle(bundle_dir).encode_batch(list(texts), **encode_options)
