"""The task registry: one :class:`TaskSpec` per task family, from which everything else is derived.

The env ids (``RecR1/<id_task>-<Recommender>-v0``), the env factory (which loader, which data-cache folder, which BM25
defaults, what to tell a user without the files), ``recgym data``'s prepared-folder names and the paper-table suite
all read this table, so adding a dataset is one :func:`register_task` call::

    from recgym.tasks import TaskSpec, register_task
    register_task(TaskSpec("MyShop", "myshop", "search", ("BM25",), loader=my_loader))  # -> TaskDataset
    env = gym.make("RecR1/MyShop-BM25-v0")

This module is light (no envs, no recommenders): the data layer and the CLI import it freely.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KINDS = ("search", "sequential")

NEEDS_SERVER = frozenset({"Postgres"})
"""Recommenders whose ids need a server you run (``RecR1/Shop-Postgres-v0`` reads ``$RECGYM_POSTGRES_DSN``): offline
runs over a whole family (the paper-table suite) leave them out unless named."""


@dataclass(frozen=True)
class SuiteTable:
    """One table of the paper-table suite (``recgym bench --suite paper``) for a task.

    Attributes:
        title: Table heading.
        folders: Data folders tried in order under ``--data-root`` (prepared-cache names first, then the layout of
            the shared data slices); empty for a synthetic task.
        dataset_kwargs: Passed to the env (e.g. a split carve).
        max_examples: Default cap on test examples (large splits).
    """

    title: str
    folders: tuple[str, ...] = ()
    dataset_kwargs: dict[str, Any] = field(default_factory=dict)
    max_examples: int | None = None


@dataclass(frozen=True)
class TaskSpec:
    """Everything recgym knows about one task family.

    Attributes:
        id_task: The id's task part: ``RecR1/<id_task>-<Recommender>-v0`` (and ``-Agent-v0``, the search agent).
        name: The factory's task name (``make_env(task=name)``), lower case.
        kind: ``"search"`` (a shopper's request) or ``"sequential"`` (a purchase history).
        recommenders: Recommender names an id is registered for (``"BM25"``, ``"Dense"``, ``"Hybrid"``).
        loader: ``"module:function"`` or a callable returning a ``TaskDataset``. A synthetic task
            (``cache_name=None``) calls ``loader(**dataset_kwargs)``; a real-data one ``loader(folder, **kwargs)``.
        cache_name: Folder under the recgym data cache holding the real files (``None``: synthetic, no files).
        files: What the folder must hold (for the missing-data message).
        title: The dataset's name in messages.
        source: Where to get the data (for the missing-data message).
        fetch: The ``recgym data fetch/prepare`` dataset that builds ``cache_name`` ("" if none).
        category_kwarg: How ``category=`` applies: ``"filter"`` (a dataset kwarg ``categories=[c]``),
            ``"subdir"`` (one folder per category) or ``""`` (not supported).
        bm25_defaults: ``BM25Recommender`` settings for this task unless the caller names an ``analyzer``.
        suite: Its tables in the paper-table suite.
    """

    id_task: str
    name: str
    kind: str
    recommenders: tuple[str, ...]
    loader: str | Callable[..., Any]
    cache_name: str | None = None
    files: str = ""
    title: str = ""
    source: str = ""
    fetch: str = ""
    category_kwarg: str = ""
    bm25_defaults: dict[str, Any] = field(default_factory=dict)
    suite: tuple[SuiteTable, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"TaskSpec {self.id_task!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if not self.recommenders:
            raise ValueError(f"TaskSpec {self.id_task!r} registers no recommender")
        if self.category_kwarg not in ("", "filter", "subdir"):
            raise ValueError(f"TaskSpec {self.id_task!r}: category_kwarg must be '', 'filter' or 'subdir'")

    @property
    def synthetic(self) -> bool:
        return self.cache_name is None

    def env_ids(self) -> list[str]:
        return [f"RecR1/{self.id_task}-{rec}-v0" for rec in self.recommenders]

    def agent_env_ids(self) -> list[str]:
        """The multi-turn search-agent ids, ``RecR1/<id_task>-<Recommender>-Agent-v0`` (same data, same black box)."""
        return [f"RecR1/{self.id_task}-{rec}-Agent-v0" for rec in self.recommenders]

    def offline_recommenders(self) -> tuple[str, ...]:
        """The recommenders that run with nothing but this machine (not :data:`NEEDS_SERVER`)."""
        return tuple(rec for rec in self.recommenders if rec not in NEEDS_SERVER)

    def load_function(self) -> Callable[..., Any]:
        if callable(self.loader):
            return self.loader
        module, _, function = self.loader.partition(":")
        return getattr(importlib.import_module(module), function)


PYSERINI_BM25: dict[str, Any] = {"analyzer": "lucene", "lucene_norms": True, "tie_order": "item_id"}
"""BM25Recommender settings that reproduce Rec-R1's pyserini retriever (benchmarks/lucene_parity.py): the paper's
real-data tasks rank as pyserini does; the synthetic shop keeps bm25s's own tokenizer."""

TASKS: dict[str, TaskSpec] = {}
"""The registry: factory task name -> spec, in registration order."""


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add ``spec`` to the registry and register its env ids with Gymnasium (ids already registered are kept)."""
    if not isinstance(spec, TaskSpec):
        raise TypeError(f"register_task takes a TaskSpec, got {type(spec).__name__}")
    clash = next((s for s in TASKS.values() if s.id_task == spec.id_task and s.name != spec.name), None)
    if clash is not None:
        raise ValueError(f"id task {spec.id_task!r} is already registered for task {clash.name!r}")
    TASKS[spec.name] = spec
    from recgym.envs.registration import register_spec  # envs import this module: import it lazily

    register_spec(spec)
    return spec


def get_task_spec(name: str) -> TaskSpec:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known: {sorted(TASKS)}")
    return TASKS[name]


def spec_for_id_task(id_task: str) -> TaskSpec:
    """The spec of the ``RecR1/<id_task>-*`` family."""
    spec = next((s for s in TASKS.values() if s.id_task == id_task), None)
    if spec is None:
        raise ValueError(f"no task registers ids RecR1/{id_task}-*; known: {sorted(s.id_task for s in TASKS.values())}")
    return spec


def spec_for_fetch(dataset: str) -> TaskSpec:
    """The task whose data folder ``recgym data prepare <dataset>`` builds."""
    spec = next((s for s in TASKS.values() if s.fetch == dataset), None)
    if spec is None:
        raise ValueError(f"no task is built by `recgym data prepare {dataset}`")
    return spec


def _builtin() -> tuple[TaskSpec, ...]:
    synthetic = "recgym.data.synthetic:"
    loaders = "recgym.data.loaders:"
    return (
        TaskSpec(
            "ESCI", "esci", "search", ("BM25", "Dense"), loaders + "load_esci",
            cache_name="esci",
            files="shopping_queries_dataset_examples.parquet and shopping_queries_dataset_products.parquet",
            title="Amazon Shopping Queries (ESCI)",
            source="github.com/amazon-science/esci-data (shopping_queries_dataset/, Git LFS) or the Hub dataset "
            "tasksource/esci",
            fetch="esci", category_kwarg="filter", bm25_defaults=PYSERINI_BM25,
            suite=(SuiteTable("ESCI product search", ("esci", "esci_sample")),),
        ),
        TaskSpec(
            "C4", "c4", "search", ("BM25", "Dense"), loaders + "load_search_jsonl",
            cache_name="amazon-c4",
            files="queries.jsonl ({qid, query, item_id}) and items.jsonl ({item_id, title})",
            title="Amazon-C4", source="the Hub dataset McAuley-Lab/Amazon-C4",
            fetch="amazon-c4", bm25_defaults=PYSERINI_BM25,
            # Rec-R1 evaluates on all C4 queries (they are BLAIR's test queries): no train/val carve
            suite=(SuiteTable("Amazon-C4 product search", ("amazon-c4", "amazon_c4_closed"),
                              dataset_kwargs={"split_fractions": {"test": 1.0}}),),
        ),
        TaskSpec(
            "SeqRec", "seqrec", "sequential", ("BM25", "Dense"), loaders + "load_sequential",
            cache_name="seqrec",
            files="users.jsonl ({user_id, split, history, target}) and items.jsonl, or RecBole .item/.inter files",
            title="sequential recommendation (Amazon Reviews 2023 / RecBole)",
            source="the Hub dataset McAuley-Lab/Amazon-Reviews-2023 (0core_timestamp_w_his_* and raw_meta_*)",
            fetch="amazon-reviews-2023", category_kwarg="subdir", bm25_defaults=PYSERINI_BM25,
            suite=(
                SuiteTable("Amazon Reviews 2023 Video_Games: sequential",
                           ("seqrec/Video_Games", "amazon_seqrec_video_games")),
                SuiteTable("Amazon Reviews 2023 Baby_Products: sequential",
                           ("seqrec/Baby_Products", "amazon_seqrec_baby_products")),
                SuiteTable("Games-6k (RecBole, Amazon 2018 Video Games): sequential", ("games6k",), max_examples=500),
            ),
        ),
        TaskSpec(
            "Shop", "shop", "search", ("BM25", "Dense", "Hybrid", "SQLite", "Postgres"), synthetic + "make_shop",
            suite=(SuiteTable("Synthetic shop: product search (offline default, synthetic data)"),),
        ),
        TaskSpec(
            "ShopSeq", "shopseq", "sequential", ("BM25", "Dense"), synthetic + "make_shop_sequential",
            suite=(SuiteTable("Synthetic shop: sequential recommendation (offline default, synthetic data)"),),
        ),
    )  # fmt: skip


def register_builtin_tasks() -> None:
    for spec in _builtin():
        if spec.name not in TASKS:
            register_task(spec)


__all__ = [
    "NEEDS_SERVER",
    "PYSERINI_BM25",
    "TASKS",
    "SuiteTable",
    "TaskSpec",
    "get_task_spec",
    "register_task",
    "spec_for_fetch",
    "spec_for_id_task",
]
