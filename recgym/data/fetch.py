"""Downloading the raw files of a dataset: streamed, resumable, validated, and never half-written under the real name.

Each file streams to ``<name>.part`` and is renamed to ``<name>`` only after it is complete: its size matches the
announced one and the whole-file checks of :mod:`recgym.data.checks` pass (``recgym data info`` relies on that).
One process at a time works on a file (a ``.<name>.lock`` file lock): a second fetch of the same dataset waits, then
finds the file complete. A ``.part`` left by an interrupted run is resumed with ``Range`` plus ``If-Range`` carrying
the ETag (else Last-Modified) recorded when it was started (``.<name>.part.json``): a server whose file changed since
answers with the whole new file, and the ``.part`` is started over; a ``.part`` with no such record is started over
too, as is one that a 416 answer does not show to be exactly the whole file. A body whose end cannot be told (no
``Content-Length``, not chunked) is accepted only when the table knows the file's size, hash or row count.

``timeout`` bounds connecting and every stall: a window of ``timeout`` seconds in which less than ``MIN_PROGRESS``
bytes (or the rest of the file) arrive is a stall, so a trickling server cannot hold a download forever; ``deadline``
bounds the whole file. Every failure is a :class:`FetchError` with a one-line message naming the URL or file.
Only the standard library's HTTP client (urllib), ``filelock`` and tqdm are used; docs/data.md says why not
``huggingface_hub``.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from filelock import FileLock, Timeout

from recgym.data.checks import FetchError, forget, remember, sha256_of, validate
from recgym.data.sources import RemoteFile, dataset_files, file_url, local_path, upstream_url

__all__ = ["FetchError", "OfflineError", "download", "fetch", "fetch_files", "manual_instructions", "sha256_of",
           "validate"]  # fmt: skip

DEFAULT_TIMEOUT = 10.0
"""Seconds a connection attempt or a stall may take: short, so an offline machine fails fast."""
MIN_PROGRESS = 1024
"""Bytes that must arrive in every ``timeout`` window (or the rest of the file): slower is a stall."""
CHUNK = 1 << 20
USER_AGENT = "recgym-data-fetch/0.1 (+https://arxiv.org/abs/2503.24289)"


class OfflineError(FetchError):
    """The server could not be reached (no network, refused, timed out)."""


class _Interrupted(Exception):
    """The transfer stopped early; the ``.part`` (if kept) holds what arrived and can be resumed."""


def fetch(
    dataset: str,
    categories: Sequence[str] | None = None,
    *,
    root: str | Path | None = None,
    mirror: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float | None = None,
    progress: bool = True,
) -> list[Path]:
    """Download every raw file of ``dataset`` (see :mod:`recgym.data.sources`) into ``<root>/<source>/``.

    ``root`` defaults to ``<cache>/data/raw``; ``mirror`` (or ``$RECGYM_DATA_MIRROR``) replaces the upstream hosts;
    ``deadline`` (seconds) bounds each whole file. Files already complete are validated and kept. Returns the paths.

    Raises:
        OfflineError: a server was unreachable; the message lists the folder and files to place by hand.
        FetchError: a download failed or did not validate (nothing is left under the file's real name).
    """
    return fetch_files(
        dataset_files(dataset, categories), root=root, mirror=mirror, timeout=timeout, deadline=deadline,
        progress=progress, then=f"then run `recgym data prepare {dataset}`",
    )  # fmt: skip


def fetch_files(
    files: Sequence[RemoteFile],
    *,
    root: str | Path | None = None,
    mirror: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float | None = None,
    progress: bool = True,
    then: str = "",
) -> list[Path]:
    """Download ``files`` (see :func:`fetch`); ``then`` ends the manual-download instructions."""
    paths = []
    for i, spec in enumerate(files):
        dest = local_path(spec, root)
        try:
            download(file_url(spec, mirror), dest, spec, timeout=timeout, deadline=deadline, progress=progress)
        except OfflineError as err:
            missing = [f for f in files[i:] if not local_path(f, root).is_file()]
            raise OfflineError(f"{err}. {manual_instructions(missing, root)}{'; ' + then if then else ''}") from None
        paths.append(dest)
    return paths


def manual_instructions(files: Sequence[RemoteFile], root: str | Path | None = None) -> str:
    """One sentence telling a user without network which files to download and the exact folder for each."""
    by_folder: dict[Path, list[str]] = {}
    for spec in files:
        by_folder.setdefault(local_path(spec, root).parent, []).append(f"{spec.name} ({upstream_url(spec)})")
    parts = [f"{', '.join(names)} into {folder}/" for folder, names in by_folder.items()]
    return "To install by hand, download " + "; and ".join(parts)


def download(
    url: str,
    dest: Path,
    spec: RemoteFile,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float | None = None,
    progress: bool = True,
    retries: int = 2,
) -> bool:
    """Make ``dest`` a complete, validated copy of ``url``; True if downloaded, False if it was already complete.

    A transfer that stops early is resumed up to ``retries`` times, then reported with the ``.part`` kept for the
    next run. A download that fails validation is deleted. A file already at ``dest`` is validated but never deleted
    (it may be the user's own copy).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(dest, progress):
        if dest.is_file():
            validate(dest, spec)
            remember(dest, spec)
            return False
        part = dest.with_name(dest.name + ".part")
        end_at = None if deadline is None else time.monotonic() + deadline
        for attempt in range(retries + 1):
            try:
                total, delimited = _transfer(url, part, timeout, end_at, progress)
                break
            except _Interrupted as err:
                if attempt == retries:
                    got = part.stat().st_size if part.exists() else 0
                    raise FetchError(
                        f"{url}: download interrupted ({err}) with {got:,} bytes in {part}; run again to resume"
                    ) from None
        if total is None and not delimited and spec.size is None and spec.sha256 is None and spec.rows is None:
            _discard(part)
            raise FetchError(
                f"{url}: the server announced no size and closed the connection; nothing tells a complete file "
                f"from a cut one, so it is not kept"
            )
        try:
            validate(part, spec, label=f"{dest} (from {url})", expected_size=total)
        except FetchError:
            _discard(part)  # a bad download must not be resumed or mistaken for a good one
            raise
        forget(dest)
        part.replace(dest)
        _meta_path(part).unlink(missing_ok=True)
        remember(dest, spec)
        return True


class _exclusive:  # noqa: N801 (used as a context manager, like a function)
    """Hold ``.<name>.lock`` beside ``dest``; says so on stderr when another process holds it and we wait."""

    def __init__(self, dest: Path, progress: bool) -> None:
        self.lock = FileLock(dest.with_name(f".{dest.name}.lock"))
        self.dest, self.progress = dest, progress

    def __enter__(self) -> None:
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            if self.progress:
                print(f"waiting for another recgym process downloading {self.dest} ...", file=sys.stderr)
            self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


# ------------------------------------------------------------------------------------------------ transfer
def _meta_path(part: Path) -> Path:
    return part.with_name(f".{part.name}.json")


def _discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    _meta_path(part).unlink(missing_ok=True)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:200] or type(err).__name__


def _transfer(url: str, part: Path, timeout: float, end_at: float | None, progress: bool) -> tuple[int | None, bool]:
    """Stream ``url`` into ``part``, resuming it when the server shows it holds the same file.

    Returns ``(announced total size or None, whether the body's end was delimited by the protocol)``."""
    try:
        meta = json.loads(_meta_path(part).read_text()) if part.exists() else {}
    except (OSError, ValueError):
        meta = {}
    validator = meta.get("etag") or meta.get("last_modified") if meta.get("url") == url else None
    offset = part.stat().st_size if part.exists() else 0
    if offset and not validator:
        _discard(part)  # nothing ties these bytes to the server's current file: never append to them
        offset = 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers.update({"Range": f"bytes={offset}-", "If-Range": validator})
    try:
        response = urlopen(Request(url, headers=headers), timeout=_left(timeout, end_at, url))
    except HTTPError as err:
        if err.code == 416 and offset:
            total = _range_total(err.headers.get("Content-Range"))
            same = err.headers.get("ETag") in (None, meta.get("etag"))
            if total == offset and same:  # the .part is exactly the whole file; validation decides the rest
                return total, True
            _discard(part)
            raise _Interrupted(f"the server refused to resume at byte {offset:,} (HTTP 416); starting over") from None
        raise FetchError(f"{url}: HTTP {err.code} {_one_line(err.reason)}") from None
    except http.client.HTTPException as err:  # BadStatusLine, LineTooLong, too many headers, ...
        raise FetchError(f"{url}: malformed HTTP response ({type(err).__name__}: {_one_line(err)})") from None
    except (URLError, OSError) as err:  # refused, unresolvable host, timeout
        raise OfflineError(f"cannot reach {url} ({_one_line(getattr(err, 'reason', err))})") from None
    with response:
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        if response.status == 206:
            total = _check_resume(response, offset, meta, etag, part)
        else:
            offset = 0  # the whole file (a server ignoring Range, or the file changed): start over, never append
            length = response.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None
            _meta_path(part).write_text(json.dumps({"url": url, "etag": etag, "last_modified": modified,
                                                    "total": total}))  # fmt: skip
        delimited = total is not None or response.headers.get("Transfer-Encoding", "").lower() == "chunked"
        _stream(response, part, offset, total, timeout, end_at, progress, url)
    size = part.stat().st_size
    if total is not None and size > total:
        _discard(part)
        raise FetchError(f"{url}: the server sent {size:,} bytes, more than the {total:,} it announced")
    if total is not None and size < total:
        raise _Interrupted(f"got {size:,} of {total:,} bytes")
    return total, delimited


def _range_total(content_range: str | None) -> int | None:
    match = re.fullmatch(r"bytes (?:\d+-\d+|\*)/(\d+)", (content_range or "").strip())
    return int(match.group(1)) if match else None


def _check_resume(response: http.client.HTTPResponse, offset: int, meta: dict, etag: str | None, part: Path) -> int:
    """The total size of a 206 answer that continues ``part``; otherwise the ``.part`` is dropped."""
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", "").strip())
    problem = None
    if not match or int(match.group(1)) != offset:
        problem = f"unusable Content-Range {response.headers.get('Content-Range')!r}"
    elif meta.get("etag") and etag != meta["etag"]:  # a server that ignored If-Range
        problem = f"the file changed on the server (ETag {meta['etag']} -> {etag})"
    elif match.group(2) == "*" or (meta.get("total") is not None and int(match.group(2)) != meta["total"]):
        problem = f"the file's size changed on the server ({meta.get('total')} -> {match.group(2)})"
    if problem:
        _discard(part)
        raise _Interrupted(f"{problem}; starting over")
    return int(match.group(2))


def _left(timeout: float, end_at: float | None, url: str) -> float:
    """The socket timeout to use now: ``timeout``, cut to what is left before the deadline."""
    if end_at is None:
        return timeout
    left = end_at - time.monotonic()
    if left <= 0:
        raise FetchError(f"{url}: not complete within the deadline; run again to resume")
    return min(timeout, left)


def _stream(response, part: Path, offset: int, total: int | None, timeout: float, end_at: float | None,
            progress: bool, url: str) -> None:  # fmt: skip
    """Append the body to ``part``; a window of ``timeout`` seconds with too little data is a stall."""
    from tqdm import tqdm

    window_start, window_bytes = time.monotonic(), 0
    with part.open("ab" if offset else "wb") as out, tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=part.name[:-5],
        disable=not progress, leave=False,
    ) as bar:  # fmt: skip
        written = offset
        try:
            while True:
                sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
                if sock is not None:  # each read waits at most the time left in the window or before the deadline
                    sock.settimeout(max(0.01, _left(timeout, end_at, url)))
                chunk = response.read1(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                bar.update(len(chunk))
                written += len(chunk)
                window_bytes += len(chunk)
                _left(timeout, end_at, url)
                now = time.monotonic()
                if now - window_start >= timeout:
                    rest = MIN_PROGRESS if total is None else min(MIN_PROGRESS, total - (written - window_bytes))
                    if window_bytes < rest:
                        raise _Interrupted(f"stalled: {window_bytes} bytes in {now - window_start:.1f} s")
                    window_start, window_bytes = now, 0
        except (OSError, http.client.HTTPException) as err:
            raise _Interrupted(type(err).__name__) from None
