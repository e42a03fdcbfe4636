"""Scripted policies of the multi-turn search-agent env (``RecR1/*-Agent-v0``) and the loop that plays an episode.

:class:`PRFSearchAgent` is pseudo-relevance feedback re-expressed as turns: what :class:`PseudoRelevanceFeedbackAgent`
does inside one step (search the raw query, read the top titles, expand), done through the env's own ``<search>``
tool, reading the titles from the observation. It is the reference a learned search agent should beat.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from recgym.agents.prf import PseudoRelevanceFeedbackAgent
from recgym.envs.agent_env import as_answer, search_turns


class PRFSearchAgent:
    """Turn 1: ``<search>raw query</search>``. Turn 2: ``<answer>`` with the RM3 expansion of the titles it got.

    The raw query comes from the reset info (``raw_query``, as for the single-turn PRF agent); the titles and the
    query they answer come from the observation (:func:`~recgym.envs.agent_env.search_turns`), never from the env's
    state. The answer is :class:`PseudoRelevanceFeedbackAgent`'s single-turn action for those titles, as an answer
    turn (:func:`~recgym.envs.agent_env.as_answer`), so its reward is that agent's whenever the env shows as many
    titles per search as it reads (``results_per_search >= fb_docs``).

    Args:
        env: The agent env, single or vector (only its task's preset is used, to format the answer).
        fb_docs, fb_terms, original_weight: RM3's, as :class:`PseudoRelevanceFeedbackAgent`; the titles read are
            at most the env's ``results_per_search``.
    """

    def __init__(self, env: Any, fb_docs: int = 10, fb_terms: int = 10, original_weight: float = 0.5) -> None:
        self.prf = PseudoRelevanceFeedbackAgent(env, fb_docs, fb_terms, original_weight)

    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        return [self._act(obs, None if infos is None else infos[i]) for i, obs in enumerate(observations)]

    def _act(self, observation: str, info: dict | None) -> str:
        turns = search_turns(observation)
        if not turns:
            if info is None or "raw_query" not in info:
                raise ValueError("PRFSearchAgent's first turn needs the reset info (its 'raw_query')")
            return f"<search>{info['raw_query']}</search>"
        query, titles = turns[0]
        return as_answer(self.prf.action_for(query, self.prf.expansion(query, titles)))


def run_episode(agent: Any, env: gym.Env, options: dict | None = None) -> tuple[float, dict, int]:
    """Play one episode of a (multi-turn) env with ``agent.act``: ``(return, last step info, steps)``. The env
    bounds the episode (the agent env: ``max_searches + 1`` steps)."""
    obs, info = env.reset(options=options)
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = env.step(agent.act([obs], [info])[0])
        total, steps = total + float(reward), steps + 1
        if terminated or truncated:
            return total, info, steps
