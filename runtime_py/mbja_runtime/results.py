"""What each task pipeline returns, typed (``TypedDict``: plain dicts at run time, so results stay
JSON as they are and ``mbja-run`` prints them unchanged; checked types for callers).

Token classification has two kinds of result, as transformers has and as the Kotlin SDK's
``Entity`` and ``TokenTag`` are: grouped entities (every aggregation but "none") and per-token
tags (``aggregation="none"``, with transformers' own keys for that mode, so code ported from
``pipeline("token-classification")`` reads it unchanged).
"""
from __future__ import annotations

from typing import TypedDict


class Entity(TypedDict):
    """An entity: ``text == original_text[start:end]`` (character offsets into the text as given)."""
    type: str
    text: str
    start: int
    end: int
    score: float


class TokenTag(TypedDict):
    """One token whose best label is not ignored (``aggregation="none"``); ``index``: its position
    in the encoding ([CLS] = 0); ``word``: the WordPiece token."""
    entity: str
    score: float
    index: int
    word: str
    start: int
    end: int


class Label(TypedDict):
    label: str
    score: float


class Filler(TypedDict):
    """One candidate for one [MASK]: ``sequence`` is the text with it filled in."""
    token: int
    token_str: str
    score: float
    sequence: str
