"""On-disk index caches keyed by catalog fingerprint + recommender settings, written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from recgym.paths import cache_dir


def settings_key(kind: str, fingerprint: str, settings: dict) -> str:
    """Folder name for an index: readable kind, catalog fingerprint, and a hash of the settings that shape it."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{kind}-{fingerprint}-{digest}"


def cached_dir(key: str, build: Callable[[Path], None], root: Path | None = None) -> Path:
    """The cache folder ``key``; built by ``build(tmp_dir)`` into a temp folder and renamed into place if absent,
    so a crash mid-build never leaves a half-written index that a later run would trust."""
    root = Path(root) if root is not None else cache_dir() / "indexes"
    final = root / key
    if final.is_dir():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
    try:
        build(tmp)
        try:
            os.replace(tmp, final)
        except OSError:
            # another process finished the same index first; theirs is as good as ours
            if not final.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
