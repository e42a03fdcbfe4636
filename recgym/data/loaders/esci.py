"""Loader for the Amazon Shopping Queries Dataset (ESCI) in its official Parquet schema.

Files: ``shopping_queries_dataset_examples.parquet`` (one row per labelled query-product pair) and
``shopping_queries_dataset_products.parquet`` (product text). Read with pyarrow only.

Splits: ESCI ships ``train`` and ``test``. ``test`` stays ``test``; a deterministic ``val`` split is carved out
of ``train`` by ``hash_split(query_id, {"train": 0.9, "val": 0.1}, seed)`` (override with ``split_fractions``),
so val never overlaps ESCI's official test queries and does not depend on file order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from recgym.data.loaders._build import ExampleCollector, check_fractions, gc_paused, normalize_split
from recgym.data.loaders._errors import DataFormatError, require_dir, require_file
from recgym.data.loaders._io import is_finite_number, read_parquet
from recgym.data.types import Catalog, TaskDataset, hash_split

log = logging.getLogger("recgym.data.loaders")

EXAMPLES_FILE = "shopping_queries_dataset_examples.parquet"
PRODUCTS_FILE = "shopping_queries_dataset_products.parquet"

#: Graded gains per ESCI label. ``esci`` follows the ESCI paper's nDCG gains; ``exact`` is Rec-R1's binary
#: relevance (only Exact matches count).
GAIN_PRESETS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "esci": MappingProxyType({"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0}),
        "exact": MappingProxyType({"E": 1.0, "S": 0.0, "C": 0.0, "I": 0.0}),
    }
)
#: Label spellings: the official one-letter codes and the full words some re-distributions use.
_LABELS = {
    "e": "E",
    "s": "S",
    "c": "C",
    "i": "I",
    "exact": "E",
    "substitute": "S",
    "complement": "C",
    "irrelevant": "I",
}

#: Catalog field -> products column (``title`` is required; the others are kept when the file has them).
PRODUCT_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "title": "product_title",
        "description": "product_description",
        "bullet_points": "product_bullet_point",
        "brand": "product_brand",
        "color": "product_color",
    }
)
CATEGORY_COLUMNS = ("product_category", "category")
DEFAULT_TRAIN_FRACTIONS: Mapping[str, float] = MappingProxyType({"train": 0.9, "val": 0.1})


def resolve_gains(gains: Mapping[str, float] | str) -> dict[str, float]:
    """The label -> gain table for a preset name or a user mapping (labels as letters or full words)."""
    if isinstance(gains, str):
        if gains not in GAIN_PRESETS:
            raise ValueError(f"unknown ESCI gain preset {gains!r}; presets: {sorted(GAIN_PRESETS)} or a mapping")
        return dict(GAIN_PRESETS[gains])
    table = {"E": 0.0, "S": 0.0, "C": 0.0, "I": 0.0}
    for label, gain in gains.items():
        code = _LABELS.get(str(label).strip().lower())
        if code is None:
            raise ValueError(f"unknown ESCI label {label!r} in gains; use E, S, C, I")
        # inf made every NDCG NaN (inf / inf) and NaN silently dropped the label (NaN > 0 is False)
        if not is_finite_number(gain) or gain < 0:
            raise ValueError(f"ESCI gains[{label!r}] must be a finite non-negative number, got {gain!r}")
        table[code] = float(gain)
    return table


def _read_catalog(path: Path, locale: str, pool: set[str], categories: Sequence[str] | None) -> Catalog:
    """The labelled products of ``locale`` (optionally only ``categories``) as a Catalog, in file order."""
    import pyarrow.parquet as pq

    if categories is not None:  # checked from the schema first: the official files cannot be filtered
        names = pq.read_schema(path).names
        category = next((c for c in CATEGORY_COLUMNS if c in names), None)
        if category is None:
            raise ValueError(
                f"{path}: cannot filter by categories: the ESCI files have no category column "
                f"(looked for {list(CATEGORY_COLUMNS)}; the official release has none)"
            )
    optional = [c for f, c in PRODUCT_FIELDS.items() if f != "title"] + list(CATEGORY_COLUMNS)
    filters = [("product_locale", "==", locale), ("product_id", "in", pool)]
    # titles and the other text fields may be null (an empty text) but must be strings: an int or binary column
    # became "12" or "b'...'" titles, and a non-string product_locale failed in the filter with a bare pyarrow error
    nullable = ("product_title", "product_locale", *optional)
    table = read_parquet(
        path,
        ("product_id", "product_title", "product_locale"),
        optional,
        text=("product_id",),
        nullable_text=nullable,
        filters=filters,
    )
    if categories is not None:
        found = sorted({c for c in table[category].to_pylist() if c is not None})
        table = table.filter(_is_in(table[category], categories))
        if table.num_rows == 0:
            raise ValueError(f"{path}: no labelled products in categories {list(categories)}; found {found[:20]}")
    ids = table["product_id"].to_pylist()
    fields = {f: table[c].to_pylist() for f, c in PRODUCT_FIELDS.items() if c in table.column_names}
    keep: dict[str, int] = {}  # first row per product id: ESCI lists each product once per locale, but be robust
    for i, pid in enumerate(ids):
        keep.setdefault(pid, i)
    if len(keep) < len(ids):
        first_repeat = next(pid for i, pid in enumerate(ids) if keep[pid] != i)
        log.warning(
            "%s: %d repeated product ids ignored (kept the first row; e.g. %r)",
            path,
            len(ids) - len(keep),
            first_repeat,
        )
        rows = list(keep.values())
        ids = [ids[i] for i in rows]
        fields = {f: [v[i] for i in rows] for f, v in fields.items()}
    return Catalog(item_ids=tuple(ids), fields={k: tuple(v) for k, v in fields.items()})


def _is_in(column: Any, values: Sequence[str]) -> Any:
    """Boolean mask of ``column`` values in ``values`` (typed like the column, e.g. large_string)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.is_in(column, value_set=pa.array(list(values), column.type))


