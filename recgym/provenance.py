"""Where a result came from: the command, the date and recgym's git commit, stored beside every number a command
writes (``recgym eval --out``, the demo's ``results.json``) so a reader can re-run it and check."""

from __future__ import annotations

import datetime
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def provenance(command: Sequence[str]) -> dict[str, Any]:
    """Where a result came from: ``command`` (the argv that ran, program included), the date (UTC) and recgym's
    git commit (``None`` outside a checkout; ``dirty`` when the working tree had uncommitted changes), so a reader
    can re-run it. Call it when the command starts: a commit made while a long run goes on is not the code it ran.
    """
    root = Path(__file__).resolve().parent.parent

    def git(*cmd: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *cmd], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "command": shlex.join(command),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "dirty": bool(status) if status is not None else None,
    }
