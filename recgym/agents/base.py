"""What every agent is (``Agent``), how one is scored on a split (``evaluate``) and compared with another on the same
examples (``compare``), and how agents are saved and found again (``agent.json``). Agents see envs only through the
Gymnasium API: ``reset``/``step`` (a split's size is the ``split_size`` of its reset info).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym

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
    """Run every example of ``split`` (or the first ``max_examples``) once through ``reset``/``step``.

    With a vector env, each batch is one ``reset(options={"indices": ..., "split": split})`` and one ``step``
    (``num_envs`` examples at a time; the last batch is padded by repeating its last example and the extras are
    dropped). With a single env, ``batch_size`` observations are collected by ``reset`` and acted on together, then
    each example is reset again and stepped with its action (reset is deterministic given the index).

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
    step_batch = _vector_batch if _is_vector(env) else _single_batch
    width = env.num_envs if _is_vector(env) else batch_size
    records: list[dict[str, Any]] = []
    for start in range(0, count, width):
        indices = list(range(start, min(start + width, count)))
        records.extend(step_batch(agent, env, split, indices))
    keys = [k for k in (*METRIC_KEYS, "reward") if all(k in r for r in records)]
    estimates = {k: mean_ci([float(r[k]) for r in records]) for k in keys}
    means = {k: mean for k, (mean, _, _) in estimates.items()}
    ci = {k: [lo, hi] for k, (_, lo, hi) in estimates.items()}
    return {**means, "ci": ci, "num_examples": count, "split": split, "records": records}


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
