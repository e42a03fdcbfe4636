"""``recgym data fetch`` against a local HTTP server (real layout, Range, resume, restart, validation) and offline.
The hostile-server cases are in test_data_fetch_hostile.py."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fetch_server import put, serve

from recgym.cli import main
from recgym.data.commands import raw_rows
from recgym.data.fetch import FetchError, OfflineError, download, fetch, fetch_files, validate
from recgym.data.sources import (
    C4_ITEMS,
    C4_QUERIES,
    ESCI_EXAMPLES,
    MIRROR_ENV,
    RemoteFile,
    amazon_benchmark,
    amazon_meta,
    file_url,
    local_path,
)

C4_FILES = {
    "amazon-c4/test.csv": (
        b"qid,query,item_id,user_id,ori_rating,ori_review\n"
        b'0,something for bath time,B01,U1,5,"Great.\nReally."\n'
        b"1,a quiet keyboard,B02,U2,4,ok\n"
    ),
    "amazon-c4/sampled_item_metadata_1M.jsonl": b"".join(
        json.dumps({"item_id": f"B{i:02d}", "category": "Baby", "metadata": f"item {i} " * 40}).encode() + b"\n"
        for i in range(60)
    ),
}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    return tmp_path / "cache"


SEQREC_FILES = {  # Amazon Reviews 2023, Video_Games, in the upstream layout (no row counts on these cards)
    f"amazon-reviews-2023/{amazon_meta('Video_Games').path}": b"".join(
        json.dumps({"parent_asin": f"V{i}", "title": f"game {i}"}).encode() + b"\n" for i in range(30)
    ),
    **{
        f"amazon-reviews-2023/{amazon_benchmark('Video_Games', split).path}": (
            b"user_id,parent_asin,rating,timestamp,history\n" + b"U1,V3,5,100,V1 V2\nU2,V4,4,200,V2\n"
        )
        for split in ("train", "valid", "test")
    },
}
# the C4 files carry the row counts of these small copies (the real ones state 21,223 and 1,058,417)
C4_QUERIES_SMALL = dataclasses.replace(C4_QUERIES, rows=2)
C4_ITEMS_SMALL = dataclasses.replace(C4_ITEMS, rows=60)


@pytest.fixture
def server(tmp_path: Path):
    """A file server on 127.0.0.1 holding the Amazon-C4 and Amazon Reviews 2023 files in their upstream layout."""
    with serve(tmp_path / "www", {**C4_FILES, **SEQREC_FILES}) as srv:
        yield srv


def _interrupted_part(server, spec: RemoteFile, url: str) -> Path:
    """A ``.part`` as a dropped connection leaves it: half the file, plus the record of what it is part of."""
    dest = local_path(spec)
    server.truncate_once = True
    with pytest.raises(FetchError, match="interrupted"):
        download(url, dest, spec, progress=False, retries=0)
    return dest.with_name(dest.name + ".part")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fetch_writes_the_cache_layout_and_skips_complete_files(server, cache, monkeypatch, capsys):
    paths = fetch("amazon-reviews-2023", ["Video_Games"], mirror=server.url, progress=False)
    raw = cache / "data/raw/amazon-reviews-2023"
    splits = ("train", "valid", "test")
    assert paths == [raw / "meta_Video_Games.jsonl", *(raw / f"Video_Games.{s}.csv" for s in splits)]
    for path, rel in zip(paths, SEQREC_FILES, strict=True):
        assert path.read_bytes() == SEQREC_FILES[rel]
    assert [entry[1:] for entry in server.log] == [(None, None)] * 4 and len({e[0] for e in server.log}) == 4
    assert not list(raw.glob("*.part"))
    assert {status for _, _, status, _ in raw_rows()} <= {"complete", "missing"}  # bookkeeping files are hidden

    monkeypatch.setenv(MIRROR_ENV, server.url)  # the env var works like --mirror
    assert file_url(C4_QUERIES) == f"{server.url}/amazon-c4/test.csv"
    assert main(["data", "fetch", "amazon-reviews-2023", "--category", "Video_Games", "--no-progress"]) == 0
    assert len(server.log) == 4  # complete files are validated locally, not downloaded again
    out = capsys.readouterr().out
    assert "Video_Games.test.csv" in out and "recgym data prepare amazon-reviews-2023" in out


def test_a_dropped_connection_is_resumed_with_range_and_if_range(server, cache):
    url, dest = f"{server.url}/amazon-c4/{C4_ITEMS.path}", local_path(C4_ITEMS)
    full = C4_FILES["amazon-c4/sampled_item_metadata_1M.jsonl"]
    part = _interrupted_part(server, C4_ITEMS_SMALL, url)
    assert part.read_bytes() == full[: len(full) // 2] and not dest.exists()
    etag = server.log[-1]
    download(url, dest, C4_ITEMS_SMALL, progress=False, retries=0)  # the next run resumes
    path, sent_range, if_range = server.log[-1]
    assert sent_range == f"bytes={len(full) // 2}-" and if_range and if_range.startswith('"'), etag
    assert dest.read_bytes() == full and not part.exists()

    dest.unlink()
    server.truncate_once = True  # within one call, the retry resumes by itself
    download(url, dest, C4_ITEMS_SMALL, progress=False)
    assert dest.read_bytes() == full and server.log[-1][1] == f"bytes={len(full) // 2}-"


def test_a_part_that_is_already_whole_gets_416_and_is_kept(server, cache):
    url = f"{server.url}/amazon-c4/test.csv"
    part = _interrupted_part(server, C4_QUERIES_SMALL, url)
    part.write_bytes(C4_FILES["amazon-c4/test.csv"])  # the rest arrived before the kill
    assert download(url, local_path(C4_QUERIES), C4_QUERIES_SMALL, progress=False)
    assert server.log[-1][1] == f"bytes={len(C4_FILES['amazon-c4/test.csv'])}-" and len(server.log) == 2
    assert local_path(C4_QUERIES).read_bytes() == C4_FILES["amazon-c4/test.csv"]


@pytest.mark.parametrize("record", [True, False])
def test_a_part_the_server_does_not_continue_restarts_cleanly(server, cache, record):
    url, dest = f"{server.url}/amazon-c4/{C4_ITEMS.path}", local_path(C4_ITEMS)
    part = _interrupted_part(server, C4_ITEMS_SMALL, url)
    part.write_bytes(b"X" * 500)  # not a prefix: appending would corrupt the file
    if record:
        server.ignore_range = True  # answers 200 to the Range request
    else:
        part.with_name(f".{part.name}.json").unlink()  # a .part nothing ties to the server's file: never resumed
    download(url, dest, C4_ITEMS_SMALL, progress=False)
    assert server.log[-1][1] == ("bytes=500-" if record else None)
    assert dest.read_bytes() == C4_FILES["amazon-c4/sampled_item_metadata_1M.jsonl"]


def _serve(server, rel: str, data: bytes) -> str:
    put(server.root, rel, data)
    return f"{server.url}/{rel}"


@pytest.mark.parametrize(
    ("spec", "data", "needle"),
    [
        (RemoteFile("amazon-c4", "test.csv", "csv", (), sha256="0" * 64), b"qid\n1\n", "sha256"),
        (RemoteFile("amazon-c4", "test.csv", "csv", (), size=3), b"qid\n1\n", "size 6 bytes, expected 3"),
        (ESCI_EXAMPLES, b"<html>rate limited</html>", "not a readable parquet file"),
        (C4_QUERIES, b"id,text\n1,x\n", "missing column(s) ['qid', 'query', 'item_id']"),
        (C4_ITEMS, b'{"item_id": "a", "metadata": "x"}\n{"item_id": "b", "meta', "not a readable jsonl file"),
        (ESCI_EXAMPLES, b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n", "Git LFS pointer"),
        (C4_QUERIES, b"", "file is empty"),
    ],
)
def test_a_bad_download_fails_clearly_and_leaves_nothing(server, cache, spec, data, needle):
    url = _serve(server, f"{spec.source}/{spec.path}", data)
    dest = local_path(spec)
    with pytest.raises(FetchError, match=None) as err:
        download(url, dest, spec, progress=False)
    assert needle in str(err.value) and str(dest) in str(err.value)
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()


def test_good_files_validate_and_a_bad_local_copy_is_reported_not_deleted(server, cache, tmp_path):
    table = pa.table({c: ["x"] for c in ESCI_EXAMPLES.columns})
    pq.write_table(table, tmp_path / "ok.parquet")
    validate(tmp_path / "ok.parquet", ESCI_EXAMPLES)
    good = tmp_path / "t.csv"
    good.write_bytes(b"qid\n1\n")
    validate(good, RemoteFile("amazon-c4", "t.csv", "csv", ("qid",), sha256=hashlib.sha256(b"qid\n1\n").hexdigest()))

    dest = local_path(C4_QUERIES)  # a user's own broken copy under the real name
    dest.parent.mkdir(parents=True)
    dest.write_text("nope\n")
    with pytest.raises(FetchError, match="missing column"):
        fetch_files([C4_QUERIES], mirror=server.url, progress=False)
    assert dest.exists() and server.log == []


def test_a_validated_file_is_not_read_again_until_it_changes(server, cache):
    (path,) = fetch_files([C4_QUERIES_SMALL], mirror=server.url, progress=False)
    stat = path.stat()
    path.write_bytes(path.read_bytes().replace(b"quiet", b"QUIET"))  # same size: only a re-read would notice
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    fetch_files([C4_QUERIES_SMALL], mirror=server.url, progress=False)  # remembered: size and mtime unchanged
    path.write_bytes(b"qid,query\n1,x\n")  # changed: checked again
    with pytest.raises(FetchError, match="missing column"):
        fetch_files([C4_QUERIES_SMALL], mirror=server.url, progress=False)
    assert len(server.log) == 1


def test_http_errors_name_the_url(server, cache):
    with pytest.raises(FetchError, match="HTTP 404") as err:
        fetch("esci", ["Video_Games"], mirror=server.url, progress=False)
    assert "esci/shopping_queries_dataset/shopping_queries_dataset_examples.parquet" in str(err.value)
    assert not isinstance(err.value, OfflineError)


def test_offline_fails_fast_with_manual_instructions(cache, capsys):
    mirror = f"http://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with pytest.raises(OfflineError) as err:
        fetch("esci", ["Video_Games"], mirror=mirror, progress=False)
    assert time.monotonic() - start < 3
    message = str(err.value)
    for needle in (
        "cannot reach",
        f"{cache / 'data/raw/esci'}/",
        "shopping_queries_dataset_examples.parquet (https://github.com/amazon-science/esci-data/raw/main/",
        "shopping_queries_dataset_products.parquet",
        f"meta_Video_Games.jsonl (https://huggingface.co/datasets/McAuley-Lab/Amazon-Reviews-2023/resolve/main/"
        f"raw/meta_categories/meta_Video_Games.jsonl) into {cache / 'data/raw/amazon-reviews-2023'}/",
        "recgym data prepare esci",
    ):
        assert needle in message, needle

    with socket.socket() as silent:  # accepts connections (kernel backlog) but never answers: the timeout bounds it
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        start = time.monotonic()
        with pytest.raises(OfflineError, match="timed out"):
            fetch("amazon-c4", mirror=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5, progress=False)
        assert time.monotonic() - start < 3

    assert main(["data", "fetch", "amazon-c4", "--mirror", mirror, "--no-progress"]) == 1
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert len(err_lines) == 1 and err_lines[0].startswith("recgym data fetch: error: cannot reach")
    assert "test.csv (https://huggingface.co/datasets/McAuley-Lab/Amazon-C4/resolve/main/test.csv)" in err_lines[0]


def test_usage_errors_are_one_line(cache, capsys):
    assert main(["data", "fetch", "amazon-reviews-2023", "--category", "Video_Gmes", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown Amazon Reviews 2023 category ['Video_Gmes']" in err[0] and "Video_Games" in err[0]
