"""Smoke test of benchmarks/exploration_probe.py on the tiny random policy: every prompt gets its shares, reruns agree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "exploration_probe.py"


def test_exploration_probe_runs_and_is_seeded():
    spec = importlib.util.spec_from_file_location("exploration_probe", SCRIPT)
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    args = ["--model", "tiny", "--num-prompts", "3", "--G", "2", "--max-new-tokens", "3"]
    first, again = probe.main(args), probe.main(args)
    assert set(first) == {"product-type", "product-type-results"} and first == again
    # NAME:N shows N feedback titles instead of the template's own number
    shown = probe.main(args + ["--prompts", "product-type-results:10"])
    assert set(shown) == {"product-type-results:10"}
    for shares in first.values():
        assert 0 <= shares["better"] <= shares["groups_better"] <= 1 and 0 <= shares["worse"] <= 1
        assert shares["better"] + shares["worse"] <= 1
