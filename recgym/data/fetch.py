"""Downloading the raw files of a dataset: streamed, resumable, validated, and never half-written under the real name.

Each file streams to ``<name>.part`` and is renamed to ``<name>`` only after it validated, so a file under its real
name is always complete (``recgym data info`` relies on that). A ``.part`` left by an interrupted run is resumed with
an HTTP ``Range`` request; a server that ignores ``Range`` (answers 200) makes the download start over cleanly. With
no network the first connection fails within ``timeout`` seconds and the error says which files to put where by hand.
Only the standard library (urllib) and tqdm are used, so fetching needs nothing beyond recgym's own dependencies.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from recgym.data.sources import RemoteFile, dataset_files, file_url, local_path, upstream_url

DEFAULT_TIMEOUT = 10.0
"""Seconds a connection attempt or a stalled read may take: short, so an offline machine fails fast."""
CHUNK = 1 << 20
TAIL = 4 << 20  # bytes read from a JSONL file's end to check its last line is whole
USER_AGENT = "recgym-data-fetch/0.1 (+https://arxiv.org/abs/2503.24289)"
LFS_POINTER = b"version https://git-lfs.github.com/spec/"


class FetchError(RuntimeError):
    """A download failed or a file is not what it should be; the message is one line naming the file."""


class OfflineError(FetchError):
    """The server could not be reached (no network, refused, timed out)."""


class _Interrupted(Exception):
    """The connection dropped mid-transfer; the ``.part`` holds what arrived and can be resumed."""


def fetch(
    dataset: str,
    categories: Sequence[str] | None = None,
    *,
    root: str | Path | None = None,
    mirror: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = True,
) -> list[Path]:
    """Download every raw file of ``dataset`` (see :mod:`recgym.data.sources`) into ``<root>/<source>/``.

    ``root`` defaults to ``<cache>/data/raw``; ``mirror`` (or ``$RECGYM_DATA_MIRROR``) replaces the upstream hosts.
    Files already complete are validated and kept. Returns the local paths.

    Raises:
        OfflineError: a server was unreachable; the message lists the folder and files to place by hand.
        FetchError: a download failed or did not validate (nothing is left under the file's real name).
    """
    return fetch_files(
        dataset_files(dataset, categories), root=root, mirror=mirror, timeout=timeout, progress=progress,
        then=f"then run `recgym data prepare {dataset}`",
    )  # fmt: skip


def fetch_files(
    files: Sequence[RemoteFile],
    *,
    root: str | Path | None = None,
    mirror: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = True,
    then: str = "",
) -> list[Path]:
    """Download ``files`` (see :func:`fetch`); ``then`` ends the manual-download instructions."""
    paths = []
    for i, spec in enumerate(files):
        dest = local_path(spec, root)
        try:
            download(file_url(spec, mirror), dest, spec, timeout=timeout, progress=progress)
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
    progress: bool = True,
    retries: int = 2,
) -> bool:
    """Make ``dest`` a validated copy of ``url``; True if it was downloaded, False if it was already complete.

    A connection that drops mid-transfer is resumed up to ``retries`` times, then reported with the ``.part`` kept
    for the next run. A download that fails validation is deleted. A file already at ``dest`` is validated but
    never deleted (it may be the user's own copy).
    """
    if dest.is_file():
        validate(dest, spec)
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _transfer(url, part, timeout, progress)
            break
        except _Interrupted as err:
            if attempt == retries:
                got = part.stat().st_size if part.exists() else 0
                raise FetchError(
                    f"{url}: download interrupted ({err}) with {got:,} bytes in {part}; run again to resume"
                ) from None
    try:
        validate(part, spec, label=f"{dest} (from {url})")
    except FetchError:
        part.unlink(missing_ok=True)  # a bad download must not be resumed or mistaken for a good one
        raise
    os.replace(part, dest)
    return True


def _transfer(url: str, part: Path, timeout: float, progress: bool) -> None:
    """Stream ``url`` into ``part``, appending from its current size when the server honours ``Range``."""
    from tqdm import tqdm

    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as err:
        if err.code == 416 and offset:  # nothing left past offset: the .part already holds the whole file
            return
        raise FetchError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (URLError, OSError) as err:  # refused, unresolvable host, timeout
        raise OfflineError(f"cannot reach {url} ({getattr(err, 'reason', err)})") from None
    with response:
        try:
            total = _expected_total(response, offset)
        except FetchError:
            part.unlink(missing_ok=True)  # the server answered a range we cannot append: the next run starts over
            raise
        if response.status != 206:
            offset = 0  # the server sent the whole file (it ignored Range): start over, never append
        with part.open("ab" if offset else "wb") as out, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=part.name[:-5],
            disable=not progress, leave=False,
        ) as bar:  # fmt: skip
            try:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as err:
                raise _Interrupted(type(err).__name__) from None
    size = part.stat().st_size
    if total is not None and size != total:
        raise _Interrupted(f"got {size:,} of {total:,} bytes")


def _expected_total(response: http.client.HTTPResponse, offset: int) -> int | None:
    """The full file size the server announced (``Content-Range`` total for 206, ``Content-Length`` for 200)."""
    if response.status == 206:
        match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", "").strip())
        if not match or int(match.group(1)) != offset:
            raise FetchError(f"{response.url}: unusable Content-Range {response.headers.get('Content-Range')!r}")
        return None if match.group(2) == "*" else int(match.group(2))
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


# ------------------------------------------------------------------------------------------------ validation
def validate(path: Path, spec: RemoteFile, label: str | Path | None = None) -> None:
    """Check ``path`` is a good copy of ``spec``: size and sha256 when known, then the format check.

    Raises:
        FetchError: naming ``label`` (default: the path) and what is wrong.
    """
    name = label or path
    size = path.stat().st_size
    if size == 0:
        raise FetchError(f"{name}: file is empty")
    if spec.size is not None and size != spec.size:
        raise FetchError(f"{name}: size {size:,} bytes, expected {spec.size:,}")
    if spec.sha256 is not None:
        digest = sha256_of(path)
        if digest != spec.sha256.lower():
            raise FetchError(f"{name}: sha256 {digest} does not match the expected {spec.sha256}")
    with path.open("rb") as f:
        head = f.read(len(LFS_POINTER))
    if head == LFS_POINTER:
        raise FetchError(f"{name}: is a Git LFS pointer, not the data (download the LFS media URL instead)")
    try:
        found = _CHECKS[spec.kind](path)
    except FetchError:
        raise
    except Exception as err:  # any parser error means the file is not what it claims to be
        raise FetchError(f"{name}: not a readable {spec.kind} file ({type(err).__name__}: {err})") from None
    missing = [c for c in spec.columns if c not in found]
    if missing:
        raise FetchError(f"{name}: missing column(s) {missing}; found {sorted(found)}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_schema(path).names  # reads the footer only: a truncated file fails here


def _jsonl_keys(path: Path) -> list[str]:
    """Keys of the first record; also parses the last line, since a cut-off download ends mid-record."""
    with path.open("rb") as f:
        first = next((line for line in f if line.strip()), b"")
        start = max(0, path.stat().st_size - TAIL)
        f.seek(start)
        tail = f.read().split(b"\n")
    record = json.loads(first)
    if not isinstance(record, dict):
        raise ValueError(f"expected JSON objects, got {type(record).__name__}")
    whole = [line for line in tail[1 if start else 0 :] if line.strip()]  # tail[0] may start mid-line
    if whole:
        json.loads(whole[-1])
    return list(record)


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return [c.strip() for c in next(csv.reader(f), [])]


_CHECKS = {"parquet": _parquet_columns, "jsonl": _jsonl_keys, "csv": _csv_header}
