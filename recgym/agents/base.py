"""What every agent is (``Agent``), how one is scored on a split (``evaluate``) and compared with another on the same
examples (``compare``), and how agents are saved and found again (``agent.json``). Agents see envs only through the
Gymnasium API: ``reset``/``step`` (a split's size is the ``split_size`` of its reset info).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from recgym.envs.vector_env import unbatch_infos
from recgym.stats import excludes_zero, mean_ci, paired_diff_ci

# Info keys averaged by evaluate() (whichever the env reports), plus the reward itself.
METRIC_KEYS: tuple[str, ...] = ("ndcg@10", "ndcg@50", "ndcg@100", "recall@10", "recall@50", "recall@100", "format_ok")
AGENT_FILE = "agent.json"


@runtime_checkable
class Agent(Protocol):
    """Maps a batch of observations (prompt texts) to actions (texts).

    ``infos`` are the matching ``reset`` infos (``raw_action``, ``example_id``, ...); agents that need nothing but
    the prompt ignore them.
    """

    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]: ...

    def save(self, directory: str | os.PathLike[str]) -> None: ...

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Agent: ...


# ------------------------------------------------------------------------------------------------ persistence
def write_agent_file(directory: str | os.PathLike[str], agent: object, **params: Any) -> Path:
    """Write ``agent.json`` naming the agent's class and its parameters; returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cls = type(agent)
    record = {"class": f"{cls.__module__}.{cls.__qualname__}", "params": params}
    (directory / AGENT_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return directory


def read_agent_file(directory: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """``(class path, params)`` from a saved agent's ``agent.json``."""
    path = Path(directory) / AGENT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {directory} is not a saved recgym agent")
    record = json.loads(path.read_text())
    return record["class"], record.get("params", {})


def load_agent(directory: str | os.PathLike[str], **kwargs: Any) -> Agent:
    """Load whatever agent was saved in ``directory`` (its class is recorded in ``agent.json``)."""
    class_path, _ = read_agent_file(directory)
    module_name, _, name = class_path.rpartition(".")
    if not module_name.startswith("recgym."):
        raise ValueError(f"refusing to load agent class {class_path!r} from outside recgym")
    cls = getattr(importlib.import_module(module_name), name)
    return cls.load(directory, **kwargs)


# ------------------------------------------------------------------------------------------------ evaluation
def _is_vector(env: Any) -> bool:
    return isinstance(env, gym.vector.VectorEnv)


def evaluate(
    agent: Agent,
    env: gym.Env | gym.vector.VectorEnv,
    split: str = "test",
    batch_size: int = 16,
    max_examples: int | None = None,
) -> dict[str, Any]:
    """Run every example of ``split`` (or the first ``max_examples``) once through ``reset``/``step``: one step per
    example on a single-step env, the whole episode on a multi-turn one.

    With a vector env, each batch is one ``reset(options={"indices": ..., "split": split})`` and one ``step``
    (``num_envs`` examples at a time; the last batch is padded by repeating its last example and the extras are
    dropped). With a single env, ``batch_size`` observations are collected by ``reset`` and acted on together, then
    each example is reset again and stepped with its action (reset is deterministic given the index).

    On a multi-turn search-agent env (``RecR1/*-Agent-v0``: :func:`search_budget` is not ``None``) each example is
    played as a WHOLE episode (:class:`EpisodeBatch`): ``num_envs`` episodes at a time advance together, one
    ``agent.act`` per turn over the episodes still running (each with its current observation, the transcript, and
    the info the env last returned for it: the reset info on the first turn), until every one has answered or spent
    its budget. An agent with an ``episode_records(venv, indices, split)`` method plays the episodes itself instead
    (the LLM agents: the context they were trained in, :meth:`recgym.agents.llm.LLMAgent.episode_records`). A
    single env is played one episode at a time (a one-env ``SyncVectorEnv`` around it; ``batch_size`` is unused).
    ``reward`` is then the episode's return (the answer's reward; an episode that never answers gets the env's
    no-answer reward and 0 for every metric), each record adds ``num_searches``, ``num_turns`` and ``answered``
    and its ``action`` is the last turn (the answer, when there is one), and the result adds the means
    ``searches_per_episode``, ``turns_per_episode`` and ``no_answer_frac`` (:func:`episode_metrics`).

    Returns:
        The mean of each metric info key the env reports (``ndcg@10``, ``ndcg@50``, ``ndcg@100``, ``recall@10``,
        ``recall@50``, ``recall@100``, ``format_ok``) and of ``reward``; ``ci``: each of those keys -> ``[lo, hi]``,
        its 95% bootstrap interval over examples (:func:`recgym.stats.mean_ci`: BCa, 2,000 resamples, seed 0, so
        reruns give the same interval); plus ``num_examples``, ``split`` and ``records`` (per example: ``index``,
        ``example_id``, ``action``, ``query``, ``reward`` and the metrics), which :func:`compare` pairs.
    """
    total = split_size(env, split)
    count = total if max_examples is None else min(total, max_examples)
    if count == 0:
        raise ValueError(f"split {split!r} has no examples to evaluate")
    multi_turn = search_budget(env) is not None
    if multi_turn and not _is_vector(env):
        env = gym.vector.SyncVectorEnv([lambda e=env: e])  # the same env object, stepped through the vector API
    step_batch = _episode_batch if multi_turn else _vector_batch if _is_vector(env) else _single_batch
    width = env.num_envs if _is_vector(env) else batch_size
    records: list[dict[str, Any]] = []
    for start in range(0, count, width):
        indices = list(range(start, min(start + width, count)))
        records.extend(step_batch(agent, env, split, indices))
    return {**summarize(records), **episode_metrics(records), "num_examples": count, "split": split,
            "records": records}


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each metric every record has (:data:`METRIC_KEYS` and ``reward``) -> its mean over the records, plus ``ci``
    (metric -> ``[lo, hi]``, :func:`recgym.stats.mean_ci`): the averages an :func:`evaluate` result carries."""
    keys = [k for k in (*METRIC_KEYS, "reward") if all(k in r for r in records)]
    estimates = {k: mean_ci([float(r[k]) for r in records]) for k in keys}
    return {**{k: mean for k, (mean, _, _) in estimates.items()},
            "ci": {k: [lo, hi] for k, (_, lo, hi) in estimates.items()}}


def split_size(env: gym.Env | gym.vector.VectorEnv, split: str) -> int:
    """Examples in ``split``: the ``split_size`` of the info of ``reset(options={"split": split, "index": 0})``
    (the agent contract is plain ``reset``/``step``); 0 for an empty or unknown split. Leaves ``env`` reset."""
    try:
        _, info = env.reset(options={"split": split, "index": 0})
    except (KeyError, ValueError, IndexError):  # envs raise for an empty or unknown split
        return 0
    size = info["split_size"]
    return int(size[0] if _is_vector(env) else size)


def compare(result_a: dict[str, Any], result_b: dict[str, Any]) -> dict[str, Any]:
    """The paired difference ``a - b`` of two :func:`evaluate` results on the same examples.

    Every metric both results average (the keys of their ``ci``) is compared example by example: the difference is
    the mean of the per-example differences, its interval the paired bootstrap (:func:`recgym.stats.paired_diff_ci`,
    95%, seeded). A result compared with itself gives exactly 0 with interval ``[0, 0]``.

    Returns:
        Like an ``evaluate`` result: each metric -> the mean difference, ``ci`` (metric -> ``[lo, hi]``),
        ``excludes_zero`` (metric -> whether the interval lies wholly above or below 0) and ``n`` (examples paired).

    Raises:
        ValueError: if either result lacks ``records``, or the records are not the same examples in the same order
            (the message names the first position where the example ids differ, or the two lengths).
    """
    records_a, records_b = _paired_records(result_a, result_b)
    keys = [k for k in result_a.get("ci", {}) if k in result_b.get("ci", {})]
    estimates = {
        k: paired_diff_ci([float(r[k]) for r in records_a], [float(r[k]) for r in records_b]) for k in keys
    }
    return {
        **{k: diff for k, (diff, _, _) in estimates.items()},
        "ci": {k: [lo, hi] for k, (_, lo, hi) in estimates.items()},
        "excludes_zero": {k: excludes_zero(lo, hi) for k, (_, lo, hi) in estimates.items()},
        "n": len(records_a),
    }


def _paired_records(result_a: dict[str, Any], result_b: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """Both results' records, checked to be the same examples in the same order."""
    if "records" not in result_a or "records" not in result_b:
        raise ValueError("compare needs evaluate() results with their per-example 'records'")
    records_a, records_b = result_a["records"], result_b["records"]
    for position, (ra, rb) in enumerate(zip(records_a, records_b)):
        id_a, id_b = ra.get("example_id", ra.get("index")), rb.get("example_id", rb.get("index"))
        if id_a != id_b:
            raise ValueError(f"cannot pair results: example {position} is {id_a!r} in the first and {id_b!r} in the "
                             "second (compare needs the same examples in the same order)")
    if len(records_a) != len(records_b):
        raise ValueError(f"cannot pair results of different lengths: {len(records_a)} vs {len(records_b)} examples")
    return records_a, records_b


def _record(index: int, action: str, reward: float, info: dict[str, Any]) -> dict[str, Any]:
    keep = {k: info[k] for k in ("example_id", "query", *METRIC_KEYS) if k in info}
    return {"index": index, "action": action, "reward": float(reward), **keep}


def pad_indices(indices: Sequence[int], width: int) -> list[int]:
    """``indices`` padded to ``width`` by repeating the last one (the extras' results are dropped)."""
    return list(indices) + [indices[-1]] * (width - len(indices))


def _vector_batch(agent: Agent, venv: Any, split: str, indices: Sequence[int]) -> list[dict[str, Any]]:
    padded = pad_indices(indices, venv.num_envs)
    obs, infos = venv.reset(options={"indices": padded, "split": split})
    reset_infos = unbatch_infos(infos, venv.num_envs)
    actions = list(agent.act(list(obs), reset_infos))
    _, rewards, _, _, step_infos = venv.step(actions)
    step_infos = unbatch_infos(step_infos, venv.num_envs)
    return [_record(i, actions[j], rewards[j], step_infos[j]) for j, i in enumerate(indices)]


def _single_batch(agent: Agent, env: gym.Env, split: str, indices: Sequence[int]) -> list[dict[str, Any]]:
    resets = [env.reset(options={"index": i, "split": split}) for i in indices]
    actions = list(agent.act([obs for obs, _ in resets], [info for _, info in resets]))
    records = []
    for i, action in zip(indices, actions):
        env.reset(options={"index": i, "split": split})
        _, reward, _, _, info = env.step(action)
        records.append(_record(i, action, reward, info))
    return records


# ------------------------------------------------------------------------------------------------ multi-turn
def search_budget(env: gym.Env | gym.vector.VectorEnv) -> int | None:
    """``max_searches`` of a multi-turn search-agent env, single or vector, wrapped or not (the env's public
    attribute, read with the vector env's ``get_attr`` or a wrapped env's ``get_wrapper_attr``); ``None`` for a
    single-step env."""
    try:
        if _is_vector(env):
            budgets = set(env.unwrapped.get_attr("max_searches"))
        else:
            budgets = {env.get_wrapper_attr("max_searches")}
    except AttributeError:  # no such attribute, or a vector env without get_attr (recgym's single-step one)
        return None
    if len(budgets) != 1:
        raise ValueError(f"the sub-envs have different search budgets {sorted(budgets)}")
    return int(budgets.pop())


def episode_metrics(infos: Sequence[dict[str, Any]]) -> dict[str, float]:
    """``searches_per_episode``, ``turns_per_episode`` and ``no_answer_frac`` (episodes that spent the budget
    without answering: the env truncated them) of episode infos or records (their ``num_searches``, ``num_turns``
    and ``answered``, as :class:`EpisodeBatch` reports them); ``{}`` for single-step ones."""
    if not infos or not all("num_searches" in i for i in infos):
        return {}
    return {
        "searches_per_episode": float(sum(i["num_searches"] for i in infos) / len(infos)),
        "turns_per_episode": float(sum(i["num_turns"] for i in infos) / len(infos)),
        "no_answer_frac": float(sum(not i["answered"] for i in infos) / len(infos)),
    }


class EpisodeBatch:
    """One episode per sub-env of a multi-turn vector env (sub-env ``j`` plays example ``indices[j]`` of
    ``split``), all advanced a turn at a time by :meth:`step` (or to their ends by :meth:`play`).

    Only the vector env's public API: each sub-env is reset to its example with Gymnasium's ``reset_mask`` (the
    agent env takes one ``index``, not a vector ``indices``); every turn is one ``venv.step``. That steps every
    sub-env, so a finished episode gets the empty action and what comes back for it is ignored: under the
    ``NEXT_STEP`` autoreset (``gym.make_vec``'s, the only mode accepted) the step after its end is the reset (the
    action unused), and each later one an invalid turn of that discarded new episode, which neither searches nor
    scores; there are fewer than ``max_searches`` of them, so it cannot end either. The env bounds an episode to
    ``max_searches + 1`` steps.

    Attributes:
        observations: Each episode's current observation (its last one once it has ended).
        infos: The info the env last returned for each episode (the reset info before its first turn).
        turns: Each episode's actions so far.
        returns, searches: ``[num_envs]`` sums of the rewards and the search turns.
        done, answered: ``[num_envs]`` bool: the episode ended; it ended with an answer (terminated).
    """

    def __init__(self, venv: gym.vector.VectorEnv, indices: Sequence[int], split: str, seed: int | None = None):
        self.venv, self.budget, num = venv, search_budget(venv), venv.num_envs
        if self.budget is None or len(indices) != num:
            raise ValueError(f"need a multi-turn agent vector env with {len(indices)} sub-envs, got {num}")
        mode = venv.metadata.get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP)
        if mode != gym.vector.AutoresetMode.NEXT_STEP:
            raise ValueError(f"episodes are played under the NEXT_STEP autoreset (gym.make_vec's), not {mode}")
        self.indices, self.split = [int(i) for i in indices], split
        self.observations: list[str] = []
        self.infos: list[dict[str, Any]] = []
        for j, index in enumerate(self.indices):  # one sub-env at a time: the agent env's reset takes one `index`
            mask = np.arange(num) == j
            obs, infos = venv.reset(seed=seed, options={"index": index, "split": split, "reset_mask": mask})
            self.observations.append(str(obs[j]))
            self.infos.append(unbatch_infos(infos, num)[j])
        self._seen = list(self.observations)  # what new_text has handed out per episode
        self.turns: list[list[str]] = [[] for _ in range(num)]
        self.returns, self.searches = np.zeros(num, np.float64), np.zeros(num, np.int64)
        self.done, self.answered = np.zeros(num, bool), np.zeros(num, bool)

    def running(self) -> list[int]:
        """The sub-envs whose episodes have not ended."""
        return np.flatnonzero(~self.done).tolist()

    def new_text(self, j: int) -> str:
        """What the env appended to episode ``j``'s observation since the last call (``""`` on the first: the first
        observation is the prompt). The agent env only ever appends (it never echoes the agent's own text), so an
        agent that keeps its context as text or token ids extends it with exactly this."""
        observation = self.observations[j]
        if not observation.startswith(self._seen[j]):
            raise RuntimeError("the agent env's observation does not extend the previous one")
        new, self._seen[j] = observation[len(self._seen[j]) :], observation
        return new

    def step(self, actions: Sequence[str]) -> None:
        """One turn: ``actions`` are the running episodes' (in :meth:`running`'s order)."""
        running, num = self.running(), self.venv.num_envs
        if len(actions) != len(running):
            raise ValueError(f"{len(running)} episodes are running, got {len(actions)} actions")
        full = [""] * num  # finished episodes: see the class docstring
        for j, action in zip(running, actions):
            full[j] = str(action)
            self.turns[j].append(full[j])
        obs, rewards, terminated, truncated, step_infos = self.venv.step(full)
        step_infos = unbatch_infos(step_infos, num)
        for j in running:
            self.returns[j] += float(rewards[j])
            self.searches[j] += step_infos[j].get("action_kind") == "search"
            self.infos[j] = step_infos[j]
            if terminated[j] or truncated[j]:
                self.done[j], self.answered[j] = True, bool(terminated[j])
            else:
                self.observations[j] = str(obs[j])

    def play(self, act: Callable[[list[int]], Sequence[str]]) -> EpisodeBatch:
        """Every episode to its end: each turn, ``act(running sub-envs)`` gives their actions."""
        for _ in range(self.budget + 1):  # the env ends every episode within max_searches + 1 steps
            if running := self.running():
                self.step(act(running))
        if not self.done.all():
            raise RuntimeError(f"episodes still running after max_searches + 1 = {self.budget + 1} turns")
        return self

    def episode_infos(self) -> list[dict[str, Any]]:
        """Each episode's last step info, plus ``num_searches``, ``num_turns`` and ``answered``."""
        return [
            {**info, "num_searches": int(self.searches[j]), "num_turns": len(self.turns[j]),
             "answered": bool(self.answered[j])}
            for j, info in enumerate(self.infos)
        ]  # fmt: skip

    def records(self) -> list[dict[str, Any]]:
        """Each episode as an :func:`evaluate` record: ``action`` is its last turn (the answer, if any), ``reward``
        its return; an episode with no answer scores 0 on every metric."""
        records = []
        for j, info in enumerate(self.episode_infos()):
            record = _record(self.indices[j], self.turns[j][-1] if self.turns[j] else "", self.returns[j], info)
            record.update({k: info[k] for k in ("num_searches", "num_turns", "answered")})
            if not record["answered"]:
                record.update({k: 0.0 for k in METRIC_KEYS})
            records.append(record)
        return records


def _episode_batch(agent: Agent, venv: Any, split: str, indices: Sequence[int]) -> list[dict[str, Any]]:
    padded = pad_indices(indices, venv.num_envs)
    if callable(own := getattr(agent, "episode_records", None)):  # an agent that plays its episodes itself
        return list(own(venv, padded, split))[: len(indices)]
    batch = EpisodeBatch(venv, padded, split)
    batch.play(lambda running: agent.act([batch.observations[j] for j in running], [batch.infos[j] for j in running]))
    return batch.records()[: len(indices)]
