"""Building registered envs: task name -> dataset (real files or the synthetic shop, as its
:class:`~recgym.tasks.TaskSpec` says), recommender name -> index."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import gymnasium as gym

from recgym.data.types import TaskDataset
from recgym.paths import data_cache_dir
from recgym.recommenders import BM25Recommender, DenseRecommender, HybridRecommender, Recommender
from recgym.tasks import TASKS, TaskSpec, get_task_spec


class DatasetNotFoundError(FileNotFoundError):
    """A real-data env was made without its files; recgym never substitutes synthetic data silently."""


def _resolve_real_dir(spec: TaskSpec, data_dir: str | Path | None, env_id: str, subdir: str | None = None) -> Path:
    path = Path(data_dir).expanduser() if data_dir is not None else data_cache_dir(spec.cache_name)
    path = path / subdir if subdir else path
    if not path.is_dir():
        where = "the data_dir you passed" if data_dir is not None else "the recgym data cache"
        home = path if data_dir is None else data_cache_dir(spec.cache_name) / (subdir or "")
        flags = f" --category {subdir}" if subdir else ""
        build = f"`recgym data fetch {spec.fetch}{flags}` then `recgym data prepare {spec.fetch}{flags}` build it, or "
        raise DatasetNotFoundError(
            f"{env_id or spec.name} uses real {spec.title} data only, and {where} ({path}) does not exist. "
            f"{build if spec.fetch else ''}put {spec.files} in {home} or pass data_dir=... "
            f"(source: {spec.source}). For an offline env on the seeded synthetic shop use "
            f"'RecR1/Shop-BM25-v0' or 'RecR1/ShopSeq-BM25-v0'."
        )
    return path


def _category_kwargs(
    spec: TaskSpec, category: str, kwargs: dict[str, Any], env_id: str
) -> tuple[str | None, dict[str, Any]]:
    """``category=``, the paper's per-domain setting (``TaskSpec.category_kwarg``): ESCI filters its catalog and
    queries by product category; prepared sequential data holds one folder per category. Returns (sub-folder,
    dataset kwargs)."""
    if spec.category_kwarg == "filter":
        if kwargs.get("categories") not in (None, [category], (category,)):
            raise ValueError(f"category={category!r} contradicts dataset_kwargs categories={kwargs['categories']!r}")
        return None, {**kwargs, "categories": [category]}
    if spec.category_kwarg == "subdir":
        return category, kwargs
    raise ValueError(
        f"{env_id or spec.name} takes no category=: ESCI and SeqRec ids do. For one Amazon-C4 domain run "
        f"`recgym data prepare amazon-c4 --category {category} --out DIR` and pass data_dir=DIR"
    )


@lru_cache(maxsize=4)
def _load_cached(task: str, data_dir: str, kwargs_json: str, mtime_ns: int) -> TaskDataset:
    return get_task_spec(task).load_function()(data_dir, **json.loads(kwargs_json))


@lru_cache(maxsize=4)
def _make_synthetic(task: str, kwargs_json: str) -> TaskDataset:
    return get_task_spec(task).load_function()(**json.loads(kwargs_json))


def load_task_dataset(
    task: str,
    data_dir: str | Path | None = None,
    dataset_kwargs: Mapping[str, Any] | None = None,
    env_id: str = "",
    category: str | None = None,
) -> TaskDataset:
    """The dataset of a registered task. Loads are memoised per process (datasets are immutable), keyed by the
    folder's contents' modification times so edited files are re-read. ``category`` selects one Amazon domain of
    the real data (see ``recgym data prepare``)."""
    spec = get_task_spec(task)
    kwargs = dict(dataset_kwargs or {})
    subdir = None
    if category is not None:
        if spec.synthetic:
            raise ValueError(f"{env_id or task} takes no category= (it is not a real-data task)")
        subdir, kwargs = _category_kwargs(spec, category, kwargs, env_id)
    if spec.synthetic:
        if data_dir is not None:
            raise ValueError(
                f"{env_id or task} is the built-in synthetic shop and takes no data_dir; "
                "use a real-data id (RecR1/ESCI-*, RecR1/C4-*, RecR1/SeqRec-*) for files"
            )
        return _make_synthetic(task, json.dumps(kwargs, sort_keys=True))
    path = _resolve_real_dir(spec, data_dir, env_id, subdir)
    stamp = max((p.stat().st_mtime_ns for p in path.iterdir()), default=0)
    return _load_cached(task, str(path.resolve()), json.dumps(kwargs, sort_keys=True), stamp)


def make_recommender(
    recommender: str | Recommender, recommender_kwargs: Mapping[str, Any] | None = None
) -> Recommender:
    """``"bm25"``, ``"dense"``, ``"hybrid"`` (BM25 + dense, RRF), ``"sqlite"`` (SQLite FTS5's BM25), ``"postgres"``
    (PostgreSQL full-text search, ``recommender_kwargs={"dsn": ...}`` or ``$RECGYM_POSTGRES_DSN``), ``"remote"``
    (a search service, ``recommender_kwargs={"url": ...}``; docs/engines.md) or a user's Recommender instance
    (unindexed)."""
    kwargs = dict(recommender_kwargs or {})
    if not isinstance(recommender, str):
        if kwargs:
            raise ValueError("recommender_kwargs apply to built-in recommenders only, not to an instance")
        if not isinstance(recommender, Recommender):
            raise TypeError(
                f"recommender must be a name or have index() and search(), got {type(recommender).__name__}"
            )
        return recommender
    if recommender == "bm25":
        return BM25Recommender(**kwargs)
    if recommender == "dense":
        return DenseRecommender(**kwargs)
    if recommender == "hybrid":
        return HybridRecommender(
            [BM25Recommender(**kwargs.pop("bm25", {})), DenseRecommender(**kwargs.pop("dense", {}))], **kwargs
        )
    if recommender == "sqlite":
        from recgym.recommenders import SQLiteRecommender

        return SQLiteRecommender(**kwargs)
    if recommender == "postgres":
        from recgym.recommenders.postgres import PostgresRecommender  # psycopg is an optional extra

        return PostgresRecommender(**kwargs)
    if recommender == "remote":
        from recgym.recommenders import RemoteRecommender

        if "url" not in kwargs:
            raise ValueError("recommender='remote' needs recommender_kwargs={'url': 'http://HOST:PORT', ...}")
        return RemoteRecommender(**kwargs)
    raise ValueError(
        f"unknown recommender {recommender!r}; choose 'bm25', 'dense', 'hybrid', 'sqlite', 'postgres', 'remote' "
        "or pass an instance"
    )


def task_recommender_kwargs(
    task: str, recommender: str | Recommender, recommender_kwargs: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``recommender_kwargs`` with the task's BM25 defaults (``TaskSpec.bm25_defaults``) filled in; they apply
    unless the caller's BM25 kwargs name an ``analyzer`` (then BM25Recommender's defaults do)."""
    kwargs = dict(recommender_kwargs or {})
    spec = TASKS.get(task)  # a user's own dataset may come under any task name
    defaults = spec.bm25_defaults if spec is not None else {}
    if not defaults or recommender not in ("bm25", "hybrid"):
        return kwargs
    if recommender == "bm25":
        return kwargs if "analyzer" in kwargs else {**defaults, **kwargs}
    bm25 = dict(kwargs.get("bm25", {}))
    return kwargs if "analyzer" in bm25 else {**kwargs, "bm25": {**defaults, **bm25}}


def make_env(
    task: str,
    recommender: str | Recommender = "bm25",
    *,
    data_dir: str | Path | None = None,
    dataset: TaskDataset | None = None,
    dataset_kwargs: Mapping[str, Any] | None = None,
    recommender_kwargs: Mapping[str, Any] | None = None,
    env_id: str = "",
    category: str | None = None,
    agent: bool = False,
    **env_kwargs: Any,
):
    """Entry point of every registered id: dataset + indexed recommender -> the task's env class.

    ``env_kwargs`` go to :class:`RecTextEnv` (``split``, ``reward``, ``metric``, ``k``, ``prompt``,
    ``exclude_history``, ``render_mode``), or with ``agent=True`` (the ``-Agent-`` ids) to the multi-turn
    :class:`~recgym.envs.agent_env.SearchAgentEnv` (those plus ``max_searches``, ``results_per_search``).
    ``dataset`` short-circuits loading (a user's own TaskDataset).
    ``category`` (real-data ids) picks one Amazon domain: ``category="Video_Games"`` is ESCI's
    ``dataset_kwargs={"categories": ["Video_Games"]}`` and SeqRec's ``<data_dir>/Video_Games`` folder.
    """
    from recgym.envs.tasks import env_class_for

    if dataset is None:
        dataset = load_task_dataset(task, data_dir, dataset_kwargs, env_id, category)
    elif data_dir is not None or dataset_kwargs or category is not None:
        raise ValueError("pass either dataset or data_dir/dataset_kwargs/category, not both")
    rec = make_recommender(recommender, task_recommender_kwargs(task, recommender, recommender_kwargs))
    rec.index(dataset.catalog)
    if agent:
        from recgym.envs.agent_env import SearchAgentEnv

        return SearchAgentEnv(dataset, rec, **env_kwargs)
    return env_class_for(dataset)(dataset, rec, **env_kwargs)


def make_vector_env(num_envs: int = 1, **kwargs: Any):
    """Vector entry point of every registered id (``gym.make_vec``): one env's pieces, ``num_envs`` episodes.

    Single-step ids get :class:`RecTextVectorEnv` (one batched search per step). ``-Agent-`` ids get Gymnasium's
    ``SyncVectorEnv`` (autoreset ``NEXT_STEP``) over forks of one :class:`SearchAgentEnv`: multi-turn episodes end
    at different steps, and the forks share the dataset and the indexed recommender, searching one sub-env at a
    time."""
    from recgym.envs.vector_env import RecTextVectorEnv

    kwargs.pop("max_episode_steps", None)  # gymnasium passes the spec's value through; episode ends are the env's
    env = make_env(**kwargs)
    if kwargs.get("agent"):
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        return gym.vector.SyncVectorEnv([env.fork for _ in range(num_envs)])
    return RecTextVectorEnv(num_envs, env=env)
