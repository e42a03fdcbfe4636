"""Rec-R1's ESCI product-search data: US Exact targets plus sampled same-category negatives, per category.

Rec-R1 takes its ESCI data from BLaIR's ``process_esci.py`` (hyp1231/AmazonReviews2023), which keeps ESCI rows with
``product_locale == "us"``, ``esci_label == Exact`` and ``small_version == 1``; gives each product the Amazon
Reviews 2023 category of its ASIN (``asin2category.json``); adds 50 products sampled at random from that category to
the item pool for every kept row; and takes every pool item's text from ``raw_meta_<Category>`` (title and
description), joined on ``parent_asin``. Rec-R1 then splits the test queries by their first target's category
(Video_Games, Baby_Products, Office_Products, Sports_and_Outdoors).

recgym does the same with two documented simplifications: the category of an ESCI product is the category whose
``meta_<C>.jsonl`` lists it as a ``parent_asin`` (a join on the metadata the pool text needs anyway, instead of the
1.25 GB ``asin2category.json``; ESCI products that are not a ``parent_asin`` of a chosen category are dropped, as
BLaIR's pool has no text for them either), and negatives are drawn per *query* (50, excluding its targets, capped by
the category's size) from the category of its first target. Both ESCI splits are kept (``train`` and ``test``;
``load_esci`` carves ``val`` from train). Output is the official ESCI schema, so :func:`load_esci` reads it:

- ``shopping_queries_dataset_examples.parquet``: the Exact rows (label ``E``), and one row per sampled negative with
  label ``I`` and ``sampled_negative = true`` (``load_esci`` puts only labelled products in the catalog; ``I`` has
  gain 0 under every preset, so the negatives change the pool, never the reward).
- ``shopping_queries_dataset_products.parquet``: every pool item with the Amazon 2023 title, description, features
  (as bullet points), store (as brand) and ``product_category``.

``load_esci(folder, categories=["Video_Games"])`` is then one of the paper's per-category test sets. One difference
remains: recgym's per-category catalog is that category's pool, while Rec-R1 indexed the union pool of all
categories; load without ``categories`` to search the union (queries of every category).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recgym.data.amazon_meta import meta_ids, meta_records, text_of
from recgym.data.loaders import DataFormatError
from recgym.data.loaders._io import read_parquet
from recgym.data.loaders.esci import EXAMPLES_FILE, PRODUCTS_FILE
from recgym.data.prepare import atomic_write, require_raw, write_manifest
from recgym.data.sources import ESCI_EXAMPLES, amazon_meta

EXACT_LABELS = frozenset({"E", "Exact", "exact"})  # official one-letter codes and tasksource/esci's words


def _exact_rows(path: Path) -> list[tuple[Any, str, str, str, int, int]]:
    """``(query_id, query, product_id, split, small_version, large_version)`` of the US Exact small-version rows."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    versions = [c for c in ("small_version", "large_version") if c in names]
    table = read_parquet(
        path,
        ("query_id", "query", "product_id", "product_locale", "esci_label", "split"),
        versions,
        text=("query", "product_id", "esci_label", "split"),
        int_or_text=("query_id",),
        filters=[("product_locale", "==", "us")],
    )
    keep = pc.is_in(table["esci_label"], value_set=pa.array(sorted(EXACT_LABELS), table["esci_label"].type))
    if "small_version" in versions:  # a file without the flag is all "small"
        keep = pc.and_(keep, pc.equal(table["small_version"], 1))
    table = table.filter(keep)  # in Arrow: the US locale alone is ~1.8M rows
    cols = {c: table[c].to_pylist() for c in ("query_id", "query", "product_id", "split", *versions)}
    small = cols.get("small_version") or [1] * table.num_rows
    large = cols.get("large_version") or [1] * table.num_rows
    return list(zip(cols["query_id"], cols["query"], cols["product_id"], cols["split"], small, large, strict=True))


