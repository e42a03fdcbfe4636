"""``recgym data prepare`` on tiny raw files written here (hand-checkable), the prepared folders through the real env
ids and ``check_env``, and ``recgym data info`` on a populated cache."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from gymnasium.utils.env_checker import check_env

import recgym  # noqa: F401  (registers the ids)
from recgym.cli import main
from recgym.data import RawDataMissingError, hash_split, load_esci, prepare
from recgym.data.loaders.esci import EXAMPLES_FILE, PRODUCTS_FILE
from recgym.data.loaders.jsonl import DEFAULT_SPLIT_FRACTIONS
from recgym.data.prepare import MANIFEST

VG_POOL = [f"VG{i:03d}" for i in range(70)]  # the Video_Games metadata: 70 items
BABY_POOL = [f"BB{i}" for i in range(6)]  # Baby_Products: 6 items, fewer than 50 negatives


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private recgym cache (prepare writes to the default folders, which the shared test cache keeps empty)."""
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _raw(cache: Path, source: str) -> Path:
    folder = cache / "data" / "raw" / source
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _meta(cache: Path, category: str, items: dict[str, str | None]) -> None:
    """An Amazon Reviews 2023 ``meta_<category>.jsonl`` (keys in a different order than upstream's, on purpose)."""
    lines = [
        json.dumps(
            {
                "title": title,
                "features": ["f1", "f2"],
                "description": [f"about {asin}"],
                "store": "acme",
                "parent_asin": asin,
                "details": {"x": 1},
            }
        )  # fmt: skip
        for asin, title in items.items()
    ]
    (_raw(cache, "amazon-reviews-2023") / f"meta_{category}.jsonl").write_text("\n".join(lines) + "\n")


def _esci_raw(cache: Path) -> None:
    rows = [  # (query_id, query, product_id, locale, label, split, small_version)
        (1, "wireless game controller", "VG000", "us", "E", "train", 1),
        (1, "wireless game controller", "VG001", "us", "E", "train", 1),
        (1, "wireless game controller", "VG002", "us", "S", "train", 1),
        (1, "wireless game controller", "VG003", "us", "I", "train", 1),
        (2, "baby stroller", "BB0", "us", "E", "test", 1),
        (3, "gaming headset", "VG004", "us", "E", "test", 1),
        (3, "gaming headset", "ESCI_ONLY", "us", "E", "test", 1),  # in no chosen category's metadata: dropped
        (4, "mando inalambrico", "VG005", "es", "E", "test", 1),  # not US
        (5, "large only", "VG006", "us", "E", "train", 0),  # not in the small version
        (6, "unmatched", "ZZZ", "us", "E", "test", 1),  # no target left: the query is dropped
    ]
    cols = ("query_id", "query", "product_id", "product_locale", "esci_label", "split", "small_version")
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})
    table = table.append_column("large_version", pa.array([1] * len(rows))).append_column(
        "example_id", pa.array(range(len(rows)))
    )
    pq.write_table(table, _raw(cache, "esci") / EXAMPLES_FILE)
    _meta(cache, "Video_Games", {a: f"video game item {a}" for a in VG_POOL})
    _meta(cache, "Baby_Products", {a: f"baby item {a}" for a in BABY_POOL})


def _by_query(folder: Path) -> dict[int, dict[str, list[str]]]:
    rows = pq.read_table(folder / EXAMPLES_FILE).to_pylist()
    out: dict[int, dict[str, list[str]]] = {}
    for r in rows:
        entry = out.setdefault(r["query_id"], {"E": [], "I": []})
        entry[r["esci_label"]].append(r["product_id"])
        assert r["product_locale"] == "us" and r["sampled_negative"] == (r["esci_label"] == "I")
    return out


