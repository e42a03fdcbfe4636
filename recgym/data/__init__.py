"""Catalogs, task datasets, file loaders and the synthetic shop."""

from recgym.data.loaders import (
    DataFormatError,
    load_esci,
    load_recbole,
    load_search_jsonl,
    load_sequential,
    load_sequential_jsonl,
)
from recgym.data.synthetic import make_shop, make_shop_sequential
from recgym.data.types import SPLITS, Catalog, Example, TaskDataset, TaskKind, group_by_split, hash_split

__all__ = [
    "SPLITS", "Catalog", "DataFormatError", "Example", "TaskDataset", "TaskKind", "group_by_split", "hash_split",
    "load_esci", "load_recbole", "load_search_jsonl", "load_sequential", "load_sequential_jsonl", "make_shop",
    "make_shop_sequential",
]
