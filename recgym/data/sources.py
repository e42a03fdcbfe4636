"""Where the real datasets of the Rec-R1 paper come from: one table of dataset -> files -> URL.

This is the only place that knows upstream URLs and file layouts; ``recgym data fetch`` downloads what it lists and
``recgym data prepare`` reads the same local names. Every remote file is addressed as ``<base>/<path>``, where
``<base>`` is the dataset's upstream base URL, or ``<mirror>/<dataset>`` when a mirror is given (``--mirror`` or
``$RECGYM_DATA_MIRROR``: any HTTP server holding the upstream layout, e.g. a local copy or a test server).

- ``esci``: https://github.com/amazon-science/esci-data/raw/main (Git LFS objects; GitHub redirects to its media
  host) + ``shopping_queries_dataset/shopping_queries_dataset_{examples,products}.parquet``.
- ``amazon-c4``: https://huggingface.co/datasets/McAuley-Lab/Amazon-C4/resolve/main + ``test.csv`` and
  ``sampled_item_metadata_1M.jsonl``.
- ``amazon-reviews-2023``: https://huggingface.co/datasets/McAuley-Lab/Amazon-Reviews-2023/resolve/main +
  ``raw/meta_categories/meta_<C>.jsonl`` (the ``raw_meta_<C>`` subset) and
  ``benchmark/0core/timestamp_w_his/<C>.{train,valid,test}.csv`` (``0core_timestamp_w_his_<C>``); these paths are
  the ones the dataset's own loading script reads.

Upstream publishes no checksums for these files, so ``sha256``/``size`` are unset and a download is validated by the
size the server announced plus a whole-file format check (:mod:`recgym.data.checks`: Parquet footer readable with the
required columns; every JSONL line a JSON object, the first with the required keys; every CSV record as wide as its
header, quotes closed, the last record ended). Row counts, where the dataset cards state them (``rows``), must
match too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from recgym.paths import cache_dir

MIRROR_ENV = "RECGYM_DATA_MIRROR"

#: Top-level categories of Amazon Reviews 2023 (the ``raw_meta_<C>`` / ``0core_*_<C>`` subset names).
AMAZON_2023_CATEGORIES: tuple[str, ...] = (
    "All_Beauty", "Amazon_Fashion", "Appliances", "Arts_Crafts_and_Sewing", "Automotive", "Baby_Products",
    "Beauty_and_Personal_Care", "Books", "CDs_and_Vinyl", "Cell_Phones_and_Accessories", "Clothing_Shoes_and_Jewelry",
    "Digital_Music", "Electronics", "Gift_Cards", "Grocery_and_Gourmet_Food", "Handmade_Products",
    "Health_and_Household", "Health_and_Personal_Care", "Home_and_Kitchen", "Industrial_and_Scientific",
    "Kindle_Store", "Magazine_Subscriptions", "Movies_and_TV", "Musical_Instruments", "Office_Products",
    "Patio_Lawn_and_Garden", "Pet_Supplies", "Software", "Sports_and_Outdoors", "Subscription_Boxes",
    "Tools_and_Home_Improvement", "Toys_and_Games", "Video_Games", "Unknown",
)  # fmt: skip
#: Rec-R1's ESCI test domains (its per-category test sets); what ``fetch/prepare esci`` use without ``--category``.
ESCI_PAPER_CATEGORIES: tuple[str, ...] = ("Video_Games", "Baby_Products", "Office_Products", "Sports_and_Outdoors")
#: Rec-R1's sequential-recommendation domains (as in ../shared/data); the default of ``amazon-reviews-2023``.
SEQREC_PAPER_CATEGORIES: tuple[str, ...] = ("Video_Games", "Baby_Products")


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file: where it lives upstream, its local name, and how to tell a good copy."""

    source: str  # dataset whose base URL and raw folder hold it (ESCI's category join needs Amazon 2023 files)
    path: str  # relative to the source's base URL
    kind: str  # "parquet", "jsonl" or "csv": the format check
    columns: tuple[str, ...]  # columns (keys) the format check requires
    sha256: str | None = None
    size: int | None = None
    rows: int | None = None  # row count the dataset card states: checked (a pass is remembered, so counted once)

    @property
    def name(self) -> str:
        """Local file name: the upstream base name, so hand-downloaded files need no renaming."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Source:
    """A dataset as ``recgym data`` knows it."""

    name: str
    title: str
    base_url: str
    alternative: str  # where else to get it, for the manual-download message
    default_categories: tuple[str, ...] = ()

    @property
    def prepared(self) -> str:
        """Folder under the data cache that ``prepare`` writes: the ``cache_name`` of the task it builds."""
        from recgym.tasks import spec_for_fetch

        return str(spec_for_fetch(self.name).cache_name)


SOURCES: dict[str, Source] = {
    "esci": Source(
        "esci",
        "Amazon Shopping Queries (ESCI)",
        "https://github.com/amazon-science/esci-data/raw/main",
        "the Hub dataset tasksource/esci (same rows, labels spelled out)",
        ESCI_PAPER_CATEGORIES,
    ),
    "amazon-c4": Source(
        "amazon-c4",
        "Amazon-C4 (complex product search)",
        "https://huggingface.co/datasets/McAuley-Lab/Amazon-C4/resolve/main",
        "load_dataset('McAuley-Lab/Amazon-C4') for the queries",
    ),
    "amazon-reviews-2023": Source(
        "amazon-reviews-2023",
        "Amazon Reviews 2023 (McAuley Lab)",
        "https://huggingface.co/datasets/McAuley-Lab/Amazon-Reviews-2023/resolve/main",
        "https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_2023/ (gzipped copies; gunzip them)",
        SEQREC_PAPER_CATEGORIES,
    ),
}

ESCI_EXAMPLES = RemoteFile(
    "esci",
    "shopping_queries_dataset/shopping_queries_dataset_examples.parquet",
    "parquet",
    ("query_id", "query", "product_id", "product_locale", "esci_label", "split"),
)
ESCI_PRODUCTS = RemoteFile(
    "esci",
    "shopping_queries_dataset/shopping_queries_dataset_products.parquet",
    "parquet",
    ("product_id", "product_title", "product_locale"),
)
C4_QUERIES = RemoteFile("amazon-c4", "test.csv", "csv", ("qid", "query", "item_id"), rows=21_223)
C4_ITEMS = RemoteFile("amazon-c4", "sampled_item_metadata_1M.jsonl", "jsonl", ("item_id", "metadata"), rows=1_058_417)
BENCHMARK_SPLITS = ("train", "valid", "test")


def amazon_meta(category: str) -> RemoteFile:
    """``raw_meta_<category>``: item metadata (``parent_asin``, ``title``, ``description``, ...), one JSON per line."""
    return RemoteFile("amazon-reviews-2023", f"raw/meta_categories/meta_{category}.jsonl", "jsonl", ("parent_asin",))


def amazon_benchmark(category: str, split: str) -> RemoteFile:
    """``0core_timestamp_w_his_<category>``: one row per interaction with the user's earlier items as ``history``."""
    return RemoteFile(
        "amazon-reviews-2023",
        f"benchmark/0core/timestamp_w_his/{category}.{split}.csv",
        "csv",
        ("user_id", "parent_asin", "history"),
    )