@gc_paused
def load_esci(
    data_dir: str | Path,
    *,
    locale: str = "us",
    categories: Sequence[str] | None = None,
    gains: Mapping[str, float] | str = "esci",
    text_fields: Sequence[str] = ("title",),
    split_fractions: Mapping[str, float] | None = None,
    seed: int = 0,
    version: str | None = None,
) -> TaskDataset:
    """Load ESCI product search: one example per ``query_id`` with graded relevance from the ESCI labels.

    Args:
        data_dir: Folder with the two official Parquet files.
        locale: ``product_locale`` to keep (``us``, ``es`` or ``jp``).
        categories: Keep only products in these categories. The official files have no category column, so
            this raises ValueError unless the products file has ``product_category`` or ``category``.
        gains: ``"esci"`` (E 1.0, S 0.1, C 0.01, I 0), ``"exact"`` (E 1.0 only) or a label -> gain mapping.
        text_fields: Catalog fields a recommender will index; checked to exist (ValueError otherwise).
        split_fractions: How ESCI's *train* queries are divided; default ``{"train": 0.9, "val": 0.1}``.
        seed: Seed of that division.
        version: ``"small"`` or ``"large"`` keeps only rows flagged ``small_version``/``large_version`` (the
            reduced Task-1 set); None keeps all rows.

    The catalog is every labelled product of the locale (Irrelevant ones too: they are hard negatives).
    Queries without a positive-gain product under ``gains`` are dropped and counted in a logged warning.

    Raises:
        DataFormatError: files missing, empty, lacking a column, or holding unknown labels/splits.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table_gains = resolve_gains(gains)
    fractions = check_fractions(split_fractions or DEFAULT_TRAIN_FRACTIONS)
    if version not in (None, "small", "large"):
        raise ValueError(f"version must be None, 'small' or 'large', got {version!r}")
    expected = (EXAMPLES_FILE, PRODUCTS_FILE)
    folder = require_dir(data_dir, expected, "ESCI")
    examples_path = require_file(folder, EXAMPLES_FILE, expected, "ESCI")
    products_path = require_file(folder, PRODUCTS_FILE, expected, "ESCI")

    key_cols = ("query", "product_id", "product_locale", "esci_label", "split")
    version_col = (f"{version}_version",) if version else ()
    table = read_parquet(
        examples_path,
        ("query_id", *key_cols, *version_col),
        text=key_cols,
        int_or_text=("query_id",),
        flags=version_col,
        filters=[("product_locale", "==", locale)],
    )
    if table.num_rows == 0:  # only now read the whole locale column, to say which locales exist
        locales = pq.read_table(examples_path, columns=["product_locale"])["product_locale"].unique().to_pylist()
        raise DataFormatError(
            f"{examples_path}: no rows with product_locale == {locale!r}; locales found: {sorted(locales)}"
        )
    if version:
        table = table.filter(pc.equal(pc.cast(table[f"{version}_version"], pa.int64()), 1))  # ints or booleans
        if table.num_rows == 0:
            raise DataFormatError(f"{examples_path}: no {locale!r} rows flagged {version}_version == 1")

    pids = table["product_id"].to_pylist()
    catalog = _read_catalog(products_path, locale, set(pids), categories)
    missing = [f for f in text_fields if f not in catalog.fields]
    if missing:
        raise ValueError(f"text_fields {missing} are not ESCI catalog fields; available: {sorted(catalog.fields)}")

    # Labels and splits take a handful of distinct values: validate and translate each once, not per row
    # (the full ESCI has ~2.6M rows).
    label_gain: dict[str, float] = {}
    for label in table["esci_label"].unique().to_pylist():
        code = _LABELS.get(label.strip().lower())
        if code is None:
            raise DataFormatError(f"{examples_path}: unknown esci_label {label!r}; expected E, S, C or I")
        label_gain[label] = table_gains[code]
    official_split: dict[str, str] = {}
    for split in table["split"].unique().to_pylist():
        official = normalize_split(split)
        if official not in ("train", "test"):
            raise DataFormatError(f"{examples_path}: unknown split {split!r}; ESCI uses 'train' and 'test'")
        official_split[split] = official

    out = ExampleCollector(examples_path, "esci" if locale == "us" else f"esci-{locale}", "search")
    missing_reason = (
        "labels of products outside the chosen categories"
        if categories is not None
        else "labels of products missing from the products file"
    )
    known = frozenset(catalog.item_ids)
    queries: dict[str, tuple[str, str, dict[str, float]]] = {}  # qid -> (query, official split, gains)
    conflicts: dict[str, int] = {}  # qid -> rows whose query text or split differ from the qid's first row
    columns = (table[c].to_pylist() for c in ("query_id", "query", "esci_label", "split"))
    for qid, query, label, split, pid in zip(*columns, pids, strict=True):
        qid = str(qid)
        entry = queries.get(qid)
        if entry is None:
            entry = queries[qid] = (query, official_split[split], {})
        elif query != entry[0] or official_split[split] != entry[1]:
            conflicts[qid] = conflicts.get(qid, 0) + 1  # its labels still join the first row's query
        if pid not in known:
            out.drop(missing_reason, qid)
            continue
        gain = label_gain[label]
        if gain > 0:
            entry[2][pid] = max(gain, entry[2].get(pid, 0.0))
    if conflicts:
        log.warning(
            "%s: %d query_ids repeat with a different query text or split in %d rows (kept the first row's; e.g. %r)",
            examples_path,
            len(conflicts),
            sum(conflicts.values()),
            next(iter(conflicts)),
        )
    for qid, (query, official, relevant) in queries.items():
        if not relevant:
            out.drop("queries with no positive-gain product", qid)
            continue
        split = "test" if official == "test" else hash_split(qid, fractions, seed)
        out.add(split, qid, query=query, relevant=relevant)
    return out.finish(catalog)
