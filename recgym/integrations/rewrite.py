"""Query-rewrite operators: a small, fixed menu of ways to turn a raw query into the query sent to the recommender.

The classic RL query-reformulation setting (Nogueira & Cho, 2017, "Task-oriented query reformulation with
reinforcement learning"): instead of writing free text, a policy picks one of K operators per query, and the
recommender's metric is its reward. Every operator reads only the raw query and, when it needs them, the titles of
the recommender's first retrieval with that raw query (the black-box output ``env.task.feedback`` gives, the same
feedback :mod:`recgym.agents.prf` reads). Nothing here looks at labels, scores or item ids.

An operator returns the FULL query text; the env's reward preset (``RewardPreset.action_for``) turns it into
the action it expects (``recr1``: an ``<answer>`` JSON block; ``plain``: the text; ``expand``: only what follows
the raw query, since the env puts the raw query in front itself).
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from recgym.envs.task import task_of
from recgym.text import query_repeats, relevance_model, terms


@runtime_checkable
class RewriteOperator(Protocol):
    """One way of rewriting a query.

    Attributes:
        name: Short unique label (used in logs and docs, e.g. ``"rm3_5"``).
        fb_docs: How many first-retrieval titles :meth:`rewrite` reads (0: it needs no retrieval).
    """

    name: str
    fb_docs: int

    def rewrite(self, query: str, feedback: Sequence[str]) -> str:
        """The full rewritten query, from the raw ``query`` and the top ``fb_docs`` feedback titles (best first)."""
        ...


@dataclass(frozen=True)
class RawQuery:
    """The raw query unchanged (the no-rewrite baseline, always worth keeping in the menu)."""

    name: str = "raw"
    fb_docs: int = 0

    def rewrite(self, query: str, feedback: Sequence[str]) -> str:
        return query


@dataclass(frozen=True)
class DropStopwords:
    """The query's index terms only: stopwords, bare numbers and one-letter tokens removed (``prf.terms``)."""

    name: str = "drop_stopwords"
    fb_docs: int = 0

    def rewrite(self, query: str, feedback: Sequence[str]) -> str:
        return " ".join(terms(query)) or query


@dataclass(frozen=True)
class KeepLongest:
    """The ``n`` longest index terms of the query, in their original order (length as a cheap specificity proxy;
    shoppers' filler words are short)."""

    n: int = 3
    fb_docs: int = 0

    @property
    def name(self) -> str:
        return f"keep_longest_{self.n}"

    def rewrite(self, query: str, feedback: Sequence[str]) -> str:
        words = list(dict.fromkeys(terms(query)))
        if not words:
            return query
        keep = set(sorted(words, key=lambda w: (-len(w), words.index(w)))[: self.n])
        return " ".join(w for w in words if w in keep)


@dataclass(frozen=True)
class RM3Expansion:
    """RM3 pseudo-relevance feedback: the raw query (repeated to carry ``original_weight`` of the mass) plus the
    ``num_terms`` best relevance-model words of the first retrieval's top ``fb_docs`` titles. The same computation
    as :class:`recgym.agents.PseudoRelevanceFeedbackAgent` (it calls ``prf.relevance_model`` and
    ``prf.query_repeats``)."""

    num_terms: int = 5
    fb_docs: int = 10
    original_weight: float = 0.5

    @property
    def name(self) -> str:
        return f"rm3_{self.num_terms}" if self.fb_docs == 10 else f"rm3_{self.num_terms}_fb{self.fb_docs}"

    def rewrite(self, query: str, feedback: Sequence[str]) -> str:
        query_terms = terms(query)
        if not query_terms:
            return query
        expansion = [w for w, _ in relevance_model(list(feedback), set(query_terms), self.num_terms)]
        repeats = query_repeats(self.original_weight, len(query_terms), len(expansion))
        return " ".join([query] * repeats + expansion)


def head_phrase(title: str, num_words: int = 2) -> list[str]:
    """The last ``num_words`` index terms of a title's first comma-separated segment.

    Marketplace titles put the product type at the end of their first segment ("Thermora Stainless Steel Travel
    Mug, 16 oz, ..." -> ``["travel", "mug"]``); titles without commas give their last terms.
    """
    return terms(title.split(",", 1)[0])[-num_words:]


