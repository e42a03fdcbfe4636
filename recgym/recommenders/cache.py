"""On-disk index caches keyed by catalog fingerprint + recommender settings, written atomically and checked on use.

A cache folder is built under a temporary name (``.tmp-<host>.<pid>.<random>-<key>``, see
:func:`recgym.fileio.atomic_dir`) and renamed into place, with ``recgym_cache.json`` (each file's size) written last.
On use the sizes are checked, so a folder truncated later (a full disk, a copy cut short) or one without the file (an
interrupted copy, or a cache of an older recgym) is rebuilt instead of failing with a bare NumPy error on every run.
Sizes, not hashes: a large index is memory-mapped in a fraction of a second and hashing it would cost more than that
on every env; a same-size corruption that the loader rejects is handled by the recommender calling
:func:`invalidate`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from recgym.fileio import TEMP_PREFIX, atomic_dir
from recgym.paths import cache_dir
from recgym.tempdirs import remove_stale, temp_dir

log = logging.getLogger(__name__)
MANIFEST = "recgym_cache.json"
_LEGACY_TEMP_PREFIXES = (".bm25-", ".dense-")  # build folders of recgym versions before tagged temp names


def settings_key(kind: str, fingerprint: str, settings: dict) -> str:
    """Folder name for an index: readable kind, catalog fingerprint, and a hash of the settings that shape it."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{kind}-{fingerprint}-{digest}"


def _sizes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def check(folder: Path) -> str | None:
    """What is wrong with the cache folder ``folder`` (None if its files have the sizes recorded when built)."""
    try:
        recorded = json.loads((folder / MANIFEST).read_text())["sizes"]
    except FileNotFoundError:
        return f"no {MANIFEST} (an interrupted copy, or built by an older recgym)"
    except (OSError, ValueError, KeyError, TypeError) as err:
        return f"unreadable {MANIFEST} ({type(err).__name__})"
    found = _sizes(folder)
    found.pop(MANIFEST, None)
    if found != recorded:
        changed = sorted(n for n in set(found) | set(recorded) if found.get(n) != recorded.get(n))
        return f"file(s) {changed} missing or of another size than when built"
    return None


def invalidate(folder: Path) -> None:
    """Remove the cache folder ``folder`` so the next :func:`cached_dir` rebuilds it. It is renamed away first, so
    other processes see the whole folder or none, never a half-deleted one."""
    aside = temp_dir(folder.parent, TEMP_PREFIX, suffix=f"-stale-{folder.name}")
    try:
        os.replace(folder, aside / folder.name)
    except FileNotFoundError:
        pass  # another process got there first
    shutil.rmtree(aside, ignore_errors=True)


def cached_dir(key: str, build: Callable[[Path], None], root: Path | None = None) -> Path:
    """The cache folder ``key``; built by ``build(tmp_dir)`` into a temp folder and renamed into place if absent
    or damaged, so a crash mid-build never leaves a half-written index that a later run would trust."""
    root = Path(root) if root is not None else cache_dir() / "indexes"
    final = root / key
    if final.is_dir():
        problem = check(final)
        if problem is None:
            return final
        log.warning("rebuilding the index cache %s: %s", final, problem)
        invalidate(final)
    for prefix in (TEMP_PREFIX, *_LEGACY_TEMP_PREFIXES):  # builds of killed processes
        remove_stale(root, prefix)
    # a folder another process finished first is as good as ours: atomic_dir keeps theirs
    with atomic_dir(final) as tmp:
        build(tmp)
        (tmp / MANIFEST).write_text(json.dumps({"sizes": _sizes(tmp)}))
    return final
