"""Issue #15, defects 4 and 8: bad data files fail with an error naming the file, line or column and field, and
suspicious ones (repeats, a truncated last line) are logged, as every loader does."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_loaders import _esci, _raises, _recbole, _search

from recgym.data.loaders import DataFormatError, load_esci, load_recbole, load_search_jsonl
from recgym.data.loaders.esci import EXAMPLES_FILE, PRODUCTS_FILE

# ---------------------------------------------------------------- defect 4: non-finite gains


@pytest.mark.parametrize("gain", ["Infinity", "-Infinity", "NaN", "1e999", "1" + "0" * 400])
def test_search_jsonl_refuses_non_finite_gains(tmp_path: Path, gain: str) -> None:
    folder = _search(tmp_path, [f'{{"qid": "1", "query": "q", "relevant": {{"a": 1, "b": {gain}}}}}'])
    _raises(lambda: load_search_jsonl(folder), folder / "queries.jsonl", "line 1", "gain of 'b' must be a finite")


@pytest.mark.parametrize("gain", [math.inf, math.nan, -1.0, 10**400], ids=["inf", "nan", "negative", "huge-int"])
def test_esci_refuses_non_finite_gains(tmp_path: Path, gain: float) -> None:
    folder = _esci(tmp_path / "esci")
    _raises(lambda: load_esci(folder, gains={"E": gain}), "gains['E']", "finite non-negative", exc=ValueError)


# ---------------------------------------------------------------- defect 8: UTF-8 errors name the right line


def test_invalid_utf8_is_reported_on_its_own_line(tmp_path: Path) -> None:
    """Text-mode reading decodes 8 KB ahead: a bad byte on line 40 was reported on line 33."""
    folder = _search(tmp_path, [])
    lines = [f'{{"qid": "{i}", "query": "{"x" * 250}", "item_id": "a"}}\n'.encode() for i in range(1, 40)]
    (folder / "queries.jsonl").write_bytes(b"".join(lines) + b'{"qid": "40", "query": "\xff", "item_id": "a"}\n')
    _raises(lambda: load_search_jsonl(folder), folder / "queries.jsonl", "line 40:", "not valid UTF-8", "byte 25")


def test_invalid_utf8_in_a_recbole_header_or_first_rows_names_the_file(tmp_path: Path) -> None:
    """The header read decodes the first 8 KB: a bad byte there was a bare UnicodeDecodeError."""
    folder = _recbole(tmp_path / "rb")
    item = folder / "Tiny.item"
    good = item.read_bytes()
    item.write_bytes(b"item_id:token\ttitle:token_seq\xe9\n0\tx\n")
    _raises(lambda: load_recbole(folder), item, "line 1:", "not valid UTF-8")
    lines = good.split(b"\n")
    lines[3] = lines[3].replace(b"Item", b"It\xc3em")
    item.write_bytes(b"\n".join(lines))
    _raises(lambda: load_recbole(folder), item, "line 4:", "not valid UTF-8")


# ---------------------------------------------------------------- defect 8: ESCI column errors


def _replace_column(path: Path, name: str, values: pa.Array) -> None:
    table = pq.read_table(path)
    pq.write_table(table.set_column(table.schema.get_field_index(name), name, values), path)


def test_esci_invalid_utf8_string_column(tmp_path: Path) -> None:
    folder = _esci(tmp_path / "esci")
    n = pq.read_metadata(folder / EXAMPLES_FILE).num_rows
    bad = pa.array([b"\xff"] + [b"red shoe"] * (n - 1), pa.binary()).view(pa.string())  # row 0: locale "us"
    _replace_column(folder / EXAMPLES_FILE, "query", bad)
    _raises(lambda: load_esci(folder), EXAMPLES_FILE, "column 'query' is not valid UTF-8")


def test_esci_wrongly_typed_columns(tmp_path: Path) -> None:
    folder = _esci(tmp_path / "esci")
    examples, products = folder / EXAMPLES_FILE, folder / PRODUCTS_FILE
    n = pq.read_metadata(examples).num_rows
    _replace_column(examples, "small_version", pa.array(["1"] * n))
    _raises(lambda: load_esci(folder, version="small"), examples, "'small_version' must hold 0/1 integers")
    _replace_column(examples, "small_version", pa.array([True] * n))
    assert load_esci(folder, version="small").splits  # booleans are flags too
    m = pq.read_metadata(products).num_rows
    for column, values in [("product_locale", pa.array(range(m))), ("product_title", pa.array(range(m)))]:
        original = pq.read_table(products)
        _replace_column(products, column, values)
        _raises(lambda: load_esci(folder), products, f"column {column!r} must hold strings, got int64")
        pq.write_table(original, products)


# ---------------------------------------------------------------- defect 8: repeats are logged


def test_esci_warns_about_repeated_products_and_query_ids(tmp_path: Path, caplog) -> None:
    rows = [
        {"query_id": 1, "query": "red shoe", "product_id": "p1", "esci_label": "E"},
        {"query_id": 1, "query": "blue shoe", "product_id": "p2", "esci_label": "E"},
        {"query_id": 1, "query": "red shoe", "product_id": "p3", "esci_label": "S"},
    ]
    folder = _esci(tmp_path / "esci", examples=rows)
    products = pq.read_table(folder / PRODUCTS_FILE)
    twice = pa.concat_tables([products, products.slice(0, 1)])
    pq.write_table(
        twice.set_column(1, "product_title", pa.array([*products["product_title"].to_pylist(), "dup"])),
        folder / PRODUCTS_FILE,
    )
    with caplog.at_level(logging.WARNING, logger="recgym.data.loaders"):
        ds = load_esci(folder)
    assert ds.catalog.titles[ds.catalog.position("p1")] == "title p1"  # the first row is kept
    assert "1 repeated product ids ignored" in caplog.text and "'p1'" in caplog.text
    assert "1 query_ids repeat with a different query text or split in 1 rows" in caplog.text
    assert [ex.query for s in ds.splits.values() for ex in s] == ["red shoe"]


# ---------------------------------------------------------------- defect 8: a truncated RecBole file


def test_recbole_file_cut_in_its_last_field_is_reported(tmp_path: Path, caplog) -> None:
    folder = _recbole(tmp_path / "rb")
    test = folder / "Tiny.test.inter"
    with caplog.at_level(logging.WARNING, logger="recgym.data.loaders"):
        load_recbole(folder)
    assert "no newline" not in caplog.text
    test.write_bytes(test.read_bytes()[:-1])  # "7\tu1\t4 5 6\n" -> "7\tu1\t4 5 6": still 3 fields
    with caplog.at_level(logging.WARNING, logger="recgym.data.loaders"):
        load_recbole(folder)
    assert f"{test}, line 3: the last line has no newline; the file may be truncated" in caplog.text


def test_all_errors_are_data_format_errors(tmp_path: Path) -> None:
    """The loaders' one error type: callers catch DataFormatError (a ValueError), never a codec or Arrow error."""
    folder = _recbole(tmp_path / "rb")
    (folder / "Tiny.valid.inter").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DataFormatError):
        load_recbole(folder)
