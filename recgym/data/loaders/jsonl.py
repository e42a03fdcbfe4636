"""JSONL loaders: product search (``queries.jsonl`` + ``items.jsonl``) and next-item recommendation
(``users.jsonl`` + ``items.jsonl``), the formats of the Amazon-C4 and Rec-R1 Amazon Reviews 2023 slices.

Files are read line by line (the full Amazon-C4 item pool is ~1M lines), and every problem is reported with
the file and line number.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from recgym.data.loaders._build import ExampleCollector, check_fractions, check_positive, gc_paused, normalize_split
from recgym.data.loaders._errors import at_line, require_dir, require_file
from recgym.data.loaders._io import (
    JsonRecord,
    as_id,
    as_id_list,
    as_str,
    as_text_field,
    get_key,
    is_finite_number,
    iter_jsonl,
)
from recgym.data.types import Catalog, TaskDataset, hash_split

log = logging.getLogger("recgym.data.loaders")

#: Default fractions for records without a ``split`` field (assigned by ``hash_split`` on the record id).
DEFAULT_SPLIT_FRACTIONS: Mapping[str, float] = MappingProxyType({"train": 0.8, "val": 0.1, "test": 0.1})

QUERY_ID_KEYS = ("qid", "query_id", "id")
TARGET_KEYS = ("relevant", "item_ids", "item_id")


def read_items_jsonl(path: Path) -> Catalog:
    """A Catalog from an items JSONL file: ``item_id`` and ``title`` required, other fields kept as text.

    Scalar fields become strings and lists of scalars are joined with spaces; nested objects are skipped
    (logged). Items without a field get ``""``. A repeated ``item_id`` keeps its first line (logged), since
    crawled Amazon metadata does repeat products.
    """
    ids: list[str] = []
    fields: dict[str, list[str]] = {"title": []}
    seen: set[str] = set()
    duplicates: list[str] = []
    skipped: set[str] = set()
    for lineno, record in iter_jsonl(path):
        item_id = as_id(get_key(record, ("item_id",), path, lineno)[1], "item_id", path, lineno)
        if item_id in seen:
            duplicates.append(item_id)
            continue
        title = get_key(record, ("title",), path, lineno)[1]
        # null titles occur in Amazon metadata; treat them as empty rather than rejecting the whole pool
        title = "" if title is None else as_str(title, "title", path, lineno)
        seen.add(item_id)
        n = len(ids)
        ids.append(item_id)
        fields["title"].append(title)
        for key, value in record.items():
            if key in ("item_id", "title"):
                continue
            text = as_text_field(value)
            if text is None:
                skipped.add(key)
                continue
            column = fields.get(key)
            if column is None:
                column = fields[key] = [""] * n  # a field first seen late: earlier items lack it
            column.append(text)
        for column in fields.values():
            if len(column) == n:  # this item lacks the field
                column.append("")
    if duplicates:
        log.warning(
            "%s: %d repeated item ids ignored (kept the first line; e.g. %r)", path, len(duplicates), duplicates[0]
        )
    if skipped:
        log.info("%s: skipped fields with nested values: %s", path, sorted(skipped))
    return Catalog(item_ids=tuple(ids), fields={k: tuple(v) for k, v in fields.items()})


def _targets(record: JsonRecord, path: Path, lineno: int) -> dict[str, float]:
    """The graded targets of a query line: ``relevant`` {id: gain}, ``item_ids`` [ids] or ``item_id`` id."""
    key, value = get_key(record, TARGET_KEYS, path, lineno)
    if key == "item_id":
        return {as_id(value, key, path, lineno): 1.0}
    if key == "item_ids":
        return {i: 1.0 for i in as_id_list(value, key, path, lineno)}
    if not isinstance(value, dict):
        raise at_line(path, lineno, f"'relevant' must be an object of item id -> gain, got {type(value).__name__}")
    gains: dict[str, float] = {}
    for item_id, gain in value.items():
        # JSON's Infinity and NaN parse as floats: inf made the reward NaN, NaN dropped the label (NaN > 0 is False)
        if not is_finite_number(gain):
            raise at_line(path, lineno, f"'relevant' gain of {item_id!r} must be a finite number, got {gain!r}")
        if gain > 0:  # zero-gain labels carry no information for the reward
            gains[item_id] = float(gain)
    return gains


def _split(record: JsonRecord, key: str, fractions: Mapping[str, float], seed: int, path: Path, lineno: int) -> str:
    """The record's ``split`` field (aliases like ``valid`` accepted) or, when absent/null, a hash split."""
    value = record.get("split")
    if value is None:
        return hash_split(key, fractions, seed)
    split = normalize_split(as_str(value, "split", path, lineno))
    if split is None:
        raise at_line(path, lineno, f"unknown split {value!r}; expected train, val (or valid) or test")
    return split


def _check_split_map(split_map: Mapping[str, str] | None) -> dict[str, str]:
    """``split_map`` with canonical names (``valid`` -> ``val``); a ValueError names an unknown split."""
    renames = {}
    for source, target in (split_map or {}).items():
        names = (normalize_split(str(source)), normalize_split(str(target)))
        if None in names:
            raise ValueError(f"split_map {dict(split_map or {})!r}: use the splits train, val (or valid) and test")
        renames[names[0]] = names[1]
    return renames


