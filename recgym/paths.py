"""Where recgym keeps caches and downloaded data on the user's machine, and the names of the files a training run
writes into its output folder (one definition for the trainer that writes them and the tools that read them)."""

from __future__ import annotations

import os
from pathlib import Path

METRICS_FILE = "metrics.jsonl"
"""A training run's log (``PolicyTrainer.train``: GRPO and SFT), one JSON object per step."""
POLICY_DIR = "policy"
"""A saved LLM agent's ``save_pretrained`` folder (full weights, or the LoRA adapter) and tokenizer."""


def cache_dir() -> Path:
    """Root of recgym's cache: ``$RECGYM_CACHE``, else ``$XDG_CACHE_HOME/recgym``, else ``~/.cache/recgym``."""
    if env := os.environ.get("RECGYM_CACHE"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "recgym"


def data_cache_dir(name: str) -> Path:
    """Default folder of a real dataset (``recgym data fetch`` puts downloads here): ``<cache>/data/<name>``."""
    return cache_dir() / "data" / name
