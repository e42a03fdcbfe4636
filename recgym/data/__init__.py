"""Catalogs, task datasets, file loaders, the synthetic shop, and fetching/preparing the paper's real datasets."""

from recgym.data.fetch import FetchError, OfflineError, fetch
from recgym.data.loaders import (
    DataFormatError,
    load_esci,
    load_recbole,
    load_search_jsonl,
    load_sequential,
    load_sequential_jsonl,
)
from recgym.data.prepare import RawDataMissingError, prepare
from recgym.data.synthetic import make_shop, make_shop_sequential
from recgym.data.types import SPLITS, Catalog, Example, TaskDataset, TaskKind, group_by_split, hash_split

__all__ = [
    "SPLITS", "Catalog", "DataFormatError", "Example", "FetchError", "OfflineError", "RawDataMissingError",
    "TaskDataset", "TaskKind", "fetch", "group_by_split", "hash_split", "load_esci", "load_recbole",
    "load_search_jsonl", "load_sequential", "load_sequential_jsonl", "make_shop", "make_shop_sequential", "prepare",
]
