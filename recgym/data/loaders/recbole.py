"""Loader for RecBole atomic files in the sequential-benchmark layout (e.g. LLMRank's ``Games-6k``).

``<dataset>.item`` holds the catalog (``item_id:token``, ``title:token_seq``, any further fields) and
``<dataset>.{train,valid,test}.inter`` hold one leave-one-out example per line
(``user_id:token``, ``item_id_list:token_seq`` space-separated oldest first, ``item_id:token`` the target).
Header cells are ``name:type``; columns are found by name, never by position.
"""

from __future__ import annotations

import logging
from pathlib import Path

from recgym.data.loaders._build import ExampleCollector, check_positive, gc_paused
from recgym.data.loaders._errors import DataFormatError, folder_listing, require_dir, require_file
from recgym.data.loaders._io import iter_atomic_rows, read_atomic_header
from recgym.data.types import Catalog, TaskDataset

log = logging.getLogger("recgym.data.loaders")

#: RecBole's benchmark file suffixes and the recgym split each becomes.
INTER_SPLITS: tuple[tuple[str, str], ...] = (("train", "train"), ("valid", "val"), ("test", "test"))


def detect_recbole_dataset(folder: Path) -> str:
    """The dataset prefix of the single ``<prefix>.item`` file in ``folder``; DataFormatError if none or several."""
    prefixes = sorted(p.name[: -len(".item")] for p in folder.glob("*.item") if p.is_file())
    if len(prefixes) == 1:
        return prefixes[0]
    if not prefixes:
        raise DataFormatError(
            f"{folder}: no RecBole '<dataset>.item' file found (expected <dataset>.item and "
            f"<dataset>.train/valid/test.inter); found: {folder_listing(folder)}"
        )
    raise DataFormatError(f"{folder}: several RecBole datasets found {prefixes}; pass dataset= to choose one")


def _read_items(path: Path) -> Catalog:
    """The catalog from a ``.item`` file: every column but ``item_id`` becomes a text field."""
    names = read_atomic_header(path, ("item_id", "title"))
    id_col = names.index("item_id")
    field_cols = [(name, i) for i, name in enumerate(names) if i != id_col]
    ids: list[str] = []
    columns: dict[str, list[str]] = {name: [] for name, _ in field_cols}
    seen: set[str] = set()
    duplicates = 0
    for _, cells in iter_atomic_rows(path, len(names)):
        item_id = cells[id_col]
        if item_id in seen:
            duplicates += 1
            continue
        seen.add(item_id)
        ids.append(item_id)
        for name, i in field_cols:
            columns[name].append(cells[i])
    if duplicates:
        log.warning("%s: %d repeated item ids ignored (kept the first row)", path, duplicates)
    return Catalog(item_ids=tuple(ids), fields={k: tuple(v) for k, v in columns.items()})


@gc_paused
def load_recbole(
    data_dir: str | Path,
    *,
    dataset: str | None = None,
    max_history: int = 10,
    name: str | None = None,
    max_users: int | None = None,
) -> TaskDataset:
    """Load a next-item task from RecBole atomic files.

    Args:
        data_dir: Folder holding ``<dataset>.item`` and at least one of ``<dataset>.{train,valid,test}.inter``.
        dataset: File prefix; autodetected from the single ``*.item`` file when None.
        max_history: Histories keep their last ``max_history`` items.
        name: Dataset name; defaults to the prefix.
        max_users: Keep only the first N usable users (file order) of each split, for quick experiments.

    Splits: ``train``/``valid``/``test`` files become ``train``/``val``/``test``; a missing file leaves that
    split empty (Games-6k ships no train file). The same user appears in several splits by design.

    Raises:
        DataFormatError: files missing, empty or malformed, or no usable user.
    """
    check_positive("max_history", max_history)
    check_positive("max_users", max_users, allow_none=True)
    folder = require_dir(data_dir, ("<dataset>.item", "<dataset>.{train,valid,test}.inter"), "RecBole")
    prefix = dataset or detect_recbole_dataset(folder)
    expected = (f"{prefix}.item", f"{prefix}.train.inter", f"{prefix}.valid.inter", f"{prefix}.test.inter")
    item_path = require_file(folder, f"{prefix}.item", expected, "RecBole")
    inter_paths = [(folder / f"{prefix}.{suffix}.inter", split) for suffix, split in INTER_SPLITS]
    inter_paths = [(p, s) for p, s in inter_paths if p.is_file()]
    if not inter_paths:
        raise DataFormatError(
            f"{folder}: no interaction file found; expected at least one of {', '.join(expected[1:])}; "
            f"found: {folder_listing(folder)}"
        )
    catalog = _read_items(item_path)
    known = frozenset(catalog.item_ids)  # plain set lookups: ~30 membership tests per Games-6k user
    out = ExampleCollector(folder / f"{prefix}.*.inter", name or prefix, "sequential")
    for path, split in inter_paths:
        names = read_atomic_header(path, ("user_id", "item_id_list", "item_id"))
        iu, ih, it = names.index("user_id"), names.index("item_id_list"), names.index("item_id")
        for _, cells in iter_atomic_rows(path, len(names)):
            if max_users is not None and out.count(split) >= max_users:
                break  # stop reading: the rest of a 50k-user file is not needed
            out.add_sequential(split, cells[iu], cells[ih].split(), cells[it], known, max_history)
    return out.finish(catalog)
