"""verl on recgym envs: a custom reward function (``custom_reward_function.path`` / ``.name`` in verl's config) and
the rows of a verl RL parquet file.

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info)`` once per response (the default
"naive" reward manager) or ``compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos)`` once
per batch (the "batch" reward manager; one recommender search per split). Both score through the env's own
``reset``/``step``, so the reward is exactly the env's.

``extra_info`` keys (what :func:`make_verl_rows` writes):

==============  ========================================================================================
``env_id``      registered recgym id, e.g. ``"RecR1/Shop-BM25-v0"``; when absent, ``data_source`` is used
``env_kwargs``  keyword arguments of ``gym.make`` (``reward``, ``k``, ``dataset_kwargs``, ``data_dir``...),
                a dict or its JSON string (the rows store JSON: parquet cannot hold an empty struct); optional
``split``       ``"train"``/``"val"``/``"test"``
``index``       the example's index in that split
==============  ========================================================================================

``ground_truth`` is the example's ``example_id`` (verl's ``reward_model.ground_truth``); when non-empty it is checked
against the env's example at ``(split, index)``. The labels themselves stay inside the env. Envs are built once per
``(env_id, env_kwargs)`` and cached for the process (verl may run reward workers in several processes: each builds
its own). Scoring holds a lock, so threads may share the cache.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from recgym.envs.task import Task
from recgym.integrations._envs import score_rows, task_for

_TASKS: dict[tuple[str, str], Task] = {}
_LOCK = threading.RLock()


def _kwargs(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, Mapping):
        raise TypeError(f"extra_info['env_kwargs'] must be a dict or a JSON object string, got {type(value).__name__}")
    return dict(value)


def task_for_id(env_id: str, env_kwargs: Mapping[str, Any] | str | None = None) -> Task:
    """The cached task (dataset + indexed recommender + reward) of ``(env_id, env_kwargs)``."""
    kwargs = _kwargs(env_kwargs)
    key = (env_id, json.dumps(kwargs, sort_keys=True, default=str))
    with _LOCK:
        if key not in _TASKS:
            _TASKS[key] = task_for(env_id, kwargs)
        return _TASKS[key]


def clear_cache() -> None:
    """Drop every cached env."""
    with _LOCK:
        _TASKS.clear()


def _parse(data_source: str, extra_info: Mapping[str, Any] | None) -> tuple[str, dict[str, Any], str, int]:
    info = dict(extra_info or {})
    missing = [k for k in ("split", "index") if k not in info]
    if missing:
        raise KeyError(
            f"extra_info lacks {missing}; recgym's compute_score needs env_id (or data_source), split and index "
            "(build the rows with recgym.integrations.verl.make_verl_rows)"
        )
    env_id = info.get("env_id") or data_source
    if not env_id:
        raise KeyError("extra_info has no env_id and data_source is empty: which recgym env scores this?")
    return str(env_id), _kwargs(info.get("env_kwargs")), str(info["split"]), int(info["index"])


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str | None = None,
    extra_info: Mapping[str, Any] | None = None,
    **_: Any,
) -> float:
    """The env's reward for ``solution_str`` on the example ``extra_info`` names (see the module docstring)."""
    return compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info])[0]


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[str | None],
    extra_infos: Sequence[Mapping[str, Any] | None],
    **_: Any,
) -> list[float]:
    """Rewards of a batch, grouped by env: one ``Task.score`` (one recommender search) per env."""
    n = len(solution_strs)
    if not (len(data_sources) == len(ground_truths) == len(extra_infos) == n):
        raise ValueError("data_sources, solution_strs, ground_truths and extra_infos must have the same length")
    parsed = [_parse(d, e) for d, e in zip(data_sources, extra_infos)]
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (env_id, kwargs, _, _) in enumerate(parsed):
        groups.setdefault((env_id, json.dumps(kwargs, sort_keys=True, default=str)), []).append(i)
    out = [0.0] * n
    for (env_id, kwargs_json), rows in groups.items():
        task = task_for_id(env_id, kwargs_json)
        ids = [ground_truths[i] for i in rows]
        check = None if any(g in (None, "") for g in ids) else [str(g) for g in ids]
        with _LOCK:
            rewards, _ = score_rows(
                task,
                [str(solution_strs[i]) for i in rows],
                [parsed[i][2] for i in rows],
                [parsed[i][3] for i in rows],
                check,
            )
        for i, r in zip(rows, rewards):
            out[i] = r
    return out


def make_verl_rows(
    env_id: str,
    split: str = "train",
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    system_prompt: str | None = None,
    max_examples: int | None = None,
    ability: str = "recommendation",
) -> list[dict[str, Any]]:
    """Rows of a verl RL dataset (write them with ``pandas.DataFrame(rows).to_parquet(path)``): ``data_source``
    (the env id), ``prompt`` (chat messages), ``ability``, ``reward_model`` (``{"style": "rule", "ground_truth":
    example_id}``) and ``extra_info`` (``env_id``, ``env_kwargs`` as JSON, ``split``, ``index``)."""
    from recgym.integrations.trl import prompt_rows

    kwargs = dict(env_kwargs or {})
    kwargs_json = json.dumps(kwargs, sort_keys=True, default=str)
    rows = prompt_rows(env_id, split, system_prompt=system_prompt, max_examples=max_examples, env_kwargs=kwargs)
    return [
        {
            "data_source": env_id,
            "prompt": r["prompt"],
            "ability": ability,
            "reward_model": {"style": "rule", "ground_truth": r["example_id"]},
            "extra_info": {"env_id": env_id, "env_kwargs": kwargs_json, "split": split, "index": r["index"]},
        }
        for r in rows
    ]