def prepare_esci(
    categories: Sequence[str], *, seed: int, out: Path, root: str | Path | None, negatives: int = 50
) -> dict[str, Any]:
    """Write the ESCI Parquet pair described in the module docstring into ``out``; returns the manifest."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if negatives < 0:
        raise ValueError(f"negatives must be >= 0, got {negatives}")
    examples_path = require_raw(ESCI_EXAMPLES, root, "esci", categories)
    meta_paths = {c: require_raw(amazon_meta(c), root, "esci", categories) for c in categories}
    pools = {c: meta_ids(p) for c, p in meta_paths.items()}
    category_of: dict[str, str] = {}
    for c, pool in pools.items():  # an ASIN listed under two categories keeps the first one asked for
        for asin in pool:
            category_of.setdefault(asin, c)

    queries: dict[Any, dict[str, Any]] = {}  # query_id -> {query, split, versions, targets}, in file order
    dropped_targets = 0
    for qid, query, pid, split, small, large in _exact_rows(examples_path):
        if pid not in category_of:
            dropped_targets += 1
            continue
        entry = queries.setdefault(qid, {"query": query, "split": split, "versions": (small, large), "targets": []})
        if pid not in entry["targets"]:
            entry["targets"].append(pid)
    if not queries:
        raise DataFormatError(
            f"{examples_path}: no US Exact (small_version) target is an item of {list(categories)} in the Amazon "
            f"Reviews 2023 metadata; choose other --category values"
        )

    rng = random.Random(seed)
    rows: dict[str, list[Any]] = {k: [] for k in ("query_id", "query", "product_id", "esci_label", "split",
                                                  "small_version", "large_version", "sampled_negative")}  # fmt: skip
    used: dict[str, None] = {}
    counts: dict[str, Any] = {"train": 0, "test": 0, "targets": 0, "negatives": 0}
    per_category: dict[str, int] = dict.fromkeys(categories, 0)
    for qid, entry in queries.items():
        targets = entry["targets"]
        category = category_of[targets[0]]
        pool = pools[category]
        drawn = rng.sample(pool, min(len(pool), negatives + len(targets)))  # extra draws make up for targets
        sampled = [p for p in drawn if p not in targets][:negatives]
        for pid, negative in [*((t, False) for t in targets), *((n, True) for n in sampled)]:
            rows["query_id"].append(qid)
            rows["query"].append(entry["query"])
            rows["product_id"].append(pid)
            rows["esci_label"].append("I" if negative else "E")
            rows["split"].append(entry["split"])
            rows["small_version"].append(entry["versions"][0])
            rows["large_version"].append(entry["versions"][1])
            rows["sampled_negative"].append(negative)
            used[pid] = None
        counts[entry["split"]] = counts.get(entry["split"], 0) + 1
        counts["targets"] += len(targets)
        counts["negatives"] += len(sampled)
        if entry["split"] == "test":
            per_category[category] += 1

    n = len(rows["product_id"])
    examples = pa.table({"example_id": pa.array(range(n), pa.int64()), **rows, "product_locale": ["us"] * n})
    products = _products(meta_paths, category_of, used)
    with atomic_write(out / EXAMPLES_FILE, "wb") as f:
        pq.write_table(examples, f)
    with atomic_write(out / PRODUCTS_FILE, "wb") as f:
        pq.write_table(products, f)
    counts.update(queries=len(queries), products=products.num_rows, examples=n)
    settings = {"seed": seed, "categories": list(categories), "negatives": negatives,
                "test_queries_by_category": per_category,
                "dropped": {"Exact targets outside the chosen categories' metadata": dropped_targets}}  # fmt: skip
    return write_manifest(out, "esci", settings, counts)


def _products(meta_paths: dict[str, Path], category_of: dict[str, str], used: dict[str, None]) -> Any:
    """The pool items' text from their category's metadata, in first-use order, ESCI product columns."""
    import pyarrow as pa

    records: dict[str, dict[str, Any]] = {}
    for c, path in meta_paths.items():
        wanted = {p for p in used if category_of[p] == c}
        records.update(meta_records(path, wanted))
    ids = list(used)
    rec = [records[p] for p in ids]
    return pa.table(
        {
            "product_id": ids,
            "product_title": [text_of(r.get("title")) for r in rec],
            "product_description": [text_of(r.get("description")) for r in rec],
            "product_bullet_point": [text_of(r.get("features")) for r in rec],
            "product_brand": [text_of(r.get("store")) for r in rec],
            "product_color": [""] * len(ids),
            "product_locale": ["us"] * len(ids),
            "product_category": [category_of[p] for p in ids],
        }
    )
