"""Shared fixtures. Real data is read in place from ``../shared/data`` through the ``shared_data`` fixture only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("RECGYM_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public data slices beside the repo; tests using it skip when it is absent."""
    path = SHARED_DATA.resolve()
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (set RECGYM_SHARED_DATA to run the real-data tests)")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep recgym's on-disk caches (indexes, converted models) out of the user's home during tests."""
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path_factory.getbasetemp() / "recgym-cache"))
