"""Loaders from real dataset files to :class:`recgym.data.TaskDataset`.

================================  ==========  =====================================================
loader                            task        files
================================  ==========  =====================================================
:func:`load_esci`                 search      ESCI ``shopping_queries_dataset_{examples,products}.parquet``
:func:`load_search_jsonl`         search      ``queries.jsonl`` + ``items.jsonl`` (Amazon-C4)
:func:`load_sequential_jsonl`     sequential  ``users.jsonl`` + ``items.jsonl`` (Rec-R1 Amazon 2023)
:func:`load_recbole`              sequential  RecBole ``<ds>.item`` + ``<ds>.{train,valid,test}.inter``
:func:`load_sequential`           sequential  either of the two above, autodetected
================================  ==========  =====================================================

Every loader raises :class:`DataFormatError` (a ``ValueError``) naming the file and the problem, and logs a
warning on the ``recgym.data.loaders`` logger when it drops unusable records (unknown item ids, queries
without a relevant item).
"""

from recgym.data.loaders._errors import DataFormatError
from recgym.data.loaders.esci import GAIN_PRESETS, load_esci
from recgym.data.loaders.jsonl import load_search_jsonl, load_sequential_jsonl, read_items_jsonl
from recgym.data.loaders.recbole import load_recbole
from recgym.data.loaders.sequential import load_sequential

__all__ = [
    "GAIN_PRESETS",
    "DataFormatError",
    "load_esci",
    "load_recbole",
    "load_search_jsonl",
    "load_sequential",
    "load_sequential_jsonl",
    "read_items_jsonl",
]
