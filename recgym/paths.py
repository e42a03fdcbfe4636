"""Where recgym keeps caches and downloaded data on the user's machine."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of recgym's cache: ``$RECGYM_CACHE``, else ``$XDG_CACHE_HOME/recgym``, else ``~/.cache/recgym``."""
    if env := os.environ.get("RECGYM_CACHE"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "recgym"


def data_cache_dir(name: str) -> Path:
    """Default folder of a real dataset (``recgym data fetch`` puts downloads here): ``<cache>/data/<name>``."""
    return cache_dir() / "data" / name