@gc_paused
def load_search_jsonl(
    data_dir: str | Path,
    *,
    queries_file: str = "queries.jsonl",
    items_file: str = "items.jsonl",
    split_fractions: Mapping[str, float] = DEFAULT_SPLIT_FRACTIONS,
    seed: int = 0,
    name: str = "c4",
) -> TaskDataset:
    """Load a product-search task from JSONL (e.g. the Amazon-C4 slice).

    Query lines: an id (``qid``, ``query_id`` or ``id``), ``query`` (string), targets as ``item_id`` (one),
    ``item_ids`` (list) or ``relevant`` ({id: gain}), optional ``split``. Lines without a split are assigned
    one by ``hash_split(qid, split_fractions, seed)``. Targets missing from the items file are removed and a
    query left without targets is dropped; both are counted in a logged warning. Extra keys (e.g.
    ``category``) are ignored.

    Raises:
        DataFormatError: a file is missing, empty or malformed, or no query survives.
    """
    expected = (queries_file, items_file)
    folder = require_dir(data_dir, expected, "product-search JSONL")
    queries_path = require_file(folder, queries_file, expected, "product-search JSONL")
    items_path = require_file(folder, items_file, expected, "product-search JSONL")
    fractions = check_fractions(split_fractions)
    catalog = read_items_jsonl(items_path)
    out = ExampleCollector(queries_path, name, "search")
    for lineno, record in iter_jsonl(queries_path):
        id_key, raw_id = get_key(record, QUERY_ID_KEYS, queries_path, lineno)
        qid = as_id(raw_id, id_key, queries_path, lineno)
        query = as_str(get_key(record, ("query",), queries_path, lineno)[1], "query", queries_path, lineno)
        targets = _targets(record, queries_path, lineno)
        split = _split(record, qid, fractions, seed, queries_path, lineno)
        known = {i: g for i, g in targets.items() if i in catalog}
        if len(known) < len(targets):
            out.drop("target items not in the items file (removed from queries)", qid, len(targets) - len(known))
        if not known:
            out.drop("queries with no target left", qid)
            continue
        out.add(split, qid, query=query, relevant=known)
    return out.finish(catalog)


@gc_paused
def load_sequential_jsonl(
    data_dir: str | Path,
    *,
    users_file: str = "users.jsonl",
    items_file: str = "items.jsonl",
    max_history: int = 10,
    name: str = "seqrec",
    split_fractions: Mapping[str, float] | None = None,
    seed: int = 0,
    split_map: Mapping[str, str] | None = None,
    exclude_test_users: bool = False,
) -> TaskDataset:
    """Load a next-item recommendation task from JSONL (e.g. the Rec-R1 Amazon Reviews 2023 slices).

    User lines: ``user_id``, ``history`` (item ids, oldest first), ``target`` (the next item), optional
    ``split``. Histories keep their last ``max_history`` items. Lines without a split are assigned one by
    ``hash_split(user_id, split_fractions or 80/10/10, seed)``. A user with several lines in one split gets
    ids ``u``, ``u#2``, ... (the Rec-R1 files have such users). Unknown history items are removed and users
    with an unknown target are dropped, counted in a logged warning.

    The Rec-R1 slices ship only ``val`` and ``test`` users, and every test record reappears verbatim in val (one
    leave-one-out history per user, copied). To train on them without seeing a test user:
    ``split_map={"val": "train"}, exclude_test_users=True`` (Video_Games: 478 train users, 393 test).

    Args:
        split_map: Renames the file's splits after reading them, e.g. ``{"val": "train"}``.
        exclude_test_users: Drop every non-test record of a user who also has a test record (counted in the
            warning), so no test user's purchases are trained on.

    Raises:
        DataFormatError: a file is missing, empty or malformed, or no user survives.
    """
    check_positive("max_history", max_history)
    expected = (users_file, items_file)
    folder = require_dir(data_dir, expected, "sequential JSONL")
    users_path = require_file(folder, users_file, expected, "sequential JSONL")
    items_path = require_file(folder, items_file, expected, "sequential JSONL")
    fractions = check_fractions(split_fractions or DEFAULT_SPLIT_FRACTIONS)
    catalog = read_items_jsonl(items_path)
    known = frozenset(catalog.item_ids)  # plain set lookups: ~15 membership tests per user
    renames = _check_split_map(split_map)
    out = ExampleCollector(users_path, name, "sequential")
    records = []
    for lineno, record in iter_jsonl(users_path):
        user_id = as_id(get_key(record, ("user_id",), users_path, lineno)[1], "user_id", users_path, lineno)
        history = as_id_list(get_key(record, ("history",), users_path, lineno)[1], "history", users_path, lineno)
        target = as_id(get_key(record, ("target",), users_path, lineno)[1], "target", users_path, lineno)
        split = _split(record, user_id, fractions, seed, users_path, lineno)
        records.append((renames.get(split, split), user_id, history, target))
    test_users = {r[1] for r in records if r[0] == "test"} if exclude_test_users else set()
    for split, user_id, history, target in records:
        if split != "test" and user_id in test_users:
            out.drop(f"{split} records of users who have a test record (exclude_test_users)", user_id)
            continue
        out.add_sequential(split, user_id, history, target, known, max_history)
    return out.finish(catalog)
