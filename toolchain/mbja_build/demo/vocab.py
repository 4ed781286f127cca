"""Recipe step 1: a WordPiece vocabulary built the way cl-tohoku built theirs.

cl-tohoku pre-segmented Wikipedia with MeCab + unidic-lite and trained WordPiece on the words. We do
the same on the NER sentences (all of them: the real vocabulary was trained on Japanese Wikipedia,
which contains these sentences, and the vocabulary sees no labels). Special tokens keep
cl-tohoku's ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4.
"""
from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def mecab_words(texts):
    """Segment exactly as transformers' MecabTokenizer does (NFKC, unidic-lite, surfaces)."""
    from transformers.models.bert_japanese.tokenization_bert_japanese import MecabTokenizer

    mecab = MecabTokenizer(do_lower_case=False, mecab_dic="unidic_lite")
    for text in texts:
        yield mecab.tokenize(text)


def build_vocab(texts: list[str], out_file: Path, vocab_size: int = 10000) -> int:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        continuing_subword_prefix="##",
        limit_alphabet=100000,  # keep every character seen: rare kanji should not become [UNK]
        min_frequency=2,
        show_progress=False,
    )
    segmented = [" ".join(words) for words in mecab_words(texts)]
    tok.train_from_iterator(segmented, trainer=trainer)
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    out_file.write_text("".join(f"{t}\n" for t, _ in vocab), encoding="utf-8")
    return len(vocab)
