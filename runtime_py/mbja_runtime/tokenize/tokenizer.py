"""The device tokenizer: transformers' ``BertJapaneseTokenizer`` (MeCab + unidic-lite, WordPiece)
reproduced id for id with NumPy only, plus what the slow tokenizer cannot give: offsets.

Pipeline (mirrors transformers 5.x ``PreTrainedTokenizer.tokenize`` + ``BertJapaneseTokenizer``):
  1. cut the original text at special tokens ([CLS], [SEP], [MASK], [UNK], [PAD]) -- kept whole;
  2. NFKC each other piece, segment it with MeCab rules (``Segmenter``), WordPiece each surface;
  3. [CLS] a [SEP] (b [SEP]), truncation (longest_first by default) and padding as transformers.
Every token carries its (start, end) in the ORIGINAL text (of the text it came from, for pairs);
tokens the tokenizer adds itself ([CLS], [SEP], [PAD]) carry ``None``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..bundle import DICTIONARY, MANIFEST, TOKENIZER, VOCAB, read_json_object, read_manifest
from ..errors import BundleError, MbjaError
from .dictionary import Dictionary
from .normalize import nfkc_with_offsets, special_token_pattern, split_special
from .segmenter import Segmenter
from .wordpiece import WordPiece, load_vocab

SUPPORTED = {"normalization": "NFKC", "word_tokenizer": "mecab", "dictionary": "unidic-lite",
             "subword_tokenizer": "wordpiece", "do_lower_case": False}
DEFAULTS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
            "mask_token": "[MASK]", "max_input_chars_per_word": 100, "model_max_length": 512}
_SPECIAL_KEYS = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")   # transformers' order
_TRUNCATIONS = {True: "longest_first", False: None, "longest_first": "longest_first", "only_first": "only_first",
                "only_second": "only_second", "do_not_truncate": None}
_PADDINGS = {False: None, "do_not_pad": None, True: "longest", "longest": "longest", "max_length": "max_length"}


@dataclass(frozen=True)
class Encoding:
    """One encoded text (or pair). ``offsets[i]`` is token i's span in the original text it came
    from (``token_type_ids[i]`` says which), or None for [CLS], [SEP] and [PAD] added here."""

    input_ids: list[int]
    attention_mask: list[int]
    token_type_ids: list[int]
    offsets: list[tuple[int, int] | None]
    tokens: list[str]

    def __len__(self) -> int:
        return len(self.input_ids)


class Tokenizer:
    """Immutable after construction; safe to share between threads.

    ``engine``: the segmenter's engine, "c", "python" or None for the default (``Segmenter``).
    """

    def __init__(self, vocab: dict[str, int], dictionary: Dictionary, settings: dict | None = None,
                 engine: str | None = None):
        s = {**DEFAULTS, **(settings or {})}
        for key, want in SUPPORTED.items():
            if key in s and s[key] != want:
                raise BundleError(f"tokenizer setting {key}={s[key]!r} is not supported (only {want!r})")
        for key in _SPECIAL_KEYS:
            if not isinstance(s[key], str) or not s[key]:
                raise BundleError(f"tokenizer setting {key} must be a token (a non-empty string), not {s[key]!r}")
        for key, kinds in (("max_input_chars_per_word", int), ("model_max_length", (int, float, type(None)))):
            v = s[key]      # model_max_length: transformers writes 1e30 for "no limit", JSON may give a float
            if isinstance(v, bool) or not isinstance(v, kinds) or (v is not None and not v >= 1):
                raise BundleError(f"tokenizer setting {key} must be a positive number, not {v!r}")
        if not vocab:
            raise BundleError("the vocabulary is empty")
        self.settings = s
        self.vocab = dict(vocab)
        self.ids_to_tokens = {i: t for t, i in self.vocab.items()}
        # special tokens missing from the vocabulary get new ids at the end, as transformers adds them
        for key in _SPECIAL_KEYS:
            tok = s[key]
            if tok not in self.vocab:
                self.vocab[tok] = len(self.ids_to_tokens)
                self.ids_to_tokens[self.vocab[tok]] = tok
        self.special_tokens = [s[k] for k in _SPECIAL_KEYS]
        self._special = special_token_pattern(self.special_tokens)
        self.unk_token, self.cls_token, self.sep_token, self.pad_token = (
            s["unk_token"], s["cls_token"], s["sep_token"], s["pad_token"])
        self.cls_id, self.sep_id, self.pad_id = self.vocab[self.cls_token], self.vocab[self.sep_token], \
            self.vocab[self.pad_token]
        mml = s.get("model_max_length")
        self.model_max_length = int(mml) if mml is not None and mml < 10**12 else None   # 1e30, inf: no limit
        self.segmenter = Segmenter(dictionary, engine)
        self.wordpiece = WordPiece(self.vocab, self.unk_token, int(s["max_input_chars_per_word"]))

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_files(cls, vocab_path, dictionary_dir, settings: dict | str | os.PathLike | None = None,
                   verify: bool = True, engine: str | None = None) -> "Tokenizer":
        """``settings``: the tokenizer.json dict, or a path to it, or None for the defaults."""
        vocab_path = Path(vocab_path)
        if not vocab_path.is_file():
            raise BundleError(f"vocabulary file missing: {vocab_path}")
        if isinstance(settings, (str, os.PathLike)):
            settings = read_json_object(Path(settings), "tokenizer settings file")
        try:
            vocab = load_vocab(vocab_path)
        except UnicodeDecodeError as e:
            raise BundleError(f"vocabulary file {vocab_path} is not UTF-8: {e}") from None
        return cls(vocab, Dictionary(dictionary_dir, verify=verify), settings, engine)

    @classmethod
    def from_bundle(cls, bundle_dir, verify: bool = True, engine: str | None = None) -> "Tokenizer":
        """Load vocab.txt, tokenizer.json and dictionary/ of a bundle directory.

        The manifest's format is checked when there is one; file hashes are left to the bundle
        loader (``read_manifest(verify=True)``), the dictionary's own CRCs are checked here.
        """
        root = Path(bundle_dir)
        vocab, tok, dic = VOCAB, TOKENIZER, DICTIONARY
        if (root / MANIFEST).is_file():
            manifest = read_manifest(root, verify=False)
            vocab, tok = manifest.get("vocab", VOCAB), manifest.get("tokenizer", TOKENIZER)
            dic = manifest.get("dictionary", DICTIONARY)
        elif not root.is_dir():
            raise BundleError(f"bundle directory not found: {root}")
        return cls.from_files(root / vocab, root / dic, root / tok, verify=verify, engine=engine)

    # ------------------------------------------------------------------ tokenizing
    def _pieces(self, text: str) -> tuple[list, list, list]:
        """(tokens, ids, offsets) of one text, offsets in that text (what ``tokenize`` does)."""
        if not isinstance(text, str):
            raise MbjaError(f"text must be a str, not {type(text).__name__}")
        seg = self.segmenter
        vocab, cache, parts = self.vocab, self.wordpiece._parts, self.wordpiece.parts
        toks, ids, offs = [], [], []
        for piece, off, special in split_special(text, self._special):
            if special:
                toks.append(piece)
                ids.append(vocab[piece])
                offs.append((off, off + len(piece)))
                continue
            norm, starts, ends = nfkc_with_offsets(piece)
            for sp in seg.spans(norm):
                a, b = sp
                surface = norm[a:b]
                r = cache.get(surface) or parts(surface)
                toks += r[0]
                ids += r[1]
                rel = r[2]
                if starts is None:          # NFKC changed nothing: offsets are the spans
                    if rel is None:
                        offs.append(sp if off == 0 else (off + a, off + b))
                    else:
                        o = off + a
                        offs += [(o + x, o + y) for x, y in rel]
                elif rel is None:
                    offs.append((off + starts[a], off + ends[b - 1]))
                else:
                    offs += [(off + starts[a + x], off + ends[a + y - 1]) for x, y in rel]
        return toks, ids, offs

    def tokenize(self, text: str) -> list[str]:
        """Tokens as transformers' ``tokenize`` returns them (no [CLS]/[SEP])."""
        return self._pieces(text)[0]

    def words(self, text: str) -> list[str]:
        """MeCab surfaces of NFKC(text) (special tokens not treated specially): the word level."""
        from unicodedata import normalize

        return self.segmenter.surfaces(normalize("NFKC", text))

    def encode(self, text: str, pair: str | None = None, max_length: int | None = None,
               padding: bool | str = False, truncation: bool | str = True) -> Encoding:
        """[CLS] text [SEP] (pair [SEP]) with transformers' truncation and padding rules.

        ``truncation``: True (= "longest_first"), "only_first", "only_second" or False; the limit is
        ``max_length``, else the bundle's ``model_max_length``. ``padding``: False, True/"longest"
        (a no-op for one text) or "max_length" (pads to ``max_length``/``model_max_length``).
        """
        strategy, mode, limit = self._options(max_length, padding, truncation)
        enc = self._assemble(self._pieces(text), None if pair is None else self._pieces(pair), strategy, limit)
        return self._padded([enc], mode, limit)[0]

    def encode_batch(self, texts: list[str], pairs: list[str] | None = None, max_length: int | None = None,
                     padding: bool | str = False, truncation: bool | str = True) -> list[Encoding]:
        """``encode`` for many texts; ``padding=True`` pads to the longest encoding of the batch,
        as transformers does."""
        strategy, mode, limit = self._options(max_length, padding, truncation)
        if pairs is not None and len(pairs) != len(texts):
            raise MbjaError("texts and pairs must have the same length")
        if pairs is None:
            encs = [self._assemble(self._pieces(t), None, strategy, limit) for t in texts]
        else:
            encs = [self._assemble(self._pieces(t), self._pieces(p), strategy, limit) for t, p in zip(texts, pairs)]
        return self._padded(encs, mode, limit)

    # ------------------------------------------------------------------ assembling
    def _options(self, max_length, padding, truncation):
        if not isinstance(truncation, (bool, str)) or truncation not in _TRUNCATIONS:
            raise MbjaError(f"truncation must be True, False, 'longest_first', 'only_first' or 'only_second', "
                            f"not {truncation!r}")
        if not isinstance(padding, (bool, str)) or padding not in _PADDINGS:
            raise MbjaError(f"padding must be True, False, 'longest' or 'max_length', not {padding!r}")
        if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                       or max_length < 0):
            raise MbjaError(f"max_length must be a non-negative int or None, not {max_length!r}")
        limit = max_length if max_length is not None else self.model_max_length
        return _TRUNCATIONS[truncation], _PADDINGS[padding], limit

    def _assemble(self, a, b, strategy, limit) -> Encoding:
        """``a``, ``b``: (tokens, ids, offsets) of the text and of the pair (or None)."""
        na, nb = len(a[0]), (len(b[0]) if b is not None else 0)
        special = 2 if b is None else 3
        if strategy is not None and limit and na + nb + special > limit:   # 0: off, as in transformers
            na, nb = _truncate(na, nb if b is not None else None, na + nb + special - limit, strategy)
        cls, sep = self.cls_id, self.sep_id
        ids = [cls, *a[1][:na], sep]
        offsets = [None, *a[2][:na], None]
        tokens = [self.cls_token, *a[0][:na], self.sep_token]
        types = [0] * len(ids)
        if b is not None:
            ids += b[1][:nb]
            ids.append(sep)
            offsets += b[2][:nb]
            offsets.append(None)
            tokens += b[0][:nb]
            tokens.append(self.sep_token)
            types += [1] * (nb + 1)
        return Encoding(ids, [1] * len(ids), types, offsets, tokens)

    def _padded(self, encs: list[Encoding], mode, limit) -> list[Encoding]:
        if mode == "longest":
            target = max((len(e) for e in encs), default=0)
        elif mode == "max_length" and limit is not None:
            target = limit
        else:
            return encs
        return [self._pad(e, target) for e in encs]

    def _pad(self, enc: Encoding, target: int) -> Encoding:
        k = target - len(enc)
        if k <= 0:
            return enc
        return Encoding(enc.input_ids + [self.pad_id] * k, enc.attention_mask + [0] * k,
                        enc.token_type_ids + [0] * k, enc.offsets + [None] * k, enc.tokens + [self.pad_token] * k)


def _truncate(la: int, lb: int | None, k: int, strategy: str) -> tuple[int, int]:
    """How many tokens of each text remain after removing ``k`` the way transformers 5.x
    ``truncate_sequences`` does (from the right); ``lb`` is None without a pair."""
    if strategy == "only_first" or (strategy == "longest_first" and lb is None):
        return max(la - k, 0), lb or 0
    if strategy == "longest_first":
        first = min(abs(lb - la), k)
        second = k - first
        if la > lb:
            ka, kb = first + second // 2, second - second // 2
        else:
            ka, kb = second // 2, first + second - second // 2
        return max(la - ka, 0), max(lb - kb, 0)
    if strategy == "only_second" and lb:
        return la, max(lb - k, 0)
    return la, lb or 0
