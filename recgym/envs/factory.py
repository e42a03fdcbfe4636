"""Building registered envs: task name -> dataset (real files or the synthetic shop), recommender name -> index."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from recgym.data.types import TaskDataset
from recgym.paths import data_cache_dir
from recgym.recommenders import BM25Recommender, DenseRecommender, HybridRecommender, Recommender


class DatasetNotFoundError(FileNotFoundError):
    """A real-data env was made without its files; recgym never substitutes synthetic data silently."""


# task -> (loader module attribute, default cache folder, files a user must provide, human name)
REAL_TASKS: dict[str, tuple[str, str, str, str]] = {
    "esci": ("load_esci", "esci",
             "shopping_queries_dataset_examples.parquet and shopping_queries_dataset_products.parquet",
             "Amazon Shopping Queries (ESCI)"),
    "c4": ("load_search_jsonl", "amazon-c4", "queries.jsonl and items.jsonl", "Amazon-C4"),
    "seqrec": ("load_sequential", "seqrec",
               "users.jsonl and items.jsonl (Amazon Reviews 2023 histories) or RecBole .item/.inter files",
               "sequential recommendation (Amazon Reviews 2023 / RecBole)"),
}
SYNTHETIC_TASKS: dict[str, str] = {"shop": "make_shop", "shopseq": "make_shop_sequential"}


def _resolve_real_dir(task: str, data_dir: str | Path | None, env_id: str) -> Path:
    _, cache_name, files, human = REAL_TASKS[task]
    path = Path(data_dir).expanduser() if data_dir is not None else data_cache_dir(cache_name)
    if not path.is_dir():
        where = "the data_dir you passed" if data_dir is not None else "the recgym data cache"
        raise DatasetNotFoundError(
            f"{env_id or task} uses real {human} data only, and {where} ({path}) does not exist. "
            f"Put {files} in {data_cache_dir(cache_name)} (or pass data_dir=...; `recgym data fetch` downloads them "
            f"where the network allows). For an offline env on the seeded synthetic shop use "
            f"'RecR1/Shop-BM25-v0' or 'RecR1/ShopSeq-BM25-v0'."
        )
    return path


@lru_cache(maxsize=4)
def _load_cached(task: str, data_dir: str, kwargs_json: str, mtime_ns: int) -> TaskDataset:
    from recgym.data import loaders

    loader: Callable[..., TaskDataset] = getattr(loaders, REAL_TASKS[task][0])
    return loader(data_dir, **json.loads(kwargs_json))


@lru_cache(maxsize=4)
def _make_synthetic(task: str, kwargs_json: str) -> TaskDataset:
    from recgym.data import synthetic

    return getattr(synthetic, SYNTHETIC_TASKS[task])(**json.loads(kwargs_json))


def load_task_dataset(task: str, data_dir: str | Path | None = None, dataset_kwargs: Mapping[str, Any] | None = None,
                      env_id: str = "") -> TaskDataset:
    """The dataset of a registered task. Loads are memoised per process (datasets are immutable), keyed by the
    folder's contents' modification times so edited files are re-read."""
    kwargs = dict(dataset_kwargs or {})
    if task in SYNTHETIC_TASKS:
        if data_dir is not None:
            raise ValueError(f"{env_id or task} is the built-in synthetic shop and takes no data_dir; "
                             "use a real-data id (RecR1/ESCI-*, RecR1/C4-*, RecR1/SeqRec-*) for files")
        return _make_synthetic(task, json.dumps(kwargs, sort_keys=True))
    if task not in REAL_TASKS:
        raise ValueError(f"unknown task {task!r}; known: {sorted([*SYNTHETIC_TASKS, *REAL_TASKS])}")
    path = _resolve_real_dir(task, data_dir, env_id)
    stamp = max((p.stat().st_mtime_ns for p in path.iterdir()), default=0)
    return _load_cached(task, str(path.resolve()), json.dumps(kwargs, sort_keys=True), stamp)


def make_recommender(recommender: str | Recommender, recommender_kwargs: Mapping[str, Any] | None = None) -> Recommender:
    """``"bm25"``, ``"dense"``, ``"hybrid"`` (BM25 + dense, RRF) or a user's Recommender instance (unindexed)."""
    kwargs = dict(recommender_kwargs or {})
    if not isinstance(recommender, str):
        if kwargs:
            raise ValueError("recommender_kwargs apply to built-in recommenders only, not to an instance")
        if not isinstance(recommender, Recommender):
            raise TypeError(f"recommender must be a name or have index() and search(), got {type(recommender).__name__}")
        return recommender
    if recommender == "bm25":
        return BM25Recommender(**kwargs)
    if recommender == "dense":
        return DenseRecommender(**kwargs)
    if recommender == "hybrid":
        return HybridRecommender([BM25Recommender(**kwargs.pop("bm25", {})), DenseRecommender(**kwargs.pop("dense", {}))], **kwargs)
    raise ValueError(f"unknown recommender {recommender!r}; choose 'bm25', 'dense', 'hybrid' or pass an instance")


def make_env(
    task: str,
    recommender: str | Recommender = "bm25",
    *,
    data_dir: str | Path | None = None,
    dataset: TaskDataset | None = None,
    dataset_kwargs: Mapping[str, Any] | None = None,
    recommender_kwargs: Mapping[str, Any] | None = None,
    env_id: str = "",
    **env_kwargs: Any,
):
    """Entry point of every registered id: dataset + indexed recommender -> the task's env class.

    ``env_kwargs`` go to :class:`RecTextEnv` (``split``, ``reward``, ``metric``, ``k``, ``prompt``,
    ``exclude_history``, ``render_mode``). ``dataset`` short-circuits loading (a user's own TaskDataset).
    """
    from recgym.envs.tasks import env_class_for

    if dataset is None:
        dataset = load_task_dataset(task, data_dir, dataset_kwargs, env_id)
    elif data_dir is not None or dataset_kwargs:
        raise ValueError("pass either dataset or data_dir/dataset_kwargs, not both")
    rec = make_recommender(recommender, recommender_kwargs)
    rec.index(dataset.catalog)
    return env_class_for(dataset)(dataset, rec, **env_kwargs)


def make_vector_env(num_envs: int = 1, **kwargs: Any):
    """Vector entry point of every registered id (``gym.make_vec``): one env's pieces, ``num_envs`` episodes."""
    from recgym.envs.vector_env import RecTextVectorEnv

    kwargs.pop("max_episode_steps", None)  # single-step episodes; gymnasium passes the spec's value through
    return RecTextVectorEnv(num_envs, env=make_env(**kwargs))