@dataclass(frozen=True)
class AppendProductType:
    """Append the product-type phrase most of the first retrieval's titles share (mined from the catalog's own
    titles): each of the top ``fb_docs`` titles votes for its :func:`head_phrase` with NDCG's rank discount
    ``1 / log2(rank + 1)``; the winner's words not already in the query are appended. Shoppers describe a need
    ("keep my coffee hot on the commute"); titles name the type ("travel mug"): this bridges the two when the
    first retrieval is roughly on topic."""

    num_words: int = 2
    fb_docs: int = 10

    @property
    def name(self) -> str:
        return f"append_type_fb{self.fb_docs}" if self.fb_docs != 10 else "append_type"

    def rewrite(self, query: str, feedback: Sequence[str]) -> str:
        votes: Counter[tuple[str, ...]] = Counter()
        for rank, title in enumerate(feedback[: self.fb_docs], start=1):
            phrase = tuple(head_phrase(title, self.num_words))
            if phrase:
                votes[phrase] += 1.0 / math.log2(rank + 1)
        if not votes:
            return query
        best = max(votes, key=lambda p: votes[p])  # ties: first seen, i.e. best ranked
        have = set(terms(query))
        extra = [w for w in best if w not in have]
        return " ".join([query, *extra]) if extra else query


@dataclass(frozen=True)
class AppendPhrase:
    """Append a fixed phrase (e.g. a product type mined from the catalog: see :func:`mine_type_phrases`); the
    words already in the query are not repeated."""

    phrase: str
    fb_docs: int = 0

    @property
    def name(self) -> str:
        return "+" + self.phrase

    def rewrite(self, query: str, feedback: Sequence[str]) -> str:
        have = set(terms(query))
        extra = [w for w in self.phrase.split() if w.lower() not in have]
        return " ".join([query, *extra]) if extra else query


def mine_type_phrases(env: Any, split: str = "train", fb_docs: int = 20, max_phrases: int = 128) -> list[str]:
    """Product-type phrases of the catalog, mined through the black box: each raw query of ``split`` is searched
    once (ONE batched ``task.feedback`` call, top ``fb_docs`` titles); every returned title votes for its
    :func:`head_phrase`; the ``max_phrases`` most frequent phrases are returned, most frequent first (ties: first
    seen). Only titles the recommender returns are read -- no labels, ids or scores."""
    task = task_of(env)
    queries = [task.raw_query(ex) for ex in task.examples(split)]
    queries = [q for q in dict.fromkeys(queries) if terms(q)]
    counts: Counter[str] = Counter()
    for titles in task.feedback(queries, fb_docs) if queries else []:
        for title in titles:
            phrase = " ".join(head_phrase(title))
            if phrase:
                counts[phrase] += 1
    return [p for p, _ in counts.most_common(max_phrases)]


def default_operators() -> tuple[RewriteOperator, ...]:
    """The default menu (K = 7): raw, two query reductions, two RM3 expansions, two product-type appends."""
    return (
        RawQuery(),
        DropStopwords(),
        KeepLongest(3),
        RM3Expansion(num_terms=5),
        RM3Expansion(num_terms=10),
        AppendProductType(fb_docs=10),
        AppendProductType(fb_docs=3),
    )


class FeedbackCache:
    """First-retrieval titles per raw query, from ``env.task.feedback`` (one recommender call per new query), kept in
    a bounded LRU so a training run over a fixed split searches each query once."""

    def __init__(self, env: Any, depth: int, maxsize: int = 100_000) -> None:
        self.task = task_of(env)  # TypeError for an env that is not recgym's
        self.depth, self.maxsize = int(depth), int(maxsize)
        self._cache: OrderedDict[str, list[str]] = OrderedDict()

    def get(self, queries: Sequence[str]) -> list[list[str]]:
        """Top ``depth`` titles for each query; the missing ones come from ONE batched ``task.feedback`` call."""
        if self.depth <= 0:
            return [[] for _ in queries]
        missing = list(dict.fromkeys(q for q in queries if q not in self._cache))
        searchable = [q for q in missing if terms(q)]
        found = dict(zip(searchable, self.task.feedback(searchable, self.depth))) if searchable else {}
        for q in missing:
            self._cache[q] = list(found.get(q, []))
            if len(self._cache) > self.maxsize:
                self._cache.popitem(last=False)
        out = []
        for q in queries:
            self._cache.move_to_end(q)
            out.append(self._cache[q])
        return out