def check_categories(dataset: str, categories: Sequence[str] | None) -> tuple[str, ...]:
    """The categories to use for ``dataset`` (its paper defaults when None); ValueError naming unknown ones."""
    source = get_source(dataset)
    if dataset == "amazon-c4":
        return tuple(categories or ())  # C4 categories are the item pool's own labels, matched loosely at prepare
    chosen = tuple(dict.fromkeys(categories or source.default_categories))
    unknown = [c for c in chosen if c not in AMAZON_2023_CATEGORIES]
    if unknown:
        raise ValueError(
            f"unknown Amazon Reviews 2023 categor{'ies' if len(unknown) > 1 else 'y'} {unknown}; "
            f"known: {', '.join(AMAZON_2023_CATEGORIES)}"
        )
    return chosen


def dataset_files(dataset: str, categories: Sequence[str] | None = None) -> list[RemoteFile]:
    """Every file ``prepare <dataset>`` needs for ``categories`` (default: the paper's)."""
    chosen = check_categories(dataset, categories)
    if dataset == "esci":
        # ESCI has no category column; prepare joins product ids with Amazon 2023 metadata of each category
        return [ESCI_EXAMPLES, ESCI_PRODUCTS, *(amazon_meta(c) for c in chosen)]
    if dataset == "amazon-c4":
        return [C4_QUERIES, C4_ITEMS]
    return [f for c in chosen for f in (amazon_meta(c), *(amazon_benchmark(c, s) for s in BENCHMARK_SPLITS))]


def get_source(dataset: str) -> Source:
    if dataset not in SOURCES:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(SOURCES)}")
    return SOURCES[dataset]


def raw_root(root: str | Path | None = None) -> Path:
    """Folder holding every dataset's raw downloads: ``root``, else ``<cache>/data/raw``."""
    return Path(root).expanduser() if root is not None else cache_dir() / "data" / "raw"


def local_path(file: RemoteFile, root: str | Path | None = None) -> Path:
    """Where ``file`` is (or will be) on disk: ``<raw root>/<source>/<name>``."""
    return raw_root(root) / file.source / file.name


def file_url(file: RemoteFile, mirror: str | None = None) -> str:
    """The URL of ``file``: upstream, or under ``mirror`` (argument, else ``$RECGYM_DATA_MIRROR``) when set."""
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    base = f"{mirror.rstrip('/')}/{file.source}" if mirror else SOURCES[file.source].base_url
    return f"{base}/{file.path}"


def upstream_url(file: RemoteFile) -> str:
    """The upstream URL of ``file`` whatever the mirror (for messages telling users where to get it by hand)."""
    return f"{SOURCES[file.source].base_url}/{file.path}"
