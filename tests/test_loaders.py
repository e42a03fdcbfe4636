"""Loaders: the real public slices (via ``shared_data``, skipped without it) and tiny files written here."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recgym.data import hash_split
from recgym.data.loaders import (
    DataFormatError,
    load_esci,
    load_recbole,
    load_search_jsonl,
    load_sequential,
    load_sequential_jsonl,
)
from recgym.data.loaders.esci import EXAMPLES_FILE, PRODUCTS_FILE


def _raises(fn, *needles: object, exc: type[Exception] = DataFormatError) -> str:
    """Call ``fn`` expecting ``exc``; assert every needle (paths included) is in the message."""
    with pytest.raises(exc) as info:
        fn()
    message = str(info.value)
    for needle in needles:
        assert str(needle) in message, f"{needle!r} not in {message!r}"
    return message


def _write_jsonl(path: Path, rows: list) -> Path:
    """Rows as dicts (dumped) or raw strings (written verbatim, for malformed lines)."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _sizes(ds) -> dict[str, int]:
    return {s: len(v) for s, v in ds.splits.items()}


# ---------------------------------------------------------------- real data


def test_esci_sample_graded_and_exact(shared_data: Path) -> None:
    ds = load_esci(shared_data / "esci_sample")
    assert ds.task == "search" and len(ds.catalog) == 16  # all labelled products, Irrelevant included
    assert _sizes(ds) == {"train": 0, "val": 0, "test": 1}
    (ex,) = ds.split("test")
    assert ex.example_id == "535" and ex.query == "06 bmw 325i radio oem not navigation system"
    gains = sorted(ex.relevant.values())
    assert gains.count(1.0) == 3 and gains.count(0.1) == 6 and len(gains) == 9  # E=3, S=6; I=7 have gain 0
    assert {"title", "description", "bullet_points", "brand", "color"} <= set(ds.catalog.fields)
    exact = load_esci(shared_data / "esci_sample", gains="exact").split("test")[0]
    assert exact.relevant == {k: 1.0 for k, g in ex.relevant.items() if g == 1.0} and len(exact.relevant) == 3
    _raises(
        lambda: load_esci(shared_data / "esci_sample", categories=["Electronics"]), "no category column", exc=ValueError
    )
    _raises(lambda: load_esci(shared_data / "esci_sample", locale="jp"), EXAMPLES_FILE, "locales found: ['us']")


def test_amazon_c4_closed(shared_data: Path) -> None:
    ds = load_search_jsonl(shared_data / "amazon_c4_closed")
    again = load_search_jsonl(shared_data / "amazon_c4_closed")
    assert len(ds.catalog) == 13_412 and sum(_sizes(ds).values()) == 88
    assert ds.splits == again.splits  # hash split: deterministic
    assert all(len(ex.relevant) == 1 and ex.query for s in ds.splits.values() for ex in s)
    assert load_search_jsonl(shared_data / "amazon_c4_closed", seed=1).splits != ds.splits  # seed matters


@pytest.mark.parametrize(
    ("folder", "n_items", "sizes"),
    [
        ("amazon_seqrec_video_games", 2_858, {"val": 945, "test": 393}),
        ("amazon_seqrec_baby_products", 3_448, {"val": 1_010, "test": 431}),
    ],
)
def test_amazon_seqrec(shared_data: Path, folder: str, n_items: int, sizes: dict, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="recgym.data.loaders"):
        ds = load_sequential_jsonl(shared_data / folder)
    assert ds.task == "sequential" and len(ds.catalog) == n_items
    assert _sizes(ds) == {"train": 0, **sizes}  # the file's split field is respected
    examples = [ex for s in ds.splits.values() for ex in s]
    assert all(1 <= len(ex.history) <= 10 and len(ex.relevant) == 1 for ex in examples)
    for split in ("val", "test"):  # some users repeat within a split: ids made unique with '#n'
        ids = [ex.example_id for ex in ds.split(split)]
        assert len(set(ids)) == len(ids)
    assert "identical to test examples" in caplog.text  # Rec-R1's val repeats every test record
    short = load_sequential_jsonl(shared_data / folder, max_history=2)
    assert max(len(ex.history) for ex in short.split("val")) == 2


