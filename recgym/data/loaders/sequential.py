"""Format autodetection for next-item recommendation data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recgym.data.loaders._errors import DataFormatError, folder_listing, require_dir
from recgym.data.loaders.jsonl import load_sequential_jsonl
from recgym.data.loaders.recbole import load_recbole
from recgym.data.types import TaskDataset


def load_sequential(data_dir: str | Path, **kw: Any) -> TaskDataset:
    """Load next-item data in whichever supported format ``data_dir`` holds.

    ``users.jsonl`` (or ``kw["users_file"]``) -> :func:`load_sequential_jsonl`; ``*.inter`` files ->
    :func:`load_recbole`. Keyword arguments go to the chosen loader.

    Raises:
        DataFormatError: neither format is present (the message lists the folder's files).
    """
    expected = ("users.jsonl + items.jsonl", "<dataset>.item + <dataset>.*.inter")
    folder = require_dir(data_dir, expected, "sequential")
    if (folder / kw.get("users_file", "users.jsonl")).is_file():
        return load_sequential_jsonl(folder, **kw)
    if any(folder.glob("*.inter")):
        return load_recbole(folder, **kw)
    raise DataFormatError(
        f"{folder}: no sequential data found; expected {' or '.join(expected)}; found: {folder_listing(folder)}"
    )
