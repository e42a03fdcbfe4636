"""Supervised data for the multi-turn search-agent env (``RecR1/*-Agent-v0``): a scripted agent's whole episodes.

A small instruct model does not follow the env's tool protocol zero-shot (SmolLM2-135M: 227 of 228 test episodes
never answer, docs/results.md), so multi-turn GRPO from it sees no reward spread. A *format* warm start fixes that
without labels: imitate the episodes of a label-free scripted agent, by default pseudo-relevance feedback as turns
(:class:`~recgym.agents.PRFSearchAgent`: search the raw query, answer with words read in the titles). Each episode
becomes one :class:`~recgym.agents.sft.SFTPair` whose completion is its segments in order, the agent's turns
trained and the env's text (the titles) only in the context, as GRPO's multi-turn loss masks it (Search-R1,
arXiv 2503.09516 sec. 3.1). The rewards of these episodes are never read: this is imitation of a black-box
procedure, not of ground truth (contrast :func:`~recgym.agents.sft.pairs_from_env`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from recgym.agents.base import EpisodeBatch, pad_indices, split_size
from recgym.agents.sft.pairs import SFTPair


def transcripts_from_agent(
    agent: Any, venv: gym.vector.VectorEnv, split: str = "train", max_examples: int | None = None
) -> list[SFTPair]:
    """One pair per example of ``split`` (the first ``max_examples``): the first observation as the prompt, and
    ``agent``'s episode as ``(text, trained)`` segments: its turns (``True``) and the text the env appended after
    each (``False``). Played ``venv.num_envs`` episodes at a time through :class:`~recgym.agents.base.EpisodeBatch`
    (``agent.act`` gets the running episodes' observations and last infos)."""
    total = split_size(venv, split)
    count = total if max_examples is None else min(max_examples, total)
    pairs: list[SFTPair] = []
    for start in range(0, count, venv.num_envs):
        indices = list(range(start, min(start + venv.num_envs, count)))
        batch = EpisodeBatch(venv, pad_indices(indices, venv.num_envs), split)
        prompts = list(batch.observations)
        segments: list[list[tuple[str, bool]]] = [[] for _ in range(venv.num_envs)]

        def act(running: list[int], batch: EpisodeBatch = batch, segments: list = segments) -> list[str]:
            for j in running:
                if new := batch.new_text(j):
                    segments[j].append((new, False))
            actions = [str(a) for a in agent.act([batch.observations[j] for j in running],
                                                 [batch.infos[j] for j in running])]
            for j, action in zip(running, actions):
                segments[j].append((action, True))
            return actions

        batch.play(act)
        pairs += [SFTPair(prompts[j], tuple(segments[j])) for j in range(len(indices))]
    return pairs


__all__ = ["transcripts_from_agent"]
