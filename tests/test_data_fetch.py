"""``recgym data fetch`` against a local HTTP server (real layout, Range, resume, restart, validation) and offline."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recgym.cli import main
from recgym.data.fetch import FetchError, OfflineError, download, fetch, fetch_files, validate
from recgym.data.sources import C4_ITEMS, C4_QUERIES, ESCI_EXAMPLES, MIRROR_ENV, RemoteFile, file_url, local_path

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


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the server's ``root``; honours ``Range: bytes=N-`` unless ``ignore_range``; logs (path, Range)."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        srv = self.server
        srv.log.append((self.path, self.headers.get("Range")))
        path = srv.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if self.headers.get("Range") and not srv.ignore_range:
            start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.truncate_once:  # announce the whole body, send half, close (HTTP/1.0): a dropped connection
            srv.truncate_once = False
            body = body[: len(body) // 2]
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    return tmp_path / "cache"


@pytest.fixture
def server(tmp_path: Path):
    """A file server on 127.0.0.1 holding the Amazon-C4 files in their upstream layout."""
    root = tmp_path / "www"
    for rel, data in C4_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.root, srv.log, srv.ignore_range, srv.truncate_once = root, [], False, False
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fetch_writes_the_cache_layout_and_skips_complete_files(server, cache, monkeypatch, capsys):
    paths = fetch("amazon-c4", mirror=server.url, progress=False)
    assert paths == [cache / "data/raw/amazon-c4/test.csv", cache / "data/raw/amazon-c4/sampled_item_metadata_1M.jsonl"]
    for path, rel in zip(paths, C4_FILES, strict=True):
        assert path.read_bytes() == C4_FILES[rel]
    assert server.log == [("/amazon-c4/test.csv", None), ("/amazon-c4/sampled_item_metadata_1M.jsonl", None)]
    assert not list(paths[0].parent.glob("*.part"))

    monkeypatch.setenv(MIRROR_ENV, server.url)  # the env var works like --mirror
    assert file_url(C4_QUERIES) == f"{server.url}/amazon-c4/test.csv"
    assert main(["data", "fetch", "amazon-c4", "--no-progress"]) == 0
    assert len(server.log) == 2  # complete files are validated locally, not downloaded again
    out = capsys.readouterr().out
    assert "test.csv" in out and "recgym data prepare amazon-c4" in out


def test_resume_sends_range_and_gives_identical_bytes(server, cache):
    dest = local_path(C4_ITEMS)
    dest.parent.mkdir(parents=True)
    full = C4_FILES["amazon-c4/sampled_item_metadata_1M.jsonl"]
    dest.with_name(dest.name + ".part").write_bytes(full[:1000])
    assert download(f"{server.url}/amazon-c4/{C4_ITEMS.path}", dest, C4_ITEMS, progress=False)
    assert server.log == [(f"/amazon-c4/{C4_ITEMS.path}", "bytes=1000-")]
    assert dest.read_bytes() == full and not dest.with_name(dest.name + ".part").exists()


def test_a_part_that_is_already_whole_gets_416_and_is_kept(server, cache):
    dest = local_path(C4_QUERIES)
    dest.parent.mkdir(parents=True)
    dest.with_name("test.csv.part").write_bytes(C4_FILES["amazon-c4/test.csv"])
    assert download(f"{server.url}/amazon-c4/test.csv", dest, C4_QUERIES, progress=False)
    assert server.log[0][1] == f"bytes={len(C4_FILES['amazon-c4/test.csv'])}-"
    assert dest.read_bytes() == C4_FILES["amazon-c4/test.csv"]


def test_a_server_that_ignores_range_restarts_cleanly(server, cache):
    server.ignore_range = True
    dest = local_path(C4_ITEMS)
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".part").write_bytes(b"X" * 500)  # not a prefix: appending would corrupt the file
    download(f"{server.url}/amazon-c4/{C4_ITEMS.path}", dest, C4_ITEMS, progress=False)
    assert server.log[0][1] == "bytes=500-"
    assert dest.read_bytes() == C4_FILES["amazon-c4/sampled_item_metadata_1M.jsonl"]


def test_a_dropped_connection_is_resumed(server, cache):
    url, dest = f"{server.url}/amazon-c4/{C4_ITEMS.path}", local_path(C4_ITEMS)
    full = C4_FILES["amazon-c4/sampled_item_metadata_1M.jsonl"]
    server.truncate_once = True
    with pytest.raises(FetchError, match="interrupted .*run again to resume"):
        download(url, dest, C4_ITEMS, progress=False, retries=0)
    part = dest.with_name(dest.name + ".part")
    assert part.read_bytes() == full[: len(full) // 2] and not dest.exists()
    download(url, dest, C4_ITEMS, progress=False, retries=0)  # the next run resumes
    assert server.log[-1][1] == f"bytes={len(full) // 2}-" and dest.read_bytes() == full

    dest.unlink()
    server.truncate_once = True  # within one call, the retry resumes by itself
    download(url, dest, C4_ITEMS, progress=False)
    assert dest.read_bytes() == full and server.log[-1][1] == f"bytes={len(full) // 2}-"


def _serve(server, rel: str, data: bytes) -> str:
    (server.root / rel).parent.mkdir(parents=True, exist_ok=True)
    (server.root / rel).write_bytes(data)
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
