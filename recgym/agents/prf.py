"""Pseudo-relevance feedback (RM3-style query expansion): the classic IR baseline that, like Rec-R1, only sees the
recommender's black-box output. It retrieves once with the raw query, reads the titles of the top items, and adds
the words those titles share. No model, no training: the reference point a learned rewriter should beat without
peeking at the ranking.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Set as AbstractSet
from typing import Any

from bm25s.stopwords import STOPWORDS_EN

from recgym.agents.base import read_agent_file, write_agent_file
from recgym.rewards import format_answer

# The same word pattern and stopwords as recgym's BM25 (bm25s defaults), so every expansion term is one BM25 can
# match and no weight is spent on words the index drops.
_WORD = re.compile(r"(?u)\b\w\w+\b")
STOPWORDS: frozenset[str] = frozenset(STOPWORDS_EN)


def terms(text: str) -> list[str]:
    """Lower-cased index terms of ``text``: BM25's tokens minus stopwords and bare numbers (sizes and counts vary
    between products of one type, so a number in feedback titles says little about what the shopper wants)."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and not w.isdigit()]


def relevance_model(
    feedback: list[str], exclude: AbstractSet[str] = frozenset(), num_terms: int = 10
) -> list[tuple[str, float]]:
    """RM1 over ranked feedback texts: ``P(w|R) ~ sum_d weight(rank_d) * tf(w, d) / |d|``, top ``num_terms``.

    The recommender's scores are not visible through the env, so the document prior ``P(q|d)`` of Lavrenko & Croft
    is replaced by a rank discount ``1 / log2(rank + 1)`` (rank from 1; NDCG's discount). Terms in ``exclude``
    (the query's own) are left out: the query's weight is set separately by repetition. Ties go to the term seen
    first, so the result is deterministic. Weights are normalised to sum to 1 over the returned terms.
    """
    scores: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for rank, text in enumerate(feedback, start=1):
        words = terms(text)
        if not words:
            continue
        discount = 1.0 / math.log2(rank + 1)
        for word, count in Counter(words).items():
            if word in exclude:
                continue
            first_seen.setdefault(word, len(first_seen))
            scores[word] += discount * count / len(words)
    top = sorted(scores, key=lambda w: (-scores[w], first_seen[w]))[:num_terms]
    total = sum(scores[w] for w in top)
    return [(w, scores[w] / total) for w in top]


def query_repeats(original_weight: float, num_query_terms: int, num_expansion_terms: int) -> int:
    """How many copies of the original query to send so that it carries ``original_weight`` of the query mass.

    BM25 takes plain text but sums a repeated term's score once per occurrence, so repetition is how an RM3
    interpolation weight ``lambda`` reaches it: with the query's ``n_q`` terms repeated ``r`` times and ``n_e``
    expansion terms once each, the query holds ``r * n_q / (r * n_q + n_e)`` of the mass; ``r`` is the nearest
    integer to ``lambda / (1 - lambda) * n_e / n_q``, at least 1 (the query is never dropped).
    """
    if num_expansion_terms == 0 or original_weight >= 1.0:
        return 1
    ratio = original_weight / (1.0 - original_weight) * num_expansion_terms / max(num_query_terms, 1)
    return max(1, round(ratio))


class PseudoRelevanceFeedbackAgent:
    """RM3 query expansion from the top ``fb_docs`` items of a first retrieval with the raw query.

    For each observation: the raw query (from the reset info's ``raw_action``) is searched once through the env's
    ``search_texts`` (one batched recommender call for the whole batch, no reward is computed); the relevance model
    of the returned titles gives ``fb_terms`` new words; the action is the raw query repeated
    :func:`query_repeats` times plus those words, formatted for the env's reward preset: a ``<answer>`` JSON block
    under ``recr1``, the text under ``plain``, and under ``expand`` only what follows the raw query (the env puts the
    raw query in front itself, so its one copy is not repeated in the action).

    Args:
        env: The env (single or vector, wrapped or not) the agent acts in; only ``search_texts`` and the reward preset
            of its scorer are used. The recommender itself stays a black box.
        fb_docs: Feedback items read from the first retrieval (RM3's ``fbDocs``; Anserini's default is 10).
        fb_terms: Expansion words added (RM3's ``fbTerms``; Anserini: 10).
        original_weight: RM3's interpolation weight of the original query, in ``[0, 1]``; 1 sends the raw query.
    """

    def __init__(self, env: Any, fb_docs: int = 10, fb_terms: int = 10, original_weight: float = 0.5) -> None:
        if fb_docs < 1 or fb_terms < 0 or not 0.0 <= original_weight <= 1.0:
            raise ValueError(
                f"need fb_docs >= 1, fb_terms >= 0 and 0 <= original_weight <= 1; got {fb_docs}, {fb_terms}, "
                f"{original_weight}"
            )
        base = env.unwrapped
        if not hasattr(base, "search_texts"):
            raise TypeError(f"{type(base).__name__} has no search_texts(); PRF needs a recgym RecTextEnv or vector env")
        self.env, self.fb_docs, self.fb_terms, self.original_weight = base, fb_docs, fb_terms, original_weight
        self.preset: str = base.scorer.preset.name

    # ------------------------------------------------------------------------------------------------ acting
    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        queries = self.raw_queries(observations, infos)
        return [self._format(raw, expansion) for raw, expansion in zip(queries, self.expansions(queries))]

    def raw_queries(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        """The raw query behind each observation, from the env's reset info (``raw_query``)."""
        if infos is None or len(infos) != len(observations):
            raise ValueError(
                "PseudoRelevanceFeedbackAgent needs the reset infos (their 'raw_query') for every observation"
            )
        return [str(info["raw_query"]) for info in infos]

    def expansions(self, queries: list[str]) -> list[list[str]]:
        """The RM3 expansion words of each query, from one batched first retrieval."""
        searchable = [i for i, q in enumerate(queries) if terms(q)]
        out: list[list[str]] = [[] for _ in queries]
        if not searchable or self.fb_terms == 0 or self.original_weight >= 1.0:
            return out
        feedback = self.env.search_texts([queries[i] for i in searchable], self.fb_docs)
        for i, docs in zip(searchable, feedback):
            model = relevance_model(docs, exclude=set(terms(queries[i])), num_terms=self.fb_terms)
            out[i] = [word for word, _ in model]
        return out

    def _format(self, raw: str, expansion: list[str]) -> str:
        repeats = query_repeats(self.original_weight, len(terms(raw)), len(expansion))
        if self.preset == "expand":
            return " ".join([raw] * (repeats - 1) + expansion)
        query = " ".join([raw] * repeats + expansion)
        return format_answer(query) if self.preset == "recr1" else query

    # ------------------------------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> None:
        """Only the hyper-parameters: the env is the caller's, passed again to :meth:`load`."""
        write_agent_file(
            directory, self, fb_docs=self.fb_docs, fb_terms=self.fb_terms, original_weight=self.original_weight
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str], env: Any = None) -> PseudoRelevanceFeedbackAgent:
        if env is None:
            raise TypeError("PseudoRelevanceFeedbackAgent.load needs the env it acts in: load(directory, env=env)")
        _, params = read_agent_file(directory)
        return cls(env, **params)
