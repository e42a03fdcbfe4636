"""Temporary files and folders that say who writes them, so leftovers of killed writers can be removed safely.

Every atomic write in recgym (checkpoints, index caches, prepared data, downloads' helpers) builds its output under a
temporary sibling and renames it into place. A process killed mid-write leaves that sibling behind. Its name carries
``<host>.<pid>``, so a later run can tell a leftover (same host, process gone) from the work of a live writer (another
process, or this one) and remove only the former. Temporary names of other hosts, or written by older recgym versions
without the tag, are removed only once they are older than ``STALE_AFTER``: no single write takes that long.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

STALE_AFTER = 6 * 3600.0
"""Seconds after which an untagged or other-host temporary entry counts as abandoned."""
_TAG = re.compile(r"^(?P<host>[A-Za-z0-9_-]+)\.(?P<pid>\d+)\.")


def _host() -> str:
    # dots would break the tag's parsing; hostnames only need to differ, not to be exact
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40] or "host"


def owner_tag() -> str:
    """``<host>.<pid>.``: what a temporary name starts with after its prefix."""
    return f"{_host()}.{os.getpid()}."


def temp_dir(parent: str | os.PathLike[str], prefix: str, suffix: str = "") -> Path:
    """A new, uniquely named folder ``<parent>/<prefix><host>.<pid>.<random><suffix>``."""
    Path(parent).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix + owner_tag(), suffix=suffix, dir=parent))


def temp_file(parent: str | os.PathLike[str], prefix: str, suffix: str = "") -> Path:
    """A new, empty, uniquely named file ``<parent>/<prefix><host>.<pid>.<random><suffix>`` (closed: the caller
    reopens it by name)."""
    Path(parent).mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix + owner_tag(), suffix=suffix, dir=parent)
    os.close(fd)
    return Path(name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def is_stale(path: Path, prefix: str, now: float | None = None) -> bool:
    """Whether the temporary entry ``path`` (named ``<prefix>...``) belongs to no live writer."""
    match = _TAG.match(path.name[len(prefix) :])
    if match and match["host"] == _host():
        return not _alive(int(match["pid"]))
    try:
        age = (now if now is not None else time.time()) - path.lstat().st_mtime
    except FileNotFoundError:
        return False  # its writer just renamed or removed it
    return age > STALE_AFTER


def remove_stale(parent: str | os.PathLike[str], prefix: str) -> list[Path]:
    """Remove the temporary entries ``<parent>/<prefix>*`` that no live writer holds; returns what was removed."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    removed = []
    now = time.time()
    for path in parent.iterdir():
        if not path.name.startswith(prefix) or not is_stale(path, prefix, now):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
