"""What every agent is (``Agent``), how one is scored on a split (``evaluate``), and how agents are saved and found
again (``agent.json``). Agents see envs only through the Gymnasium API: ``reset``/``step`` and ``num_examples``.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from recgym.envs.vector_env import unbatch_infos

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
    """Run every example of ``split`` (or the first ``max_examples``) once through ``reset``/``step``.

    With a vector env, each batch is one ``reset(options={"indices": ..., "split": split})`` and one ``step``
    (``num_envs`` examples at a time; the last batch is padded by repeating its last example and the extras are
    dropped). With a single env, ``batch_size`` observations are collected by ``reset`` and acted on together, then
    each example is reset again and stepped with its action (reset is deterministic given the index).

    Returns:
        The mean of each metric info key the env reports (``ndcg@10``, ``ndcg@50``, ``ndcg@100``, ``recall@10``,
        ``recall@50``, ``recall@100``, ``format_ok``) and of ``reward``, plus ``num_examples``, ``split`` and
        ``records`` (per example: ``index``, ``example_id``, ``action``, ``query``, ``reward`` and the metrics).
    """
    total = env.unwrapped.num_examples(split)
    count = total if max_examples is None else min(total, max_examples)
    if count == 0:
        raise ValueError(f"split {split!r} has no examples to evaluate")
    step_batch = _vector_batch if _is_vector(env) else _single_batch
    width = env.num_envs if _is_vector(env) else batch_size
    records: list[dict[str, Any]] = []
    for start in range(0, count, width):
        indices = list(range(start, min(start + width, count)))
        records.extend(step_batch(agent, env, split, indices))
    keys = [k for k in (*METRIC_KEYS, "reward") if all(k in r for r in records)]
    means = {k: float(np.mean([float(r[k]) for r in records])) for k in keys}
    return {**means, "num_examples": count, "split": split, "records": records}


def _record(index: int, action: str, reward: float, info: dict[str, Any]) -> dict[str, Any]:
    keep = {k: info[k] for k in ("example_id", "query", *METRIC_KEYS) if k in info}
    return {"index": index, "action": action, "reward": float(reward), **keep}


def _vector_batch(agent: Agent, venv: Any, split: str, indices: Sequence[int]) -> list[dict[str, Any]]:
    padded = list(indices) + [indices[-1]] * (venv.num_envs - len(indices))
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
