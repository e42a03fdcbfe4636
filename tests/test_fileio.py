"""recgym.fileio on real files: atomic file and folder writes (a failure or a kill mid-write leaves the old version and
no partial file under the real name), and JSON Lines reading with errors that name the file and line."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import signal
from pathlib import Path

import pytest

from recgym.fileio import (
    TEMP_PREFIX,
    atomic_dir,
    atomic_write,
    atomic_write_json,
    atomic_write_text,
    iter_jsonl,
    read_jsonl,
    sha256_file,
)
from recgym.tempdirs import remove_stale

FORK = multiprocessing.get_context("fork")


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------------------------------------------- files
def test_atomic_write_replaces_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "out" / "notes.txt"  # the folder is made as needed
    atomic_write_text(path, "first\n")
    atomic_write_text(path, "second, ünïcode\n")
    assert path.read_text(encoding="utf-8") == "second, ünïcode\n"
    with atomic_write(path, "wb") as f:
        f.write(b"\x00bytes")
    assert path.read_bytes() == b"\x00bytes" and names(path.parent) == ["notes.txt"]


def test_atomic_write_json_ends_with_a_newline(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "m.json", {"b": [1, 2], "a": "x"}, indent=1)
    assert (tmp_path / "m.json").read_text() == '{\n "b": [\n  1,\n  2\n ],\n "a": "x"\n}\n'
    atomic_write_json(tmp_path / "m.json", {"a": 1})
    assert (tmp_path / "m.json").read_text() == '{"a": 1}\n'


def test_a_failure_mid_write_leaves_the_old_file_and_no_partial_one(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_write(path) as f:
            f.write("half of the new ")
            raise RuntimeError("disk full")
    assert path.read_text() == "old\n" and names(tmp_path) == ["items.jsonl"]
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "new.jsonl") as f:
            f.write("half")
            raise RuntimeError
    assert names(tmp_path) == ["items.jsonl"]  # a file that did not exist still does not


def _write_then_die(path: Path) -> None:
    with atomic_write(path) as f:
        f.write("partial")
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_writer_killed_mid_write_leaves_the_old_file_and_a_removable_temporary(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text("old\n")
    child = FORK.Process(target=_write_then_die, args=(path,))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert path.read_text() == "old\n"
    (leftover,) = [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert leftover.read_text() == "partial" and leftover.name.endswith("-items.jsonl")
    assert remove_stale(tmp_path, TEMP_PREFIX) == [leftover]  # its writer is gone
    assert names(tmp_path) == ["items.jsonl"]


# ----------------------------------------------------------------------------------------------------- folders
def test_atomic_dir_renames_a_finished_folder_into_place(tmp_path: Path) -> None:
    target = tmp_path / "index"
    with atomic_dir(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(TEMP_PREFIX) and tmp.name.endswith("-index")
        (tmp / "data.npy").write_bytes(b"123")
        assert not target.exists()  # nothing under the real name until the block is done
    assert names(target) == ["data.npy"] and names(tmp_path) == ["index"]


def test_a_failure_mid_folder_leaves_no_folder(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="no space"):
        with atomic_dir(tmp_path / "index") as tmp:
            (tmp / "part.npy").write_bytes(b"12")
            raise OSError("no space")
    assert names(tmp_path) == []


def test_replace_swaps_the_folder_and_removes_the_old_copy(tmp_path: Path) -> None:
    target = tmp_path / "step-000002"
    target.mkdir()
    (target / "old.pt").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target, replace=True) as tmp:
            (tmp / "new.pt").write_bytes(b"new")
            raise RuntimeError("killed")
    assert names(target) == ["old.pt"]  # a failed re-save keeps the previous copy
    with atomic_dir(target, replace=True) as tmp:
        (tmp / "new.pt").write_bytes(b"new")
    assert names(target) == ["new.pt"] and names(tmp_path) == ["step-000002"]


def test_without_replace_a_complete_folder_of_another_writer_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_dir(target, complete=lambda folder: (folder / "config.json").is_file()) as tmp:
        (tmp / "config.json").write_text("ours")
        target.mkdir()  # another writer finishes first
        (target / "config.json").write_text("theirs")
    assert (target / "config.json").read_text() == "theirs" and names(tmp_path) == ["model"]

    (target / "config.json").unlink()
    (target / "junk").write_text("x")  # a folder that is not a finished one: the rename's error stands
    with pytest.raises(OSError):
        with atomic_dir(target, complete=lambda folder: (folder / "config.json").is_file()) as tmp:
            (tmp / "config.json").write_text("ours")
    assert names(target) == ["junk"] and names(tmp_path) == ["model"]


def test_sha256_file_hashes_across_read_chunks(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # more than one 1 MiB read, and a partial last one
    (tmp_path / "big.bin").write_bytes(data)
    assert sha256_file(tmp_path / "big.bin") == hashlib.sha256(data).hexdigest()


# -------------------------------------------------------------------------------------------------- JSON Lines
def test_iter_jsonl_numbers_lines_and_skips_blank_ones(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n   \n{"b": "ü"}\n', encoding="utf-8")
    assert list(iter_jsonl(path)) == [(1, {"a": 1}), (4, {"b": "ü"})]
    assert read_jsonl(path) == [{"a": 1}, {"b": "ü"}]
    path.write_text("")
    assert read_jsonl(path) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a": 1}\n{"a" 1}\n', r"line 2: malformed JSON \(Expecting ':' delimiter at column 6\)"),
        ('{"a": 1}\n\n[1, 2]\n', "line 3: expected a JSON object, got list"),
    ],
)
def test_a_bad_line_is_named_with_its_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}, {problem}$"):
        read_jsonl(path)


def test_iter_jsonl_raises_the_callers_error_type(tmp_path: Path) -> None:
    class FormatError(ValueError):
        pass

    path = tmp_path / "bad.jsonl"
    path.write_text("nope\n")
    with pytest.raises(FormatError, match="line 1: malformed JSON"):
        list(iter_jsonl(path, error=lambda p, n, problem: FormatError(f"{p}: line {n}: {problem}")))
