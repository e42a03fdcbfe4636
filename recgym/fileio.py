"""Atomic writes of files and folders, file checksums, and reading JSON Lines files: the one implementation recgym's
writers and readers share.

Atomic writes build their output under a temporary sibling named ``.tmp-<host>.<pid>.<random>-<name>`` (see
:mod:`recgym.tempdirs`) and rename it into place, so a reader sees the old version or the new one, never half a file
or folder. The name is unique to the writer: concurrent writers of one path never share, truncate or rename away
each other's temporary, and a killed writer's leftover can be told from a live one's and removed
(:func:`recgym.tempdirs.remove_stale` with :data:`TEMP_PREFIX`). Nothing is fsynced: a crash can leave the new
version missing, not torn, and what must survive a power loss (checkpoints) carries its own checksums.

JSON Lines files hold one JSON object per line; blank lines are skipped, and a bad line is an error that names the
file and the line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from recgym.tempdirs import temp_dir, temp_file

TEMP_PREFIX = ".tmp-"
"""What the temporary names of atomic writes start with (then ``<host>.<pid>.``)."""
OLD_PREFIX = ".old-"
"""What a folder replaced by :func:`atomic_dir` is renamed to (then ``<host>.<pid>.``) until the new one is in."""

JsonRecord = dict[str, Any]


# ------------------------------------------------------------------------------------------------ atomic writes
@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing (``mode`` ``"w"``: UTF-8 text, ``"wb"``: bytes) and rename
    it to ``path`` when the block ends without error; on an error ``path`` is left as it was and the temporary file
    is removed."""
    path = Path(path)
    tmp = temp_file(path.parent, TEMP_PREFIX, suffix=f"-{path.name}")
    try:
        with tmp.open(mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` by ``text`` (UTF-8) atomically (:func:`atomic_write`)."""
    with atomic_write(path) as f:
        f.write(text)


def atomic_write_json(path: str | os.PathLike[str], data: Any, indent: int | None = None) -> None:
    """Replace ``path`` by ``data`` as JSON (``json.dumps(data, indent=indent)``, then a newline) atomically."""
    atomic_write_text(path, json.dumps(data, indent=indent) + "\n")


@contextlib.contextmanager
def atomic_dir(
    target: str | os.PathLike[str], *, replace: bool = False, complete: Callable[[Path], bool] = Path.is_dir
) -> Iterator[Path]:
    """Yield a new, empty temporary sibling folder of ``target`` to fill; when the block ends without error it is
    renamed to ``target``. The temporary folder is gone afterwards in every case.

    Args:
        replace: An existing ``target`` is replaced: moved aside (``.old-...``) and deleted only once the new folder
            is in place, so a kill in between leaves the old copy recoverable rather than no copy.
        complete: Without ``replace``, when the rename fails (``target`` is already there and not empty) and
            ``complete(target)`` holds, another writer finished the same folder first: theirs is as good as ours and
            stays. Otherwise the rename's ``OSError`` propagates.
    """
    target = Path(target)
    tmp = temp_dir(target.parent, TEMP_PREFIX, suffix=f"-{target.name}")
    try:
        yield tmp
        if replace and target.exists():
            old = temp_dir(target.parent, OLD_PREFIX, suffix=f"-{target.name}")
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.replace(tmp, target)
            except OSError:
                if replace or not complete(target):
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of the file ``path``, read 1 MiB at a time (model and data files run to gigabytes)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# -------------------------------------------------------------------------------------------------- JSON Lines
def line_error(path: Path, lineno: int, problem: str) -> ValueError:
    """The error :func:`iter_jsonl` raises for a bad line: ``<path>, line <n>: <problem>``."""
    return ValueError(f"{path}, line {lineno}: {problem}")


def iter_jsonl(
    path: str | os.PathLike[str], error: Callable[[Path, int, str], Exception] = line_error
) -> Iterator[tuple[int, JsonRecord]]:
    """Yield ``(line number, object)`` for each non-blank line of the UTF-8 file ``path``, streaming (files may hold
    millions of lines).

    A line that is not valid JSON, or not a JSON object, raises ``error(path, line number, problem)`` (default
    :func:`line_error`; the data loaders pass their own error type). Bytes that are not UTF-8 raise
    ``UnicodeDecodeError``.
    """
    path = Path(path)
    with path.open("r", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():  # tolerate blank lines (e.g. a trailing newline pair)
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise error(path, lineno, f"malformed JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(record, dict):
                raise error(path, lineno, f"expected a JSON object, got {type(record).__name__}")
            yield lineno, record


def located_error(path: Path, lineno: int, problem: str) -> ValueError:
    """``ValueError("<path>:<line>: <problem>")``: the compiler-style location user-written files (SFT pairs, IFEval
    prompts) are reported with."""
    return ValueError(f"{path}:{lineno}: {problem}")


def read_jsonl(path: str | os.PathLike[str]) -> list[JsonRecord]:
    """Every object of the JSON Lines file ``path``, in order (see :func:`iter_jsonl` for the errors)."""
    return [record for _, record in iter_jsonl(path)]


__all__ = [
    "OLD_PREFIX", "TEMP_PREFIX", "atomic_dir", "atomic_write", "atomic_write_json", "atomic_write_text",
    "iter_jsonl", "line_error", "read_jsonl", "sha256_file",
]  # fmt: skip
