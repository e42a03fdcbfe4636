"""Is a raw file complete and what it claims to be? The checks ``recgym data fetch`` runs before a download may take
its real name, and on files already there.

A file passes when its size matches what is known (the table's ``size``, else the size the server announced), its
sha256 matches where known, and a format check of the WHOLE file passes: every CSV record has the header's width
and the quoting is closed; every JSONL line is a JSON object; a Parquet footer is readable. Where the dataset card
states a row count (``RemoteFile.rows``) the count must match too: it is what catches a file cut exactly at a line
end when no size is known. Full checks of a large file take seconds, so a pass is remembered in a hidden
``.<name>.verified`` file keyed by size and modification time; a changed file is checked again.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import astuple
from pathlib import Path

from recgym.data.sources import RemoteFile
from recgym.fileio import sha256_file

CHUNK = 1 << 20
LFS_POINTER = b"version https://git-lfs.github.com/spec/"


class FetchError(RuntimeError):
    """A download failed or a file is not what it should be; the message is one line naming the file."""


def validate(path: Path, spec: RemoteFile, label: str | Path | None = None, expected_size: int | None = None) -> None:
    """Check ``path`` is a complete, good copy of ``spec`` (see the module doc).

    Args:
        label: How to name the file in errors (default: the path).
        expected_size: The size the server announced, checked when the table knows none.

    Raises:
        FetchError: naming ``label`` and what is wrong.
    """
    name = label or path
    size = path.stat().st_size
    if size == 0:
        raise FetchError(f"{name}: file is empty")
    want = spec.size if spec.size is not None else expected_size
    if want is not None and size != want:
        raise FetchError(f"{name}: size {size:,} bytes, expected {want:,}")
    if _remembered(path, spec):
        return
    if spec.sha256 is not None:
        digest = sha256_of(path)
        if digest != spec.sha256.lower():
            raise FetchError(f"{name}: sha256 {digest} does not match the expected {spec.sha256}")
    with path.open("rb") as f:
        head = f.read(len(LFS_POINTER))
    if head == LFS_POINTER:
        raise FetchError(f"{name}: is a Git LFS pointer, not the data (download the LFS media URL instead)")
    try:
        found, rows = _CHECKS[spec.kind](path)
    except FetchError:
        raise
    except Exception as err:  # any parser error means the file is not what it claims to be
        detail = " ".join(str(err).split())[:200]  # one line, whatever the parser said
        raise FetchError(f"{name}: not a readable {spec.kind} file ({type(err).__name__}: {detail})") from None
    missing = [c for c in spec.columns if c not in found]
    if missing:
        raise FetchError(f"{name}: missing column(s) {missing}; found {sorted(found)}")
    if spec.rows is not None and rows != spec.rows:
        raise FetchError(f"{name}: {rows:,} rows, the card states {spec.rows:,} (cut short? another version?)")


sha256_of = sha256_file  # the name fetch re-exports


# ------------------------------------------------------------------------------------------- memo of passes
def _memo_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def _memo_key(path: Path, spec: RemoteFile) -> dict:
    stat = path.stat()
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "spec": astuple(spec)}
    return json.loads(json.dumps(key))  # as read back from disk (tuples become lists), so the two compare equal


def _remembered(path: Path, spec: RemoteFile) -> bool:
    try:
        return json.loads(_memo_path(path).read_text()) == _memo_key(path, spec)
    except (OSError, ValueError):
        return False


def remember(path: Path, spec: RemoteFile) -> None:
    """Record that ``path`` (as it is now) passed :func:`validate` for ``spec``."""
    _memo_path(path).write_text(json.dumps(_memo_key(path, spec)))


def forget(path: Path) -> None:
    _memo_path(path).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------- format checks
def _parquet(path: Path) -> tuple[list[str], int]:
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)  # the footer sits at the end: any truncation fails here
    return meta.schema.to_arrow_schema().names, meta.num_rows


def _jsonl(path: Path) -> tuple[list[str], int]:
    """Keys of the first record and the number of records; every line must be a JSON object."""
    first: list[str] | None = None
    rows = 0
    with path.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as err:
                raise ValueError(f"line {lineno}: {err}") from None
            if not isinstance(record, dict):
                raise ValueError(f"line {lineno}: expected a JSON object, got {type(record).__name__}")
            if first is None:
                first = list(record)
            rows += 1
    return first or [], rows


def _csv(path: Path) -> tuple[list[str], int]:
    """Header and number of records (quoted fields may span lines); every record must have the header's width."""
    with open(path, newline="", encoding="utf-8") as f:
        # strict: an unclosed quote at the end of the file (a cut inside a quoted field) is an error, not a value
        reader = csv.reader(f, strict=True)
        header = [c.strip() for c in next(reader, [])]
        rows = 0
        for record in reader:
            if not record:
                continue
            if len(record) != len(header):
                raise ValueError(f"line {reader.line_num}: {len(record)} fields, the header has {len(header)}")
            rows += 1
        f.seek(0, io.SEEK_END)
        if f.tell() > 0 and not _ends_with_newline(path):
            # every record of these files ends with a newline; a last record without one was cut inside a field
            raise ValueError("the last record has no line end (cut mid-record)")
    return header, rows


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) in (b"\n", b"\r")


_CHECKS = {"parquet": _parquet, "jsonl": _jsonl, "csv": _csv}