def test_seqrec_train_split_without_test_users(shared_data: Path, caplog) -> None:
    """Rec-R1's slice has only val and test users; training on val must not see a test user's purchases."""
    folder = shared_data / "amazon_seqrec_video_games"
    with caplog.at_level(logging.WARNING, logger="recgym.data.loaders"):
        ds = load_sequential_jsonl(folder, split_map={"val": "train"}, exclude_test_users=True)
    assert _sizes(ds) == {"train": 478, "val": 0, "test": 393}  # 945 val records, 467 of them by test users
    base = lambda split: {ex.example_id.split("#")[0] for ex in ds.split(split)}  # noqa: E731
    assert not base("train") & base("test")
    assert "dropped 467 train records of users who have a test record" in caplog.text
    assert "identical to test examples" not in caplog.text  # the verbatim copies were among them
    kept = load_sequential_jsonl(folder, split_map={"valid": "train"})  # aliases accepted; nothing excluded
    assert _sizes(kept) == {"train": 945, "val": 0, "test": 393}
    with pytest.raises(ValueError, match="split_map"):
        load_sequential_jsonl(folder, split_map={"val": "holdout"})


def test_games6k_recbole(shared_data: Path) -> None:
    ds = load_recbole(shared_data / "games6k", max_users=200)
    assert ds.name == "Games-6k" and len(ds.catalog) == 16_859
    assert _sizes(ds) == {"train": 0, "val": 200, "test": 200}
    assert all(len(ex.history) <= 10 for s in ds.splits.values() for ex in s)
    # leave-one-out: a user's test history ends with their validation target
    val, test = ds.split("val")[0], ds.split("test")[0]
    assert val.example_id == test.example_id == "0"
    assert test.history[-1] == next(iter(val.relevant)) and test.history[:-1] == val.history[1:]
    auto = load_sequential(shared_data / "games6k", max_users=5, max_history=3)
    assert _sizes(auto)["test"] == 5 and all(len(ex.history) == 3 for ex in auto.split("test"))
    assert _sizes(load_sequential(shared_data / "amazon_seqrec_video_games"))["test"] == 393


def test_games6k_full_user_count(shared_data: Path) -> None:
    assert _sizes(load_recbole(shared_data / "games6k")) == {"train": 0, "val": 50_546, "test": 50_546}


# ---------------------------------------------------------------- ESCI written here


def _esci(folder: Path, examples: list[dict] | None = None, products: list[dict] | None = None, **cols) -> Path:
    """An ESCI folder in the official schema: q1/q2 train, q3 test; p9 is labelled but has no product row."""
    folder.mkdir(exist_ok=True)
    rows = examples or [
        {"query_id": 1, "query": "red shoe", "product_id": "p1", "esci_label": "E"},
        {"query_id": 1, "query": "red shoe", "product_id": "p2", "esci_label": "S"},
        {"query_id": 1, "query": "red shoe", "product_id": "p3", "esci_label": "I"},
        {"query_id": 1, "query": "red shoe", "product_id": "p9", "esci_label": "E"},
        {"query_id": 2, "query": "blue hat", "product_id": "p3", "esci_label": "I"},
        {"query_id": 3, "query": "shoe polish", "product_id": "p4", "esci_label": "C"},
        {"query_id": 4, "query": "zapato", "product_id": "p5", "esci_label": "E", "product_locale": "es"},
    ]
    for i, r in enumerate(rows):
        r.setdefault("example_id", i)
        r.setdefault("product_locale", "us")
        r.setdefault("split", "test" if r["query_id"] == 3 else "train")
        r.setdefault("small_version", int(r["query_id"] != 1))
        r.setdefault("large_version", 1)
    pq.write_table(pa.Table.from_pylist(rows), folder / EXAMPLES_FILE)
    prods = products or [
        {
            "product_id": p,
            "product_title": f"title {p}",
            "product_description": None,
            "product_bullet_point": "b",
            "product_brand": "acme",
            "product_color": "red",
            "product_locale": "es" if p == "p5" else "us",
            **cols,
        }
        for p in ("p1", "p2", "p3", "p4", "p5", "p6")
    ]
    pq.write_table(pa.Table.from_pylist(prods), folder / PRODUCTS_FILE)
    return folder


