"""Reading Amazon Reviews 2023 item metadata (``meta_<Category>.jsonl``) for ``recgym data prepare``.

The files are large (Sports_and_Outdoors holds ~1.6M items, several GB), and prepare needs the text of only a few
of them, so reading is two-step: :func:`meta_ids` lists a file's ``parent_asin`` values with a regular expression
(no JSON parsing), and :func:`meta_records` parses only the lines of the wanted items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Container, Iterator
from pathlib import Path
from typing import Any

from recgym.data.loaders import DataFormatError
from recgym.data.loaders._errors import at_line

_PARENT_ASIN = re.compile(rb'"parent_asin"\s*:\s*"([^"\\]+)"')


def _iter_ids(path: Path) -> Iterator[tuple[int, str, bytes]]:
    """``(line number, parent_asin, raw line)`` for every non-blank line."""
    with path.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            match = _PARENT_ASIN.search(line)
            if match is None:
                raise at_line(path, lineno, "no 'parent_asin' string (is this an Amazon Reviews 2023 meta file?)")
            yield lineno, match.group(1).decode("utf-8"), line


def meta_ids(path: Path) -> list[str]:
    """Every item id (``parent_asin``) of a metadata file, in file order, without repeats."""
    ids = list(dict.fromkeys(asin for _, asin, _ in _iter_ids(path)))
    if not ids:
        raise DataFormatError(f"{path}: file is empty (expected one JSON object per line)")
    return ids


def meta_records(path: Path, wanted: Container[str] | None = None) -> dict[str, dict[str, Any]]:
    """Parsed records by ``parent_asin`` (first line wins), only for ids in ``wanted`` (all when None)."""
    records: dict[str, dict[str, Any]] = {}
    for lineno, asin, line in _iter_ids(path):
        if asin in records or (wanted is not None and asin not in wanted):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise at_line(path, lineno, f"malformed JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(record, dict) or record.get("parent_asin") != asin:
            raise at_line(path, lineno, "expected a JSON object with a string 'parent_asin'")
        records[asin] = record
    return records


def text_of(value: Any) -> str:
    """A metadata field as one string: lists (``description``, ``features``) joined, None as empty."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(text_of(v) for v in value if v is not None).strip()
    return str(value).strip()
