"""Text spaces of recgym envs: which characters and lengths observations and actions may have."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from functools import lru_cache

from gymnasium import spaces

MAX_ACTION_LENGTH = 8192
"""Longest action ``action_space.sample()`` draws. Longer strings are still scored (the query is cut to
``recgym.rewards.MAX_QUERY_CHARS``)."""


@lru_cache(maxsize=1)
def printable_charset() -> str:
    """Every printable character of the Basic Multilingual Plane, plus newline and tab (no surrogates)."""
    return "".join(chr(c) for c in range(0x10000) if chr(c).isprintable() or chr(c) in "\n\t")


def action_space() -> spaces.Text:
    return spaces.Text(max_length=MAX_ACTION_LENGTH, min_length=0, charset=printable_charset())


def observation_space(texts: Iterable[str], max_length: int) -> spaces.Text:
    """A Text space admitting every printable BMP character plus any character found in ``texts`` (catalog titles,
    queries, templates), so every prompt the env renders is inside it."""
    extra: set[str] = set()
    for t in texts:
        extra.update(t)
    base = printable_charset()
    charset = base + "".join(sorted(extra.difference(base)))
    return spaces.Text(max_length=max(1, min(max_length, sys.maxsize)), min_length=1, charset=charset)