def test_esci_written_gains_drops_and_val_carve(tmp_path: Path, caplog) -> None:
    folder = _esci(tmp_path / "esci")
    with caplog.at_level(logging.WARNING, logger="recgym.data.loaders"):
        ds = load_esci(folder)
    assert set(ds.catalog.item_ids) == {"p1", "p2", "p3", "p4"}  # us products that are labelled (not p6, p5)
    assert ds.catalog.fields["description"][0] == ""
    by_id = {ex.example_id: (s, ex) for s, exs in ds.splits.items() for ex in exs}
    assert set(by_id) == {"1", "3"}  # q2 has only an Irrelevant label: dropped
    assert by_id["1"][1].relevant == {"p1": 1.0, "p2": 0.1}
    assert by_id["1"][0] == hash_split("1", {"train": 0.9, "val": 0.1}, 0)
    assert by_id["3"] == ("test", by_id["3"][1]) and by_id["3"][1].relevant == {"p4": 0.01}
    assert "1 queries with no positive-gain product" in caplog.text
    assert "labels of products missing from the products file" in caplog.text
    assert set(load_esci(folder, split_fractions={"val": 1.0}).splits["val"][0].relevant) == {"p1", "p2"}
    assert [ex.example_id for ex in load_esci(folder, gains="exact").splits["test"]] == []
    custom = load_esci(folder, gains={"Exact": 2.0, "complement": 0.5})
    assert {ex.example_id: ex.relevant for s in custom.splits.values() for ex in s} == {
        "1": {"p1": 2.0},
        "3": {"p4": 0.5},
    }
    small = load_esci(folder, version="small")
    assert [ex.example_id for s in small.splits.values() for ex in s] == ["3"]
    es = load_esci(folder, locale="es")
    assert es.name == "esci-es" and list(es.catalog.item_ids) == ["p5"]
    _raises(lambda: load_esci(folder, gains="graded"), "unknown ESCI gain preset", exc=ValueError)
    _raises(lambda: load_esci(folder, text_fields=("title", "reviews")), "reviews", exc=ValueError)


def test_esci_written_category_column(tmp_path: Path) -> None:
    folder = _esci(tmp_path / "esci", product_category="Shoes")
    assert len(load_esci(folder, categories=["Shoes"]).catalog) == 4
    _raises(lambda: load_esci(folder, categories=["Toys"]), "no labelled products in categories", exc=ValueError)


def test_esci_written_errors(tmp_path: Path) -> None:
    folder = _esci(tmp_path / "esci")
    (folder / PRODUCTS_FILE).unlink()
    _raises(lambda: load_esci(folder), folder / PRODUCTS_FILE, "file not found", EXAMPLES_FILE, PRODUCTS_FILE)
    _raises(lambda: load_esci(tmp_path / "nowhere"), tmp_path / "nowhere", "not found", EXAMPLES_FILE)

    table = pq.read_table(_esci(tmp_path / "a") / EXAMPLES_FILE)
    pq.write_table(table.drop(["esci_label"]), tmp_path / "a" / EXAMPLES_FILE)
    _raises(
        lambda: load_esci(tmp_path / "a"), tmp_path / "a" / EXAMPLES_FILE, "missing column 'esci_label'", "'query_id'"
    )

    pq.write_table(table.set_column(1, "query", pa.array(range(table.num_rows))), tmp_path / "a" / EXAMPLES_FILE)
    _raises(lambda: load_esci(tmp_path / "a"), EXAMPLES_FILE, "column 'query' must hold strings")

    pq.write_table(table.slice(0, 0), tmp_path / "a" / EXAMPLES_FILE)
    _raises(lambda: load_esci(tmp_path / "a"), EXAMPLES_FILE, "file is empty")

    (tmp_path / "a" / EXAMPLES_FILE).write_text("not parquet")
    _raises(lambda: load_esci(tmp_path / "a"), EXAMPLES_FILE, "not a readable Parquet file")

    bad = _esci(tmp_path / "b", examples=[{"query_id": 1, "query": "q", "product_id": "p1", "esci_label": "X"}])
    _raises(lambda: load_esci(bad), EXAMPLES_FILE, "unknown esci_label 'X'")


