"""Multi-turn GRPO rollouts on the search-agent env (``RecR1/*-Agent-v0``, :class:`~recgym.envs.SearchAgentEnv`).

One episode is one row of a :class:`~recgym.agents.hf_policy.Rollout`: the prompt is the first observation, rendered
as :meth:`HFPolicy.sample` renders it, and the "completion" is the policy's turns interleaved with the text the env
appended after each of them (a search's titles, an invalid turn's reminder), all as token ids::

    [prompt] [turn 1: "...<search>q</search>"] [env: "\\n<search>q</search>\\n<information>..."] [turn 2: "<answer>..."]

``completion_mask`` is 1 on the policy's sampled tokens and 0 on the env's and on padding: Search-R1's retrieved
token masking (Jin et al., arXiv 2503.09516, sec. 3.1), so :meth:`GRPOAgent.update` and the clipped loss train only
what the policy wrote while the log-probs still condition on everything it saw. The episode's return (search and
invalid turns earn 0, so the answer's reward) gets the usual group advantage.

Turns. Every turn is one batched ``generate`` over the episodes still running, continuing their token ids (the
context is never re-tokenized from text, so what is scored is exactly what was sampled). A turn ends at its first
complete ``<search>...</search>`` or ``<answer>...</answer>`` block (what :func:`~recgym.envs.agent_env.parse_turn`
acts on: Search-R1 stops generation at ``</search>`` / ``</answer>``), at a stop token, or at ``max_new_tokens``
tokens. Its decoded text is the action.

The env's text. The env never echoes the policy's text (its ``<think>``); each observation is the previous one plus
the env's rendering of the turn (for a search, ``<search>`` with the query as sent, then the titles). The rollout
checks that invariant (``new.startswith(old)``) and appends ``new[len(old):]`` verbatim: the policy's search block
is followed by the env's echo of the query actually searched (cut to 4,096 characters, characters outside the
observation space replaced), never a reformatted copy of the policy's text.

Driving the env: :class:`~recgym.agents.base.EpisodeBatch`, the loop :func:`recgym.agents.evaluate` plays every
agent's episodes with (only the vector env's public API: ``reset_mask`` resets, one ``venv.step`` per turn, finished
episodes never stepped again, the ``NEXT_STEP`` autoreset handled explicitly). The env's text since the policy's
last turn is appended just before its next one. Evaluating an LLM agent on the agent env plays its episodes here
too (:meth:`recgym.agents.llm.LLMAgent.episode_records`), so validation sees the context training did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from transformers import StoppingCriteria

from recgym.agents.base import EpisodeBatch
from recgym.agents.hf_policy import HFPolicy, Rollout, SamplingConfig
from recgym.envs.agent_env import parse_turn


@dataclass(frozen=True)
class Episodes:
    """``N`` multi-turn episodes, ``n`` per example (row ``i`` plays example ``i // n``).

    Attributes:
        rollout: Prompt and interleaved completion per episode; ``texts`` are the policy's turns, one per line.
        returns: ``[N]`` float32, the sum of the episode's rewards (the answer's reward, or the no-answer one).
        infos: The last step's info per episode, plus ``num_searches``, ``num_turns`` and ``answered``.
        cut: ``[N]`` bool: the last turn hit ``max_new_tokens`` without ending (DAPO's overlong samples).
        records: Each episode as a :func:`recgym.agents.evaluate` record (``index``, ``action``: the last turn,
            ``reward``: the return, the answer's metrics, ``num_searches``, ``num_turns``, ``answered``).
    """

    rollout: Rollout
    returns: torch.Tensor
    infos: list[dict[str, Any]]
    cut: torch.Tensor
    records: list[dict[str, Any]]


class _TurnEnd(StoppingCriteria):
    """Stops a row once its new text holds a complete search or answer block, and records how many tokens that
    took (rows stopped here are padded afterwards by ``generate``, which the caller cuts off)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer, self.start, self.ends = tokenizer, None, {}

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        if self.start is None:  # called after each new token: the first call sees one
            self.start = input_ids.shape[1] - 1
        length = input_ids.shape[1] - self.start
        for row in range(len(input_ids)):
            # a block is complete when its closing tag's ">" arrives: only then is the whole turn worth parsing
            if row not in self.ends and ">" in self.tokenizer.decode(input_ids[row, -1:]):
                text = self.tokenizer.decode(input_ids[row, self.start :], skip_special_tokens=True)
                if parse_turn(text)[0] != "invalid":
                    self.ends[row] = length
        return torch.tensor([row in self.ends for row in range(len(input_ids))], device=input_ids.device)


def play_episodes(
    policy: HFPolicy,
    venv: gym.vector.VectorEnv,
    indices: Sequence[int],
    n: int,
    sampling: SamplingConfig,
    split: str = "train",
    seed: int | None = None,
) -> Episodes:
    """Play ``n`` episodes of each example of ``split`` (sub-env ``j`` plays ``indices[j // n]``) to their ends."""
    num = venv.num_envs
    if len(indices) * n != num:
        raise ValueError(f"need a multi-turn agent vector env with {len(indices)} x {n} sub-envs, got {num}")
    batch = EpisodeBatch(venv, [indices[j // n] for j in range(num)], split, seed)
    first = batch.observations[::n]
    if any(batch.observations[j] != first[j // n] for j in range(num)):
        raise RuntimeError("sub-envs reset to the same example show different observations")
    tokenizer = policy.tokenizer
    prompts = tokenizer(policy.render(first), add_special_tokens=False)["input_ids"]

    pieces: list[list[tuple[list[int], bool]]] = [[] for _ in range(num)]  # (token ids, policy's?)
    contexts = [list(prompts[j // n]) for j in range(num)]
    cut = np.zeros(num, bool)

    def turn(running: list[int]) -> list[str]:
        for j in running:  # the env's text since the policy's last turn, verbatim
            if new_text := batch.new_text(j):
                env_ids = tokenizer(new_text, add_special_tokens=False)["input_ids"]
                pieces[j].append((env_ids, False))
                contexts[j] += env_ids
        stop = _TurnEnd(tokenizer)
        if not any(batch.turns):  # the first turn: each prompt once, its n rows share its cache
            new = policy.sample_from_ids(prompts, n=n, sampling=sampling, stop=stop)
        else:
            new = policy.sample_from_ids([contexts[j] for j in running], sampling=sampling, stop=stop)
        actions = []
        for row, j in enumerate(running):
            ids = new[row][: stop.ends.get(row, len(new[row]))]
            ended = row in stop.ends or bool(set(ids[-1:]) & set(policy.stop_ids))  # a block or a stop token
            cut[j] = not ended and len(ids) == sampling.max_new_tokens
            pieces[j].append((ids, True))
            contexts[j] += ids
            actions.append(tokenizer.decode(ids, skip_special_tokens=True).strip())
        return actions

    batch.play(turn)
    prompt_ids, prompt_mask = policy.align(prompts)
    width = max(sum(len(ids) for ids, _ in p) for p in pieces)
    completion_ids = torch.full((num, width), tokenizer.pad_token_id, dtype=torch.long)
    completion_mask = torch.zeros((num, width), dtype=torch.long)
    for j, parts in enumerate(pieces):
        at = 0
        for ids, sampled in parts:
            completion_ids[j, at : at + len(ids)] = torch.tensor(ids, dtype=torch.long)
            completion_mask[j, at : at + len(ids)] = int(sampled)
            at += len(ids)
    device = policy.model.device
    rollout = Rollout(
        prompt_ids.repeat_interleave(n, dim=0),
        prompt_mask.repeat_interleave(n, dim=0),
        completion_ids.to(device),
        completion_mask.to(device),
        ["\n".join(t) for t in batch.turns],
    )
    returns = torch.from_numpy(batch.returns.astype(np.float32))
    return Episodes(rollout, returns, batch.episode_infos(), torch.from_numpy(cut), batch.records())


__all__ = ["Episodes", "play_episodes"]
