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

Driving the env. Only the vector env's public API: ``get_attr("max_searches")`` says the env is multi-turn (the
budget bounds an episode to ``max_searches + 1`` steps); each sub-env is reset to its example with Gymnasium's
``reset_mask`` option (the agent env takes ``index``, not a vector ``indices``); every turn is one ``venv.step``.
The vector env steps all its sub-envs, so an episode that has ended is never stepped again by construction of the
loop: the step after its end is the ``NEXT_STEP`` autoreset (a reset; the action is ignored), and any later turn
steps that discarded new episode with an empty action, an invalid turn that neither searches nor scores (fewer than
``max_searches`` of them, so it cannot end it either). Their observations and rewards are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from transformers import StoppingCriteria

from recgym.agents.base import METRIC_KEYS
from recgym.agents.hf_policy import HFPolicy, Rollout, SamplingConfig
from recgym.envs.agent_env import parse_turn
from recgym.envs.vector_env import unbatch_infos
from recgym.stats import mean_ci


def search_budget(venv: gym.vector.VectorEnv) -> int | None:
    """``max_searches`` of a multi-turn agent vector env (the sub-envs' public attribute, read with the vector
    env's ``get_attr``); ``None`` for a single-step env."""
    get_attr = getattr(venv, "get_attr", None)
    if get_attr is None:
        return None
    try:
        budgets = set(get_attr("max_searches"))
    except AttributeError:
        return None
    if len(budgets) != 1:
        raise ValueError(f"the sub-envs have different search budgets {sorted(budgets)}")
    return int(budgets.pop())


