"""Streaming readers for the three on-disk formats (JSONL, Parquet, RecBole atomic TSV) with uniform validation.

Every reader turns a bad file into a :class:`DataFormatError` that names the file, the line (for text formats)
and the problem, so the loaders themselves only deal with well-typed values.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from recgym import fileio
from recgym.data.loaders._errors import DataFormatError, at_line, missing_columns
from recgym.fileio import JsonRecord

log = logging.getLogger("recgym.data.loaders")


def utf8_error(path: Path) -> DataFormatError:
    """The error for a file that is not UTF-8, naming the first bad line and byte.

    Text-mode reading decodes 8 KB chunks ahead of the line being parsed, so the line it is on when decoding fails
    is not the bad one (it said line 33 for a bad byte on line 40, and a bad byte in a RecBole file's first 8 KB
    failed while reading the header). Each line is decoded on its own here: a newline byte is never part of a
    multi-byte UTF-8 sequence, so the first line that fails holds the first bad byte.
    """
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                return at_line(path, lineno, f"not valid UTF-8 text ({e.reason} at byte {e.start + 1} of the line)")
    return DataFormatError(f"{path}: not valid UTF-8 text")  # only if the file changed while it was read


def iter_jsonl(path: Path) -> Iterator[tuple[int, JsonRecord]]:
    """Yield ``(line number, object)`` for each non-blank line, streaming (files may hold millions of lines).

    Raises DataFormatError for a line that is not valid JSON or not a JSON object (:func:`recgym.fileio.iter_jsonl`
    with this module's error type), for bytes that are not UTF-8, and for a file with no records at all.
    """
    count = 0
    try:
        for lineno, record in fileio.iter_jsonl(path, error=at_line):
            count += 1
            yield lineno, record
    except UnicodeDecodeError:
        raise utf8_error(path) from None
    if count == 0:
        raise DataFormatError(f"{path}: file is empty (expected one JSON object per line)")


def get_key(record: JsonRecord, keys: Sequence[str], path: Path, lineno: int) -> tuple[str, Any]:
    """The first of ``keys`` present in ``record`` and its value; DataFormatError naming the line otherwise."""
    for key in keys:
        if key in record:
            return key, record[key]
    wanted = " or ".join(repr(k) for k in keys)
    raise at_line(path, lineno, f"missing key {wanted}; keys found: {sorted(record)}")


def as_id(value: Any, key: str, path: Path, lineno: int) -> str:
    """An id field as a string: ids may be JSON strings or integers (bools and others are errors)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise at_line(path, lineno, f"{key!r} must be a string or integer id, got {type(value).__name__} {value!r}")


def as_str(value: Any, key: str, path: Path, lineno: int) -> str:
    """A text field that must be a JSON string."""
    if not isinstance(value, str):
        raise at_line(path, lineno, f"{key!r} must be a string, got {type(value).__name__} {value!r}")
    return value


def as_id_list(value: Any, key: str, path: Path, lineno: int) -> list[str]:
    """A JSON list of ids (strings or integers)."""
    if not isinstance(value, list):
        raise at_line(path, lineno, f"{key!r} must be a list of item ids, got {type(value).__name__}")
    return [as_id(v, f"{key}[{i}]", path, lineno) for i, v in enumerate(value)]


def is_finite_number(value: Any) -> bool:
    """True for an int or float (not a bool) that is finite as a float: relevance gains must be, or NDCG is NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range (JSON allows any)
        return False


def as_text_field(value: Any) -> str | None:
    """An optional catalog field as text: scalars as str, lists of scalars joined; None for nested objects."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return " ".join(str(v) for v in value)  # e.g. Amazon 'features' bullet lists
    return None  # dicts and nested lists have no natural single-string form; the caller skips them


def read_parquet(
    path: Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    text: Sequence[str] = (),
    int_or_text: Sequence[str] = (),
    nullable_text: Sequence[str] = (),
    flags: Sequence[str] = (),
    filters: list[tuple[str, str, Any]] | None = None,
) -> Any:
    """Read the ``required`` (and present ``optional``) columns of a Parquet file as a ``pyarrow.Table``.

    Columns and types are checked from the file's schema before any data is read, so a bad file fails fast
    and says which columns it has. ``text`` columns must be strings and ``int_or_text`` strings or integers;
    both must be free of nulls. ``nullable_text`` columns, where present, must be strings (nulls allowed) and
    ``flags`` integers or booleans. Every string column read must be valid UTF-8. ``filters`` (pyarrow row
    filters, e.g. ``[("product_locale", "==", "us")]``) are applied while reading, which keeps peak memory near the
    kept rows on the full 1.8M-product file. A file with no rows is an error; a filter that keeps none is the
    caller's to report.
    """
    import pyarrow as pa  # local import: only the ESCI loader needs pyarrow
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
    except Exception as e:  # pyarrow raises several types for non-Parquet input
        raise DataFormatError(f"{path}: not a readable Parquet file ({e})") from None
    missing = [c for c in required if c not in schema.names]
    if missing:
        raise missing_columns(path, missing, schema.names)
    # a wrong type found here would otherwise surface later as a bare pyarrow error (a filter or comparison with
    # no kernel for it) or as silently stringified values
    for col in (*text, *int_or_text, *nullable_text, *flags):
        if col not in schema.names:
            continue  # required ones were checked above; optional ones may be absent
        typ = schema.field(col).type
        is_text = pa.types.is_string(typ) or pa.types.is_large_string(typ)
        if col in flags:
            ok, kind = pa.types.is_integer(typ) or pa.types.is_boolean(typ), "0/1 integers or booleans"
        elif col in int_or_text:
            ok, kind = is_text or pa.types.is_integer(typ), "strings or integers"
        elif col in nullable_text:  # an all-null column has Arrow's null type
            ok, kind = is_text or pa.types.is_null(typ), "strings"
        else:
            ok, kind = is_text, "strings"
        if not ok:
            raise DataFormatError(f"{path}: column {col!r} must hold {kind}, got {typ}")
    if meta.num_rows == 0:
        raise DataFormatError(f"{path}: file is empty (no rows)")
    columns = list(required) + [c for c in optional if c in schema.names and c not in required]
    try:
        table = pq.read_table(path, columns=columns, filters=filters)
    except Exception as e:  # a damaged page or footer passes read_metadata and fails here
        raise DataFormatError(f"{path}: not a readable Parquet file ({e})") from None
    for col in (*text, *int_or_text):
        if table[col].null_count:
            raise DataFormatError(f"{path}: column {col!r} has {table[col].null_count} null values")
    for col in table.column_names:
        if pa.types.is_string(table[col].type) or pa.types.is_large_string(table[col].type):
            try:  # Parquet does not guarantee UTF-8; to_pylist would raise a bare UnicodeDecodeError later
                table[col].validate(full=True)
            except pa.ArrowInvalid as e:
                raise DataFormatError(f"{path}: column {col!r} is not valid UTF-8 text ({e})") from None
    return table


def read_atomic_header(path: Path, required: Sequence[str]) -> list[str]:
    """Column names of a RecBole atomic file (header cells are ``name:type``); checks ``required`` are there."""
    try:
        with path.open("r", encoding="utf-8") as f:
            header = f.readline().rstrip("\r\n")
    except UnicodeDecodeError:  # the first 8 KB are decoded with the header
        raise utf8_error(path) from None
    if not header.strip():
        raise DataFormatError(f"{path}: file is empty (expected a header like 'item_id:token<TAB>title:token_seq')")
    names = [cell.split(":", 1)[0].strip() for cell in header.split("\t")]
    missing = [c for c in required if c not in names]
    if missing:
        raise missing_columns(path, missing, names)
    return names


def iter_atomic_rows(path: Path, n_columns: int) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, cells)`` for each data row after the header; streaming.

    RecBole reads these files with quoting disabled, so a plain split on tabs matches its parser. A row with
    the wrong number of cells is an error; a file with a header but no rows is an error. A last line without a
    newline is logged as a warning: a file cut inside its last field still has the right number of cells (a
    target ``834`` cut to ``8`` loads), and the missing newline is the only trace of the cut.
    """
    count = 0
    unterminated = 0
    try:
        with path.open("r", encoding="utf-8") as f:
            next(f, None)
            for lineno, line in enumerate(f, 2):
                if line[-1:] != "\n":  # only the last line can lack one
                    unterminated = lineno
                line = line.rstrip("\r\n")
                if not line:
                    continue
                cells = line.split("\t")
                if len(cells) != n_columns:
                    raise at_line(path, lineno, f"expected {n_columns} tab-separated fields, got {len(cells)}")
                count += 1
                yield lineno, cells
    except UnicodeDecodeError:
        raise utf8_error(path) from None
    if count == 0:
        raise DataFormatError(f"{path}: file has a header but no rows")
    if unterminated:
        log.warning(
            "%s, line %d: the last line has no newline; the file may be truncated (its last value cut short)",
            path,
            unterminated,
        )
