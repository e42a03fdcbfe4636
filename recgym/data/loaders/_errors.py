"""The one error type the loaders raise for bad input files, and helpers that phrase it consistently."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path


class DataFormatError(ValueError):
    """A data file is missing, empty or malformed. The message always names the file and the problem.

    Subclasses ``ValueError`` so callers that already catch bad-value errors keep working.
    """


def folder_listing(folder: Path, limit: int = 20) -> str:
    """A short, sorted listing of a folder's entries, so a 'missing file' error shows what *is* there."""
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return "(folder unreadable)"
    if not names:
        return "(folder is empty)"
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def require_dir(data_dir: str | Path, expected: Sequence[str], what: str) -> Path:
    """``data_dir`` as a Path; DataFormatError naming the expected files when it is not a folder."""
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: {what} data folder not found (it should hold {', '.join(expected)})")
    return folder


def require_file(folder: Path, name: str, expected: Sequence[str], what: str) -> Path:
    """``folder / name``; DataFormatError listing the files a ``what`` folder should hold and what it holds."""
    path = folder / name
    if not path.is_file():
        raise DataFormatError(
            f"{path}: file not found; a {what} folder is expected to hold {', '.join(expected)}; "
            f"found: {folder_listing(folder)}"
        )
    return path


def missing_columns(path: Path, missing: Iterable[str], found: Iterable[str], kind: str = "column") -> DataFormatError:
    """The error for required columns/keys that a file lacks, listing the ones it has."""
    missing = list(missing)
    plural = "s" if len(missing) > 1 else ""
    return DataFormatError(
        f"{path}: missing {kind}{plural} {', '.join(repr(m) for m in missing)}; {kind}s found: {sorted(found)}"
    )


def at_line(path: Path, lineno: int, problem: str) -> DataFormatError:
    """An error about one line of a text file (1-based line numbers, as editors show them)."""
    return DataFormatError(f"{path}, line {lineno}: {problem}")