@dataclass(frozen=True)
class Episodes:
    """``N`` multi-turn episodes, ``n`` per example (row ``i`` plays example ``i // n``).

    Attributes:
        rollout: Prompt and interleaved completion per episode; ``texts`` are the policy's turns, one per line.
        returns: ``[N]`` float32, the sum of the episode's rewards (the answer's reward, or the no-answer one).
        infos: The last step's info per episode, plus ``num_searches``, ``num_turns`` and ``answered``.
        cut: ``[N]`` bool: the last turn hit ``max_new_tokens`` without ending (DAPO's overlong samples).
    """

    rollout: Rollout
    returns: torch.Tensor
    infos: list[dict[str, Any]]
    cut: torch.Tensor


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
    budget = search_budget(venv)
    num = venv.num_envs
    if budget is None or len(indices) * n != num:
        raise ValueError(f"need a multi-turn agent vector env with {len(indices)} x {n} sub-envs, got {num}")
    observations: list[str] = [""] * num
    for j in range(num):  # one sub-env at a time: the agent env's reset takes one `index`
        mask = np.arange(num) == j
        obs, _ = venv.reset(seed=seed, options={"index": int(indices[j // n]), "split": split, "reset_mask": mask})
        observations[j] = str(obs[j])
    first = observations[::n]
    if any(observations[j] != first[j // n] for j in range(num)):
        raise RuntimeError("sub-envs reset to the same example show different observations")
    tokenizer = policy.tokenizer
    prompts = tokenizer(policy.render(first), add_special_tokens=False)["input_ids"]

    pieces: list[list[tuple[list[int], bool]]] = [[] for _ in range(num)]  # (token ids, policy's?)
    contexts = [list(prompts[j // n]) for j in range(num)]
    turns: list[list[str]] = [[] for _ in range(num)]
    returns, searches = np.zeros(num, np.float32), np.zeros(num, np.int64)
    infos: list[dict[str, Any]] = [{} for _ in range(num)]
    done, answered, cut = np.zeros(num, bool), np.zeros(num, bool), np.zeros(num, bool)
    for turn in range(budget + 1):  # the env ends every episode within max_searches + 1 steps
        running = np.flatnonzero(~done).tolist()
        if not running:
            break
        stop = _TurnEnd(tokenizer)
        if turn == 0:  # every sub-env runs: each prompt once, its n rows share its cache
            new = policy.sample_from_ids(prompts, n=n, sampling=sampling, stop=stop)
        else:
            new = policy.sample_from_ids([contexts[j] for j in running], sampling=sampling, stop=stop)
        actions = [""] * num  # finished episodes: see the module docstring
        for row, j in enumerate(running):
            ids = new[row][: stop.ends.get(row, len(new[row]))]
            ended = row in stop.ends or bool(set(ids[-1:]) & set(policy.stop_ids))  # a block or a stop token
            cut[j] = not ended and len(ids) == sampling.max_new_tokens
            pieces[j].append((ids, True))
            contexts[j] += ids
            actions[j] = tokenizer.decode(ids, skip_special_tokens=True).strip()
            turns[j].append(actions[j])
        obs, rewards, terminated, truncated, step_infos = venv.step(actions)
        step_infos = unbatch_infos(step_infos, num)
        for j in running:
            returns[j] += float(rewards[j])
            searches[j] += step_infos[j].get("action_kind") == "search"
            if terminated[j] or truncated[j]:
                done[j], answered[j], infos[j] = True, bool(terminated[j]), step_infos[j]
                continue
            if not str(obs[j]).startswith(observations[j]):
                raise RuntimeError("the agent env's observation does not extend the previous one")
            env_ids = tokenizer(str(obs[j])[len(observations[j]) :], add_special_tokens=False)["input_ids"]
            observations[j] = str(obs[j])
            pieces[j].append((env_ids, False))
            contexts[j] += env_ids
    if not done.all():
        raise RuntimeError(f"episodes still running after max_searches + 1 = {budget + 1} turns")

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
        ["\n".join(t) for t in turns],
    )
    for j, info in enumerate(infos):
        info.update(num_searches=int(searches[j]), num_turns=len(turns[j]), answered=bool(answered[j]))
    return Episodes(rollout, torch.from_numpy(returns), infos, torch.from_numpy(cut))


def episode_metrics(infos: Sequence[dict[str, Any]]) -> dict[str, float]:
    """``searches_per_episode``, ``turns_per_episode`` and ``no_answer_frac`` (episodes that spent the budget
    without answering: the env truncated them) of :func:`play_episodes`'s infos; ``{}`` for single-step infos."""
    if not infos or not all("num_searches" in i for i in infos):
        return {}
    return {
        "searches_per_episode": float(np.mean([i["num_searches"] for i in infos])),
        "turns_per_episode": float(np.mean([i["num_turns"] for i in infos])),
        "no_answer_frac": float(np.mean([not i["answered"] for i in infos])),
    }


def evaluate_episodes(
    policy: HFPolicy,
    venv: gym.vector.VectorEnv,
    sampling: SamplingConfig,
    split: str,
    num_examples: int,
) -> dict[str, Any]:
    """The first ``num_examples`` of ``split`` played as whole episodes, ``venv.num_envs`` at a time (the last
    batch repeats its last example; the extras are dropped): the mean return (``reward``) and each metric the
    answers report, with ``ci`` (95% bootstrap intervals, as :func:`recgym.agents.evaluate`), plus
    :func:`episode_metrics`."""
    returns: list[float] = []
    infos: list[dict[str, Any]] = []
    for start in range(0, num_examples, venv.num_envs):
        batch = list(range(start, min(start + venv.num_envs, num_examples)))
        played = play_episodes(policy, venv, batch + [batch[-1]] * (venv.num_envs - len(batch)), 1, sampling, split)
        returns += played.returns[: len(batch)].tolist()
        infos += played.infos[: len(batch)]
    values = {"reward": returns, **{k: [float(i.get(k, 0.0)) for i in infos] for k in METRIC_KEYS}}
    estimates = {k: mean_ci(v) for k, v in values.items()}
    return {
        **{k: mean for k, (mean, _, _) in estimates.items()},
        "ci": {k: [lo, hi] for k, (_, lo, hi) in estimates.items()},
        **episode_metrics(infos),
        "num_examples": num_examples,
    }


__all__ = ["Episodes", "episode_metrics", "evaluate_episodes", "play_episodes", "search_budget"]
