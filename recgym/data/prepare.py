"""Building the Rec-R1 task data from the raw downloads, in the layouts recgym's loaders read.

=======================  ====================================  ===============================================
``prepare`` dataset      writes (default folder)               loaded by (env ids)
=======================  ====================================  ===============================================
``esci``                 ESCI-schema Parquet pair with a       :func:`~recgym.data.loaders.load_esci`
                         ``product_category`` column           (``RecR1/ESCI-*``; ``categories=`` per domain)
                         (``<cache>/data/esci``)
``amazon-c4``            ``queries.jsonl`` + ``items.jsonl``   :func:`~recgym.data.loaders.load_search_jsonl`
                         (``<cache>/data/amazon-c4``)          (``RecR1/C4-*``)
``amazon-reviews-2023``  ``<Category>/users.jsonl`` +          :func:`~recgym.data.loaders.load_sequential`
                         ``items.jsonl`` per category          (``RecR1/SeqRec-*``; ``category=`` picks one)
                         (``<cache>/data/seqrec``)
=======================  ====================================  ===============================================

Every output is a pure function of the raw files, the categories and ``seed``; files are written under a temporary
name unique to the writer and renamed, and a ``recgym_prepared.json`` manifest records the settings and row counts
(``recgym data info`` shows them). Runs into one output folder take turns (a lock file in it), so concurrent runs
never mix their files; temporary files of killed runs are removed by the next run. ESCI lives in
:mod:`recgym.data.prepare_esci`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock

from recgym.data.amazon_meta import meta_records, text_of
from recgym.data.loaders import DataFormatError
from recgym.data.loaders._io import iter_jsonl
from recgym.data.loaders.jsonl import DEFAULT_SPLIT_FRACTIONS
from recgym.data.sources import (
    BENCHMARK_SPLITS,
    C4_ITEMS,
    C4_QUERIES,
    RemoteFile,
    amazon_benchmark,
    amazon_meta,
    check_categories,
    get_source,
    local_path,
    upstream_url,
)
from recgym.data.types import hash_split
from recgym.fileio import TEMP_PREFIX, atomic_write, atomic_write_json
from recgym.paths import data_cache_dir
from recgym.tempdirs import remove_stale

MANIFEST = "recgym_prepared.json"
LOCK = ".recgym_prepare.lock"
MAX_HISTORY = 10
"""History items kept per user: Rec-R1's sequential prompts show the last 10 purchases."""
_SPLIT_NAMES = {"train": "train", "valid": "val", "test": "test"}


class RawDataMissingError(FileNotFoundError):
    """A raw input of ``prepare`` is not on disk; the message says how to fetch it or where to put it."""


def default_out(dataset: str) -> Path:
    """Where ``prepare`` writes by default: the cache folder its env ids read (a ``REAL_TASKS`` cache_name)."""
    return data_cache_dir(get_source(dataset).prepared)


def prepare(
    dataset: str,
    categories: Sequence[str] | None = None,
    *,
    seed: int = 0,
    out: str | Path | None = None,
    root: str | Path | None = None,
    negatives: int = 50,
    max_history: int = MAX_HISTORY,
) -> list[dict[str, Any]]:
    """Build ``dataset``'s task files from the raw files under ``root`` (default ``<cache>/data/raw``).

    Args:
        categories: ESCI and Amazon Reviews 2023: Amazon 2023 categories (default: the paper's); Amazon-C4: keep
            only queries whose target's pool category contains one of these (case-insensitive), default all.
        seed: Seeds every random choice (ESCI negatives, C4 split assignment): same seed, same files.
        out: Output folder (default :func:`default_out`); sequential data goes to ``<out>/<Category>/``.
        negatives: ESCI sampled negatives per query.
        max_history: Sequential history length kept (the latest items).

    Returns:
        The manifest of each folder written (``out``, ``counts``, settings).

    Raises:
        RawDataMissingError: an input file is missing (the message names it and the fetch command).
        DataFormatError: an input file is malformed, or nothing usable is left.
    """
    chosen = check_categories(dataset, categories)
    target = Path(out).expanduser() if out is not None else default_out(dataset)
    target.mkdir(parents=True, exist_ok=True)
    # one run at a time per output folder: two runs with other settings would otherwise interleave their files
    with FileLock(target / LOCK):
        for folder in (target, *(target / c for c in chosen)):
            remove_stale(folder, TEMP_PREFIX)  # files of killed runs
        if dataset == "esci":
            from recgym.data.prepare_esci import prepare_esci

            return [prepare_esci(chosen, seed=seed, out=target, root=root, negatives=negatives)]
        if dataset == "amazon-c4":
            return [prepare_c4(chosen, seed=seed, out=target, root=root)]
        return [prepare_sequential(c, out=target / c, root=root, max_history=max_history) for c in chosen]


