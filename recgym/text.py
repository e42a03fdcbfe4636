"""Lexical helpers shared by the feedback-based baselines (PRF, the SB3 rewrite operators): BM25's terms and
stopwords, the RM1 relevance model over feedback titles, and RM3's query weighting by repetition."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Set as AbstractSet

from bm25s.stopwords import STOPWORDS_EN

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
