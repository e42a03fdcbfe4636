"""``recgym data fetch`` against a hostile server on 127.0.0.1: every way a partial, stale or mixed file used to be
accepted as complete, concurrent fetches of one dataset, malformed HTTP, trickling bodies. Every failure of the
command is one line on stderr and exit status 1."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import time
from pathlib import Path

import pytest
from fetch_server import put, serve

from recgym.cli import main
from recgym.data.fetch import FetchError, download
from recgym.data.sources import C4_ITEMS, C4_QUERIES, amazon_benchmark, amazon_meta, local_path

ITEMS = b"".join(json.dumps({"item_id": f"B{i}", "metadata": f"item {i} " * 30}).encode() + b"\n" for i in range(60))
ITEMS_SPEC = dataclasses.replace(C4_ITEMS, rows=60)  # what the card states, for this small copy
META = amazon_meta("Video_Games")  # a JSONL whose card states no row count
META_JSONL = ITEMS.replace(b'"item_id"', b'"parent_asin"')
CSV = b"qid,query,item_id,user_id,ori_rating,ori_review\n" + b"".join(
    b'%d,query %d,B%02d,U%d,5,"good,\nvery good"\n' % (q, q, q, q) for q in range(40)
)
CSV_SPEC = dataclasses.replace(C4_QUERIES, rows=40)
BENCH = amazon_benchmark("Video_Games", "test")  # a CSV whose card states no row count
BENCH_CSV = b"user_id,parent_asin,rating,timestamp,history\n" + b"".join(
    b"U%d,V%d,5,%d,V1 V2 V3\n" % (i, i, i) for i in range(40)
)
FORK = multiprocessing.get_context("fork")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def server(tmp_path: Path):
    files = {
        f"amazon-c4/{C4_ITEMS.path}": ITEMS,
        f"amazon-c4/{C4_QUERIES.path}": CSV,
        f"amazon-reviews-2023/{META.path}": META_JSONL,
        f"amazon-reviews-2023/{BENCH.path}": BENCH_CSV,
    }
    with serve(tmp_path / "www", files) as srv:
        yield srv


def url_of(server, spec) -> str:
    return f"{server.url}/{spec.source}/{spec.path}"


def part_of(spec) -> Path:
    dest = local_path(spec)
    return dest.with_name(dest.name + ".part")


def interrupted(server, spec) -> Path:
    """Leave the ``.part`` (and its record) of a download whose connection dropped halfway."""
    server.truncate_once = True
    with pytest.raises(FetchError, match="interrupted"):
        download(url_of(server, spec), local_path(spec), spec, progress=False, retries=0)
    return part_of(spec)


def refused(server, spec, needle: str) -> None:
    """The download fails naming the URL, and leaves nothing under the real name."""
    with pytest.raises(FetchError, match=needle) as err:
        download(url_of(server, spec), local_path(spec), spec, progress=False, retries=0)
    assert url_of(server, spec) in str(err.value) and "\n" not in str(err.value)
    assert not local_path(spec).exists()


# ------------------------------------------------------------------------------------------------- 416
@pytest.mark.parametrize("total", [True, False])
def test_a_416_for_a_partial_file_starts_over(server, cache, total):
    part = interrupted(server, META)
    part.write_bytes(META_JSONL[: META_JSONL.index(b"\n", 3000) + 1])  # cut at a line end: every line parses
    server.always_416, server.no_range_total = True, not total
    download(url_of(server, META), local_path(META), META, progress=False)
    assert local_path(META).read_bytes() == META_JSONL
    assert [r[1] is not None for r in server.log[1:]] == [True, False]  # the resume was refused; the retry was whole


# ---------------------------------------------------------------------------------------- cut-short bodies
@pytest.mark.parametrize("spec", [BENCH, META])
def test_a_body_of_unknown_length_is_not_kept_when_nothing_vouches_for_it(server, cache, spec):
    server.no_length = True  # the connection closes after all the bytes: still, nothing shows they are all
    refused(server, spec, "announced no size")
    assert not part_of(spec).exists()


def test_a_body_of_unknown_length_is_kept_when_the_row_count_matches(server, cache):
    server.no_length = True
    download(url_of(server, CSV_SPEC), local_path(CSV_SPEC), CSV_SPEC, progress=False)
    assert local_path(CSV_SPEC).read_bytes() == CSV


@pytest.mark.parametrize(
    ("spec", "data", "cut", "needle"),
    [
        (CSV_SPEC, CSV, CSV.index(b"query 7"), "fields, the header has"),  # mid-record
        (CSV_SPEC, CSV, CSV.index(b'"good,', 500) + 3, "unexpected end of data"),  # inside a quoted field
        (BENCH, BENCH_CSV, len(BENCH_CSV) - 3, "no line end"),  # inside the last field: the width is right
        (CSV_SPEC, CSV, CSV.index(b"\n10,") + 1, "rows, the card states 40"),  # at a record end
        (ITEMS_SPEC, ITEMS, ITEMS.index(b"\n", 3000) + 1, "rows, the card states 60"),  # at a line end
        (META, META_JSONL, META_JSONL.index(b"\n", 3000) - 5, "not a readable jsonl file"),  # mid-line
    ],
)
def test_a_file_cut_short_under_a_matching_content_length_is_refused(server, cache, spec, data, cut, needle):
    server.short_length = cut  # the server announces, and sends, only the first `cut` bytes
    refused(server, spec, needle)
    assert not part_of(spec).exists()


# -------------------------------------------------------------------------------------- stale .part files
@pytest.mark.parametrize("server_ignores_if_range", [False, True])
def test_a_stale_part_is_never_mixed_with_a_newer_file(server, cache, server_ignores_if_range):
    interrupted(server, ITEMS_SPEC)
    newer = ITEMS.replace(b"item ", b"ITEM ")  # same size, other bytes: a new upstream version
    put(server.root, f"amazon-c4/{C4_ITEMS.path}", newer)
    server.ignore_if_range = server_ignores_if_range
    download(url_of(server, ITEMS_SPEC), local_path(ITEMS_SPEC), ITEMS_SPEC, progress=False)
    assert local_path(ITEMS_SPEC).read_bytes() == newer


# --------------------------------------------------------------------------------------------- concurrency
def _fetch_in_child(mirror: str) -> None:
    assert main(["data", "fetch", "amazon-reviews-2023", "--category", "Video_Games", "--mirror", mirror,
                 "--no-progress"]) == 0  # fmt: skip


def test_concurrent_fetches_of_one_dataset_download_each_file_once(server, cache):
    for split in ("train", "valid"):
        put(server.root, f"amazon-reviews-2023/{amazon_benchmark('Video_Games', split).path}", BENCH_CSV)
    server.delay = 0.3  # long enough for the two runs to overlap on every file
    runs = [FORK.Process(target=_fetch_in_child, args=(server.url,)) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(60)
    assert [run.exitcode for run in runs] == [0, 0]
    paths = [entry[0] for entry in server.log]
    assert sorted(paths) == sorted(set(paths)) and len(paths) == 4  # each file downloaded once, by one of them
    assert local_path(META).read_bytes() == META_JSONL and local_path(BENCH).read_bytes() == BENCH_CSV


# ----------------------------------------------------------------------------- malformed HTTP, slow bodies
@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "BadStatusLine"),
        (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", "LineTooLong"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 150 + b"\r\n", "more than 100 headers"),
    ],
)
def test_malformed_http_is_one_line_and_exit_1(server, cache, capsys, reply, needle):
    server.raw_reply = reply
    assert main(["data", "fetch", "amazon-c4", "--mirror", server.url, "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("recgym data fetch: error: ") and needle in err[0], err


def test_a_trickling_body_is_a_stall_within_the_timeout(server, cache, capsys):
    server.trickle = 0.05  # ~20 bytes a second: the 4 KB file would take minutes
    started = time.monotonic()
    argv = ["data", "fetch", "amazon-c4", "--mirror", server.url, "--no-progress", "--timeout", "0.5"]
    assert main(argv) == 1
    assert time.monotonic() - started < 4  # three attempts of about one window each
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stalled" in err[0] and "run again to resume" in err[0]


def test_the_deadline_bounds_the_whole_file(server, cache, capsys):
    server.trickle = 0.002  # ~500 bytes a second: no stall within a 5 s window, too slow for the deadline
    started = time.monotonic()
    argv = ["data", "fetch", "amazon-c4", "--mirror", server.url, "--no-progress", "--timeout", "5", "--deadline", "1"]
    assert main(argv) == 1
    assert time.monotonic() - started < 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not complete within the deadline" in err[0]