# ------------------------------------------------------------------------------------------- shared helpers
def require_raw(spec: RemoteFile, root: str | Path | None, dataset: str, categories: Sequence[str] = ()) -> Path:
    """The local copy of ``spec``; RawDataMissingError with the fetch command and the manual route otherwise."""
    path = local_path(spec, root)
    if path.is_file():
        return path
    flags = f" --category {' '.join(categories)}" if categories else ""
    partial = (
        " (a partial download .part is there: fetch resumes it)" if path.with_name(path.name + ".part").exists() else ""
    )
    raise RawDataMissingError(
        f"{path} not found{partial}; run `recgym data fetch {dataset}{flags}` or download {upstream_url(spec)} "
        f"into {path.parent}/"
    )


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write ``records`` one per line (atomically); returns how many."""
    n = 0
    with atomic_write(path) as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_manifest(out: Path, dataset: str, settings: Mapping[str, Any], counts: Mapping[str, Any]) -> dict[str, Any]:
    """Record how a folder was built (``recgym data info`` reads it back); returns the manifest."""
    from recgym import __version__

    manifest = {"dataset": dataset, "out": str(out), **settings, "counts": dict(counts), "recgym": __version__}
    atomic_write_json(out / MANIFEST, manifest, indent=1)
    return manifest


def read_csv_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` of a headed CSV, checking the header has ``required`` columns."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DataFormatError(f"{path}: missing column(s) {missing}; found {reader.fieldnames}")
        for row in reader:
            yield reader.line_num, row


# --------------------------------------------------------------------------------------------------- Amazon-C4
def prepare_c4(categories: Sequence[str], *, seed: int, out: Path, root: str | Path | None) -> dict[str, Any]:
    """Amazon-C4: ``test.csv`` queries (one target each) over the 1M-item BLAIR pool, split by a seeded hash.

    Items keep the pool's single text field ``metadata`` (cleaned title + description, what Rec-R1 indexes) as
    ``title`` — the field recgym's recommenders index by default — and its ``category``. C4 ships only a test
    file, so each query gets ``split`` = ``hash_split(qid, 80/10/10, seed)``; with ``categories`` only queries
    whose target's pool category contains one of them (case-insensitive, like Rec-R1's domain filter) are kept,
    and the item pool stays whole.
    """
    queries_path = require_raw(C4_QUERIES, root, "amazon-c4")
    items_path = require_raw(C4_ITEMS, root, "amazon-c4")
    category_of: dict[str, str] = {}

    def items() -> Iterator[dict[str, str]]:
        for lineno, record in iter_jsonl(items_path):
            item_id, text = record.get("item_id"), record.get("metadata")
            if not isinstance(item_id, str) or not isinstance(text, str):
                raise DataFormatError(f"{items_path}, line {lineno}: expected string 'item_id' and 'metadata'")
            if item_id in category_of:
                continue
            category_of[item_id] = text_of(record.get("category"))
            yield {"item_id": item_id, "title": text, "category": category_of[item_id]}

    n_items = write_jsonl(out / "items.jsonl", items())
    wanted = [c.lower() for c in categories]
    counts: dict[str, int] = {"items": n_items, "train": 0, "val": 0, "test": 0}
    dropped = {"target not in the item pool": 0, "other category": 0}

    def queries() -> Iterator[dict[str, str]]:
        for _, row in read_csv_rows(queries_path, ("qid", "query", "item_id")):
            category = category_of.get(row["item_id"])
            if category is None:
                dropped["target not in the item pool"] += 1
                continue
            if wanted and not any(w in category.lower() for w in wanted):
                dropped["other category"] += 1
                continue
            split = hash_split(row["qid"], DEFAULT_SPLIT_FRACTIONS, seed)
            counts[split] += 1
            yield {"qid": row["qid"], "category": category, "query": row["query"], "item_id": row["item_id"],
                   "split": split}  # fmt: skip

    counts["queries"] = write_jsonl(out / "queries.jsonl", queries())
    if not counts["queries"]:
        raise DataFormatError(f"{queries_path}: no query left ({dropped}); check --category against the pool's")
    settings = {"seed": seed, "categories": list(categories), "dropped": dropped}
    return write_manifest(out, "amazon-c4", settings, counts)


# -------------------------------------------------------------------------------------- Amazon Reviews 2023
def prepare_sequential(category: str, *, out: Path, root: str | Path | None, max_history: int) -> dict[str, Any]:
    """Next-item data of one category from ``0core_timestamp_w_his`` and ``raw_meta``, as Rec-R1 prepared it.

    Every CSV row is one example: the row's item is the held-out target and ``history`` (the user's earlier
    items, oldest first) the context. Items without a title in the metadata are removed from histories, rows
    whose target has no title or whose history ends up empty are dropped, and histories keep their last
    ``max_history`` items. Splits are the benchmark's own (``valid`` -> ``val``); there is no random step.
    """
    csvs = {s: require_raw(amazon_benchmark(category, s), root, "amazon-reviews-2023", [category])
            for s in BENCHMARK_SPLITS}  # fmt: skip
    meta_path = require_raw(amazon_meta(category), root, "amazon-reviews-2023", [category])
    required = ("user_id", "parent_asin", "history")
    referenced: set[str] = set()
    for path in csvs.values():  # first pass: which items need a title (the meta file is far larger)
        for _, row in read_csv_rows(path, required):
            referenced.add(row["parent_asin"])
            referenced.update((row["history"] or "").split())
    titles = {asin: t for asin, rec in meta_records(meta_path, referenced).items() if (t := text_of(rec.get("title")))}

    used: dict[str, None] = {}  # items in first-use order
    counts: dict[str, int] = {"train": 0, "val": 0, "test": 0}
    dropped = {"target without a title": 0, "empty history": 0}

    def users() -> Iterator[dict[str, Any]]:
        for split, path in csvs.items():
            for _, row in read_csv_rows(path, required):
                target = row["parent_asin"]
                if target not in titles:
                    dropped["target without a title"] += 1
                    continue
                history = [h for h in (row["history"] or "").split() if h in titles][-max_history:]
                if not history:
                    dropped["empty history"] += 1
                    continue
                used.update(dict.fromkeys([*history, target]))
                counts[_SPLIT_NAMES[split]] += 1
                yield {"user_id": row["user_id"], "split": _SPLIT_NAMES[split], "history": history, "target": target}

    counts["users"] = write_jsonl(out / "users.jsonl", users())
    if not counts["users"]:
        raise DataFormatError(f"{meta_path.parent}: no {category} row has a titled target and history ({dropped})")
    counts["items"] = write_jsonl(out / "items.jsonl", ({"item_id": i, "title": titles[i]} for i in used))
    settings = {"categories": [category], "max_history": max_history, "dropped": dropped}
    return write_manifest(out, "amazon-reviews-2023", settings, counts)