def test_esci_exact_us_targets_and_same_category_negatives(cache):
    _esci_raw(cache)
    (manifest,) = prepare("esci", ["Video_Games", "Baby_Products"], seed=0)
    out = cache / "data" / "esci"  # the folder RecR1/ESCI-* reads by default
    assert manifest["out"] == str(out) and (out / MANIFEST).is_file()
    queries = _by_query(out)
    assert set(queries) == {1, 2, 3}  # 4 is Spanish, 5 not small_version, 6 has no categorised target
    assert {q: e["E"] for q, e in queries.items()} == {1: ["VG000", "VG001"], 2: ["BB0"], 3: ["VG004"]}
    assert [len(e["I"]) for e in queries.values()] == [50, 5, 50]  # capped by Baby_Products' 6 items minus BB0
    for q, e in queries.items():
        pool = BABY_POOL if q == 2 else VG_POOL
        assert set(e["I"]) <= set(pool) and not set(e["I"]) & set(e["E"]) and len(set(e["I"])) == len(e["I"])

    products = pq.read_table(out / PRODUCTS_FILE).to_pylist()
    by_id = {p["product_id"]: p for p in products}
    assert set(by_id) == {p for e in queries.values() for p in e["E"] + e["I"]}
    assert by_id["VG000"]["product_category"] == "Video_Games" and by_id["BB0"]["product_category"] == "Baby_Products"
    assert by_id["VG000"]["product_title"] == "video game item VG000"
    assert by_id["VG000"]["product_description"] == "about VG000" and by_id["VG000"]["product_bullet_point"] == "f1 f2"
    assert manifest["counts"]["queries"] == 3 and manifest["test_queries_by_category"] == {
        "Video_Games": 1,
        "Baby_Products": 1,
    }

    again = cache / "again"
    prepare("esci", ["Video_Games", "Baby_Products"], seed=0, out=again)
    assert pq.read_table(again / EXAMPLES_FILE).equals(pq.read_table(out / EXAMPLES_FILE))  # same seed, same files
    prepare("esci", ["Video_Games", "Baby_Products"], seed=1, out=again)
    other = _by_query(again)
    assert other[1]["E"] == queries[1]["E"] and set(other[1]["I"]) != set(queries[1]["I"])  # another seed differs


def test_prepared_esci_loads_per_category_through_the_env_ids(cache):
    _esci_raw(cache)
    prepare("esci", ["Video_Games", "Baby_Products"], seed=0)
    video = load_esci(cache / "data" / "esci", categories=["Video_Games"])
    queries = _by_query(cache / "data" / "esci")
    pool = {p for q in (1, 3) for p in queries[q]["E"] + queries[q]["I"]}  # the VG queries' targets and negatives
    assert set(video.catalog.item_ids) == pool
    assert [ex.relevant for ex in video.split("test")] == [{"VG004": 1.0}]

    env = gym.make("RecR1/ESCI-BM25-v0", category="Video_Games", split="test")  # default cache folder
    check_env(env.unwrapped, skip_render_check=True)
    _, info = env.reset(seed=0)
    _, reward, terminated, _, step = env.step(info["raw_action"])
    assert terminated and step["format_ok"] and step["num_relevant"] == 1

    baby = gym.make(
        "RecR1/ESCI-BM25-v0", data_dir=cache / "data" / "esci", dataset_kwargs={"categories": ["Baby_Products"]},
        split="test",
    )  # fmt: skip
    assert len(baby.unwrapped.task.dataset.catalog) == 6
    with pytest.raises(ValueError, match="contradicts"):
        gym.make("RecR1/ESCI-BM25-v0", category="Video_Games", dataset_kwargs={"categories": ["Baby_Products"]})


