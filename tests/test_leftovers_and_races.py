"""Leftovers of killed writers and concurrent writers: index caches that were truncated or damaged are rebuilt, temp
folders of dead builders are removed (live ones kept), and concurrent ``prepare`` runs neither fail nor mix files."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest
from test_recommenders import CATALOG

from recgym.data import prepare
from recgym.fileio import atomic_write
from recgym.recommenders import BM25Recommender
from recgym.recommenders.cache import cached_dir
from recgym.tempdirs import owner_tag

FORK = multiprocessing.get_context("fork")
QUERIES = ["steel", "coffee press", "wireless headset"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _search(rec: BM25Recommender) -> list[np.ndarray]:
    return list(rec.search(QUERIES, 4))


def _index_folder(cache: Path) -> Path:
    (folder,) = [p for p in (cache / "indexes").iterdir() if not p.name.startswith(".")]
    return folder


@pytest.mark.parametrize("damage", ["truncate", "same-size garbage", "no manifest"])
def test_a_damaged_bm25_cache_is_rebuilt(cache: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    fresh = BM25Recommender()
    fresh.index(CATALOG)
    expected = _search(fresh)
    folder = _index_folder(cache)
    npy = folder / "data.csc.index.npy"
    if damage == "truncate":
        npy.write_bytes(npy.read_bytes()[:20])
    elif damage == "same-size garbage":  # passes the size check; the loader rejects it
        npy.write_bytes(b"\0" * npy.stat().st_size)
    else:
        (folder / "recgym_cache.json").unlink()
    with caplog.at_level(logging.WARNING):
        again = BM25Recommender()
        again.index(CATALOG)
    assert "rebuilding the" in caplog.text and str(folder) in caplog.text
    for a, b in zip(_search(again), expected, strict=True):
        np.testing.assert_array_equal(a, b)
    caplog.clear()
    BM25Recommender().index(CATALOG)  # and the rebuilt folder is trusted from then on
    assert "rebuilding" not in caplog.text
    assert [p.name for p in (cache / "indexes").iterdir()] == [folder.name]


def test_cached_dir_rebuilds_a_truncated_array(tmp_path: Path) -> None:
    builds = []

    def build(tmp: Path) -> None:
        builds.append(tmp)
        np.save(tmp / "embeddings.npy", np.arange(1000, dtype=np.float32))

    path = cached_dir("dense-x", build, root=tmp_path)
    data = (path / "embeddings.npy").read_bytes()
    (path / "embeddings.npy").write_bytes(data[: len(data) // 2])
    path = cached_dir("dense-x", build, root=tmp_path)
    assert len(builds) == 2 and np.load(path / "embeddings.npy").shape == (1000,)


def test_temp_folders_of_dead_builders_are_removed_live_ones_kept(cache: Path) -> None:
    dead = FORK.Process(target=os.getpid)
    dead.start()
    dead.join()
    root = cache / "indexes"
    host = owner_tag().split(".")[0]
    leftover = root / f".tmp-{host}.{dead.pid}.q1w2-bm25-abc"
    live = root / f".tmp-{owner_tag()}e3r4-bm25-def"  # a builder at work (this process)
    legacy_old, legacy_new = root / ".bm25-aaa-bbb.x1", root / ".bm25-ccc-ddd.x2"  # older recgym names: by age
    for folder in (leftover, live, legacy_old, legacy_new):
        folder.mkdir(parents=True)
        (folder / "data.npy").write_bytes(b"x")
    os.utime(legacy_old, (0, 0))
    BM25Recommender().index(CATALOG)
    assert not leftover.exists() and not legacy_old.exists()
    assert live.is_dir() and legacy_new.is_dir()


# ------------------------------------------------------------------------------------------------------ prepare
def test_concurrent_writers_of_one_file_do_not_share_a_temp_name(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    with atomic_write(path) as outer:
        outer.write("outer\n")
        with atomic_write(path) as inner:  # a second run writing the same file meanwhile
            inner.write("inner\n")
        outer.write("more\n")
    assert path.read_text() == "outer\nmore\n"
    assert [p.name for p in tmp_path.iterdir()] == ["items.jsonl"]


def _c4_raw(cache: Path, n_items: int) -> None:
    folder = cache / "data" / "raw" / "amazon-c4"
    folder.mkdir(parents=True)
    with (folder / "sampled_item_metadata_1M.jsonl").open("w") as f:
        for i in range(n_items):
            f.write(json.dumps({"item_id": f"B{i}", "category": "Baby", "metadata": f"item {i} " * 20}) + "\n")
    rows = "".join(f"{q},request {q},B{q * 7 % n_items},U{q},5,ok\n" for q in range(2000))
    (folder / "test.csv").write_text("qid,query,item_id,user_id,ori_rating,ori_review\n" + rows)


def _prepare(seed: int, barrier) -> None:
    barrier.wait()
    prepare("amazon-c4", seed=seed)


def test_concurrent_prepare_runs_both_succeed_without_mixing(cache: Path) -> None:
    _c4_raw(cache, 20_000)
    barrier = FORK.Barrier(2)
    runs = [FORK.Process(target=_prepare, args=(seed, barrier)) for seed in (1, 2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(120)
    assert [run.exitcode for run in runs] == [0, 0]
    out = cache / "data" / "amazon-c4"
    manifest = json.loads((out / "recgym_prepared.json").read_text())
    written = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}
    prepare("amazon-c4", seed=manifest["seed"], out=cache / "alone")  # the last run's files, whole and unmixed
    alone = {p.name: p.read_bytes() for p in (cache / "alone").iterdir() if not p.name.startswith(".")}
    assert written.keys() == alone.keys()
    for name in ("queries.jsonl", "items.jsonl"):
        assert written[name] == alone[name], name
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]
