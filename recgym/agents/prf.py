"""Pseudo-relevance feedback (RM3-style query expansion): the classic IR baseline that, like Rec-R1, only sees the
recommender's black-box output. It retrieves once with the raw query, reads the titles of the top items, and adds
the words those titles share. No model, no training: the reference point a learned rewriter should beat without
peeking at the ranking.
"""

from __future__ import annotations

import os
from typing import Any

from recgym.agents.base import read_agent_file, write_agent_file
from recgym.envs.task import task_of
from recgym.text import query_repeats, relevance_model, terms


class PseudoRelevanceFeedbackAgent:
    """RM3 query expansion from the top ``fb_docs`` items of a first retrieval with the raw query.

    For each observation: the raw query (from the reset info's ``raw_action``) is searched once through the env's
    ``task.feedback`` (one batched recommender call for the whole batch, no reward is computed); the relevance model
    of the returned titles gives ``fb_terms`` new words; the action is the raw query repeated
    :func:`query_repeats` times plus those words, formatted for the env's reward preset: a ``<answer>`` JSON block
    under ``recr1``, the text under ``plain``, and under ``expand`` only what follows the raw query (the env puts the
    raw query in front itself, so its one copy is not repeated in the action).

    Args:
        env: The env (single or vector, wrapped or not) the agent acts in; only its task's ``feedback`` and reward
            preset are used. The recommender itself stays a black box.
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
        self.task = task_of(env)  # TypeError for an env that is not recgym's
        self.fb_docs, self.fb_terms, self.original_weight = fb_docs, fb_terms, original_weight

    # ------------------------------------------------------------------------------------------------ acting
    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        queries = self.raw_queries(observations, infos)
        return [self.action_for(raw, expansion) for raw, expansion in zip(queries, self.expansions(queries))]

    def raw_queries(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        """The raw query behind each observation, from the env's reset info (``raw_query``)."""
        if infos is None or len(infos) != len(observations):
            raise ValueError(
                "PseudoRelevanceFeedbackAgent needs the reset infos (their 'raw_query') for every observation"
            )
        return [str(info["raw_query"]) for info in infos]

    def expansions(self, queries: list[str]) -> list[list[str]]:
        """The RM3 expansion words of each query, from one batched first retrieval."""
        searchable = [i for i, q in enumerate(queries) if self.expands(q)]
        out: list[list[str]] = [[] for _ in queries]
        if searchable:
            feedback = self.task.feedback([queries[i] for i in searchable], self.fb_docs)
            for i, docs in zip(searchable, feedback):
                out[i] = self.expansion(queries[i], docs)
        return out

    def expands(self, query: str) -> bool:
        """Whether ``query`` gets expansion words at all (a first retrieval is worth running for it)."""
        return bool(terms(query)) and self.fb_terms > 0 and self.original_weight < 1.0

    def expansion(self, query: str, feedback: list[str]) -> list[str]:
        """RM3's expansion words of ``query`` from the first retrieval's titles, best first (its top ``fb_docs``
        are read); ``[]`` where :meth:`expands` is False."""
        if not self.expands(query):
            return []
        model = relevance_model(feedback[: self.fb_docs], exclude=set(terms(query)), num_terms=self.fb_terms)
        return [word for word, _ in model]

    def action_for(self, raw: str, expansion: list[str]) -> str:
        """The single-turn action sending ``raw`` repeated :func:`query_repeats` times plus ``expansion``, in the
        env's reward preset's format."""
        repeats = query_repeats(self.original_weight, len(terms(raw)), len(expansion))
        return self.task.preset.action_for(" ".join([raw] * repeats + expansion), raw)

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