def _write_csv(path: Path, rows: list[tuple[str, str, str]]) -> None:
    lines = ["user_id,parent_asin,rating,timestamp,history"]
    lines += [f"{u},{t},5.0,{1700000000000 + i},{h}" for i, (u, t, h) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")


def _seqrec_raw(cache: Path) -> None:
    items = {f"i{k:02d}": f"game number {k}" for k in range(15)}
    items["i15"] = None  # no title: removed from histories, and a target without a title drops its row
    _meta(cache, "Video_Games", items)
    seq = [f"i{k:02d}" for k in range(14)]
    folder = _raw(cache, "amazon-reviews-2023")
    _write_csv(
        folder / "Video_Games.train.csv",
        [("u1", "i11", " ".join([*seq[:11], "i15"])), ("u2", "i15", "i00 i01"), ("u3", "i05", "")],
    )
    _write_csv(folder / "Video_Games.valid.csv", [("u1", "i12", " ".join(seq[:12]))])
    _write_csv(folder / "Video_Games.test.csv", [("u1", "i13", " ".join(seq[:13])), ("u4", "i14", "i99")])


def test_sequential_keeps_the_last_ten_titled_items_and_the_held_out_target(cache):
    _seqrec_raw(cache)
    (manifest,) = prepare("amazon-reviews-2023", ["Video_Games"])
    out = cache / "data" / "seqrec" / "Video_Games"
    users = [json.loads(line) for line in (out / "users.jsonl").read_text().splitlines()]
    seq = [f"i{k:02d}" for k in range(14)]
    assert users == [
        {"user_id": "u1", "split": "train", "history": seq[1:11], "target": "i11"},
        {"user_id": "u1", "split": "val", "history": seq[2:12], "target": "i12"},
        {"user_id": "u1", "split": "test", "history": seq[3:13], "target": "i13"},
    ]
    assert users[2]["history"][-1] == users[1]["target"]  # leave-one-out: test history ends with the val target
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert [i["item_id"] for i in items] == seq[1:] and items[0]["title"] == "game number 1"  # i00: cut off
    assert manifest["counts"] == {"train": 1, "val": 1, "test": 1, "users": 3, "items": 13}
    assert manifest["dropped"] == {"target without a title": 1, "empty history": 2}

    env = gym.make("RecR1/SeqRec-BM25-v0", category="Video_Games", split="test")
    check_env(env.unwrapped, skip_render_check=True)
    by_dir = gym.make("RecR1/SeqRec-BM25-v0", data_dir=out, split="val").unwrapped
    assert by_dir.task.dataset.split("val")[0].history == tuple(seq[2:12])


def _c4_raw(cache: Path) -> None:
    folder = _raw(cache, "amazon-c4")
    pool = [("B0", "Baby", "Soft bath toy for toddlers."), ("B1", "Video_Games", "Wireless controller."),
            ("B2", "Baby", "Stroller with a canopy.")]  # fmt: skip
    pool += [(f"X{i}", "Office", f"office thing {i}.") for i in range(20)]
    (folder / "sampled_item_metadata_1M.jsonl").write_text(
        "".join(json.dumps({"item_id": i, "category": c, "metadata": m}) + "\n" for i, c, m in pool)
    )
    queries = [(str(q), f"request number {q}", ["B0", "B1", "B2", "MISSING"][q % 4]) for q in range(24)]
    (folder / "test.csv").write_text(
        "qid,query,item_id,user_id,ori_rating,ori_review\n"
        + "".join(f'{q},{text},{item},U{q},5,"line one\nline, two"\n' for q, text, item in queries)
    )


def test_c4_queries_items_and_seeded_splits(cache):
    _c4_raw(cache)
    (manifest,) = prepare("amazon-c4", seed=3)
    out = cache / "data" / "amazon-c4"
    queries = [json.loads(line) for line in (out / "queries.jsonl").read_text().splitlines()]
    assert len(queries) == 18 and manifest["dropped"]["target not in the item pool"] == 6
    assert queries[0] == {"qid": "0", "category": "Baby", "query": "request number 0", "item_id": "B0",
                          "split": hash_split("0", DEFAULT_SPLIT_FRACTIONS, 3)}  # fmt: skip
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert len(items) == 23
    assert items[1] == {"item_id": "B1", "title": "Wireless controller.", "category": "Video_Games"}

    (baby,) = prepare("amazon-c4", ["baby"], seed=3, out=cache / "baby")
    assert baby["counts"]["queries"] == 12 and baby["counts"]["items"] == 23  # queries filtered, pool whole
    split = queries[0]["split"]
    env = gym.make("RecR1/C4-BM25-v0", split=split)
    check_env(env.unwrapped, skip_render_check=True)
    with pytest.raises(ValueError, match="takes no category="):
        gym.make("RecR1/C4-BM25-v0", category="Baby")


def test_missing_raw_files_say_what_to_fetch(cache, capsys):
    with pytest.raises(RawDataMissingError, match="recgym data fetch esci --category Video_Games") as err:
        prepare("esci", ["Video_Games"])
    assert str(cache / "data/raw/esci/shopping_queries_dataset_examples.parquet") in str(err.value)
    (_raw(cache, "amazon-c4") / "test.csv.part").write_text("qid")
    assert main(["data", "prepare", "amazon-c4"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "test.csv not found (a partial download .part is there" in lines[0]


def test_info_lists_raw_files_and_prepared_folders(cache, capsys):
    _seqrec_raw(cache)
    assert main(["data", "prepare", "amazon-reviews-2023", "--category", "Video_Games"]) == 0
    printed = capsys.readouterr().out
    assert "users=3" in printed and "RecR1/SeqRec-BM25-v0" in printed
    (_raw(cache, "amazon-c4") / "test.csv.part").write_bytes(b"x" * 2048)
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    lines = {tuple(line.split()[:3]) for line in out.splitlines()}
    assert ("amazon-reviews-2023", "meta_Video_Games.jsonl", "complete") in lines
    assert ("amazon-c4", "test.csv", "partial") in lines and "2.0 KB" in out
    assert ("esci", "shopping_queries_dataset_examples.parquet", "missing") in lines
    prepared = next(line for line in out.splitlines() if line.startswith(str(cache / "data/seqrec/Video_Games")))
    assert "amazon-reviews-2023" in prepared and "users.jsonl=3" in prepared and "items.jsonl=13" in prepared