# ---------------------------------------------------------------- product search JSONL written here


def _search(folder: Path, queries: list, items: list | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    _write_jsonl(folder / "queries.jsonl", queries)
    _write_jsonl(
        folder / "items.jsonl",
        items
        if items is not None
        else [
            {"item_id": "a", "title": "Alpha", "features": ["x", "y"], "price": 3.5},
            {"item_id": "b", "title": "Beta", "category": "Toys", "details": {"nested": 1}},
            {"item_id": 7, "title": None},
        ],
    )
    return folder


def test_search_jsonl_written(tmp_path: Path, caplog) -> None:
    folder = _search(
        tmp_path,
        [
            {"qid": "q1", "query": "alpha", "item_id": "a", "split": "test"},
            {"query_id": 2, "query": "two", "item_ids": ["a", "b", "zz"], "split": "valid"},
            {"id": "q3", "query": "graded", "relevant": {"a": 2, "b": 0}},
            {"qid": "q4", "query": "unknown target", "item_id": "zz"},
            "",  # blank lines are skipped
            {"qid": "q5", "query": "int id", "item_id": 7, "split": "train"},
        ],
    )
    with caplog.at_level(logging.WARNING, logger="recgym.data.loaders"):
        ds = load_search_jsonl(folder, name="tiny")
    assert ds.name == "tiny" and ds.catalog.item_ids == ("a", "b", "7")
    assert ds.catalog.fields["features"] == ("x y", "", "") and ds.catalog.fields["price"][0] == "3.5"
    assert ds.catalog.fields["category"] == ("", "Toys", "") and "details" not in ds.catalog.fields
    by_id = {ex.example_id: (s, ex) for s, exs in ds.splits.items() for ex in exs}
    assert set(by_id) == {"q1", "2", "q3", "q5"}
    assert by_id["2"][0] == "val" and by_id["2"][1].relevant == {"a": 1.0, "b": 1.0}
    assert by_id["q3"][1].relevant == {"a": 2.0}
    assert by_id["q3"][0] == hash_split("q3", {"train": 0.8, "val": 0.1, "test": 0.1}, 0)
    assert "dropped 1 queries with no target left" in caplog.text and "dropped 2 target items" in caplog.text
    assert load_search_jsonl(folder, split_fractions={"test": 1.0}).splits["test"][-1].example_id == "q3"


@pytest.mark.parametrize(
    ("lines", "needles"),
    [
        ([{"qid": "1", "query": "q", "item_id": "a"}, '{"qid": "2", "query": '], ["line 2", "malformed JSON"]),
        ([{"qid": "1", "query": 5, "item_id": "a"}], ["line 1", "'query' must be a string"]),
        ([{"qid": "1", "text": "q", "item_id": "a"}], ["line 1", "missing key 'query'", "'text'"]),
        ([{"qid": "1", "query": "q"}], ["line 1", "missing key 'relevant' or 'item_ids' or 'item_id'"]),
        ([{"qid": "1", "query": "q", "item_ids": "a"}], ["line 1", "'item_ids' must be a list"]),
        ([{"qid": "1", "query": "q", "relevant": {"a": "high"}}], ["line 1", "gain of 'a' must be a finite number"]),
        ([{"qid": "1", "query": "q", "item_id": "a", "split": "holdout"}], ["line 1", "unknown split 'holdout'"]),
        ([[1, 2]], ["line 1", "expected a JSON object, got list"]),
        ([], ["file is empty"]),
        ([{"qid": "1", "query": "q", "item_id": "zz"}], ["no usable examples", "1 queries with no target left"]),
    ],
)
def test_search_jsonl_errors(tmp_path: Path, lines: list, needles: list[str]) -> None:
    folder = _search(tmp_path, lines)
    _raises(lambda: load_search_jsonl(folder), folder / "queries.jsonl", *needles)


def test_search_jsonl_bad_items_and_missing_file(tmp_path: Path) -> None:
    folder = _search(tmp_path, [{"qid": "1", "query": "q", "item_id": "a"}], [{"item_id": "a", "name": "x"}])
    _raises(lambda: load_search_jsonl(folder), folder / "items.jsonl", "line 1", "missing key 'title'", "'name'")
    _write_jsonl(folder / "items.jsonl", [{"item_id": "a", "title": "t"}, {"item_id": ["b"], "title": "t"}])
    _raises(
        lambda: load_search_jsonl(folder), folder / "items.jsonl", "line 2", "'item_id' must be a string or integer"
    )
    (folder / "items.jsonl").unlink()
    _raises(lambda: load_search_jsonl(folder), folder / "items.jsonl", "file not found", "queries.jsonl", "items.jsonl")


# ---------------------------------------------------------------- sequential JSONL written here


def test_sequential_jsonl_written(tmp_path: Path, caplog) -> None:
    _write_jsonl(tmp_path / "items.jsonl", [{"item_id": f"i{k}", "title": f"item {k}"} for k in range(6)])
    _write_jsonl(
        tmp_path / "users.jsonl",
        [
            {"user_id": "u1", "split": "test", "history": ["i0", "i1", "i2", "i3"], "target": "i4"},
            {"user_id": "u1", "split": "test", "history": ["i0"], "target": "i1"},
            {"user_id": "u2", "split": "val", "history": ["i0", "gone", "i1"], "target": "i5"},
            {"user_id": "u3", "split": "val", "history": ["i0"], "target": "gone"},
            {"user_id": "u4", "split": "val", "history": ["gone"], "target": "i1"},
            {"user_id": 5, "history": ["i2"], "target": "i3"},
        ],
    )
    with caplog.at_level(logging.WARNING, logger="recgym.data.loaders"):
        ds = load_sequential_jsonl(tmp_path, max_history=3)
    test = ds.splits["test"]
    assert [ex.example_id for ex in test[:2]] == ["u1", "u1#2"]
    assert test[0].history == ("i1", "i2", "i3") and test[0].relevant == {"i4": 1.0}
    assert ds.splits["val"][0].history == ("i0", "i1")  # unknown history item removed, user kept
    assert {ex.example_id for s in ds.splits.values() for ex in s} == {"u1", "u1#2", "u2", "5"}
    assert hash_split("5", {"train": 0.8, "val": 0.1, "test": 0.1}, 0) in {
        s for s, v in ds.splits.items() if any(e.example_id == "5" for e in v)
    }
    for reason in ("1 target item not in the items file", "2 history items", "1 records with an empty history"):
        assert reason in caplog.text
    _raises(lambda: load_sequential_jsonl(tmp_path, max_history=0), "max_history", exc=ValueError)


def test_sequential_jsonl_errors(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "items.jsonl", [{"item_id": "a", "title": "A"}])
    users = tmp_path / "users.jsonl"
    _write_jsonl(
        users, [{"user_id": "u", "history": ["a"], "target": "a"}, {"user_id": "v", "history": "a", "target": "a"}]
    )
    _raises(lambda: load_sequential_jsonl(tmp_path), users, "line 2", "'history' must be a list")
    _write_jsonl(users, [{"user_id": "u", "history": ["a", None], "target": "a"}])
    _raises(lambda: load_sequential_jsonl(tmp_path), users, "line 1", "'history[1]'")
    _write_jsonl(users, [{"user_id": "u", "history": ["a"]}])
    _raises(lambda: load_sequential_jsonl(tmp_path), users, "missing key 'target'", "'history'", "'user_id'")
    users.write_text("\n\n")
    _raises(lambda: load_sequential_jsonl(tmp_path), users, "file is empty")
    users.unlink()
    _raises(lambda: load_sequential_jsonl(tmp_path), users, "file not found", "users.jsonl", "items.jsonl")
    _raises(lambda: load_sequential(tmp_path), tmp_path, "no sequential data found", "items.jsonl")


# ---------------------------------------------------------------- RecBole written here


def _recbole(folder: Path, prefix: str = "Tiny") -> Path:
    """Columns deliberately out of the usual order: the loader must find them by name."""
    folder.mkdir(exist_ok=True)
    (folder / f"{prefix}.item").write_text(
        "title:token_seq\tbrand:token\titem_id:token\n" + "".join(f"Item {i}\tacme\t{i}\n" for i in range(8))
    )
    header = "item_id:token\tuser_id:token\titem_id_list:token_seq\n"
    (folder / f"{prefix}.valid.inter").write_text(header + "3\tu0\t0 1 2\n6\tu1\t4 5\n")
    (folder / f"{prefix}.test.inter").write_text(header + "4\tu0\t0 1 2 3\n7\tu1\t4 5 6\n")
    return folder


def test_recbole_written(tmp_path: Path) -> None:
    folder = _recbole(tmp_path / "rb")
    ds = load_recbole(folder, max_history=3)
    assert ds.name == "Tiny" and set(ds.catalog.fields) == {"title", "brand"}
    assert ds.catalog.item_ids[:2] == ("0", "1") and ds.catalog.titles[0] == "Item 0"
    assert _sizes(ds) == {"train": 0, "val": 2, "test": 2}
    assert ds.splits["test"][0].history == ("1", "2", "3") and ds.splits["test"][0].relevant == {"4": 1.0}
    assert _sizes(load_recbole(folder, max_users=1, name="x")) == {"train": 0, "val": 1, "test": 1}
    assert _sizes(load_sequential(folder)) == _sizes(ds)
    _recbole(folder, prefix="Other")
    _raises(lambda: load_recbole(folder), folder, "several RecBole datasets", "Other", "Tiny")
    assert load_recbole(folder, dataset="Other").name == "Other"


def test_recbole_errors(tmp_path: Path) -> None:
    folder = _recbole(tmp_path / "rb")
    item, valid = folder / "Tiny.item", folder / "Tiny.valid.inter"
    valid.write_text("user_id:token\titem_id:token\n")
    _raises(lambda: load_recbole(folder), valid, "missing column 'item_id_list'", "'user_id'")
    valid.write_text("user_id:token\titem_id_list:token_seq\titem_id:token\nu0\t0 1\n")
    _raises(lambda: load_recbole(folder), valid, "line 2", "expected 3 tab-separated fields, got 2")
    valid.write_text("user_id:token\titem_id_list:token_seq\titem_id:token\n")
    _raises(lambda: load_recbole(folder), valid, "header but no rows")
    valid.write_text("")
    _raises(lambda: load_recbole(folder), valid, "file is empty")
    item.write_text("item_id:token\tname:token_seq\n0\tx\n")
    _raises(lambda: load_recbole(folder), item, "missing column 'title'", "'name'")
    for p in folder.glob("*.inter"):
        p.unlink()
    _raises(lambda: load_recbole(folder), folder, "no interaction file", "Tiny.test.inter", "Tiny.item")
    item.unlink()
    _raises(lambda: load_recbole(folder), folder, "no RecBole '<dataset>.item' file")
    _raises(lambda: load_recbole(folder, dataset="Tiny"), item, "file not found", "Tiny.valid.inter")


def test_odd_but_readable_and_unreadable_inputs(tmp_path: Path, caplog) -> None:
    import gc

    folder = _search(
        tmp_path / "s",
        [{"qid": "1", "query": "q", "item_id": "a"}],
        [{"item_id": "a", "title": "first"}, {"item_id": "a", "title": "again"}],
    )
    with caplog.at_level(logging.WARNING, logger="recgym.data.loaders"):
        assert load_search_jsonl(folder).catalog.titles == ("first",)  # repeated id: first line kept, logged
    assert "1 repeated item ids ignored" in caplog.text
    (folder / "queries.jsonl").write_bytes(b'{"qid": "1", "query": "q", "item_id": "a"}\n\xff\xfe\n')
    _raises(lambda: load_search_jsonl(folder), folder / "queries.jsonl", "not valid UTF-8")
    assert gc.isenabled()  # the loaders pause the GC while parsing and must restore it on errors too

    esci = _esci(tmp_path / "e")
    table = pq.read_table(esci / EXAMPLES_FILE)
    nulls = pa.array(["x"] * (table.num_rows - 1) + [None])
    pq.write_table(table.set_column(table.schema.get_field_index("query"), "query", nulls), esci / EXAMPLES_FILE)
    _raises(lambda: load_esci(esci, locale="es"), EXAMPLES_FILE, "column 'query' has 1 null values")
    _raises(lambda: load_esci(esci, version="tiny"), "version", exc=ValueError)


# ---------------------------------------------------------------- every format: missing column, wrong type, empty


def test_esci_products_file_errors(tmp_path: Path) -> None:
    folder = _esci(tmp_path / "e")
    products = folder / PRODUCTS_FILE
    table = pq.read_table(products)
    pq.write_table(table.drop(["product_title"]), products)
    _raises(lambda: load_esci(folder), products, "missing column 'product_title'", "'product_id'")
    pq.write_table(table.set_column(0, "product_id", pa.array(range(table.num_rows))), products)
    _raises(lambda: load_esci(folder), products, "column 'product_id' must hold strings, got int64")
    pq.write_table(table.slice(0, 0), products)
    _raises(lambda: load_esci(folder), products, "file is empty")


def test_items_and_users_jsonl_wrong_types_and_empty_files(tmp_path: Path) -> None:
    folder = _search(tmp_path / "s", [{"qid": "1", "query": "q", "item_id": "a"}], [])
    _raises(lambda: load_search_jsonl(folder), folder / "items.jsonl", "file is empty")
    _write_jsonl(folder / "items.jsonl", [{"item_id": "a", "title": 3}])
    _raises(lambda: load_search_jsonl(folder), folder / "items.jsonl", "line 1", "'title' must be a string")

    _write_jsonl(tmp_path / "items.jsonl", [{"item_id": "a", "title": "A"}])
    users = tmp_path / "users.jsonl"
    _write_jsonl(users, [{"user_id": "u", "history": ["a"], "target": ["a"]}])
    _raises(lambda: load_sequential_jsonl(tmp_path), users, "line 1", "'target' must be a string or integer id")
    _write_jsonl(users, [{"user_id": True, "history": ["a"], "target": "a"}])
    _raises(lambda: load_sequential_jsonl(tmp_path), users, "'user_id' must be a string or integer id")
    _write_jsonl(users, [{"user_id": "u", "history": ["a"], "target": "a", "split": 1}])
    _raises(lambda: load_sequential_jsonl(tmp_path), users, "'split' must be a string")


def test_recbole_item_file_empty_or_headless(tmp_path: Path) -> None:
    folder = _recbole(tmp_path / "rb")
    item = folder / "Tiny.item"
    item.write_text("item_id:token\ttitle:token_seq\n")
    _raises(lambda: load_recbole(folder), item, "header but no rows")
    item.write_text("")
    _raises(lambda: load_recbole(folder), item, "file is empty")
    item.write_text("item_id:token\ttitle:token_seq\n0\tx\textra\n")
    _raises(lambda: load_recbole(folder), item, "line 2", "expected 2 tab-separated fields, got 3")
