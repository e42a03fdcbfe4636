"""Smoke test of benchmarks/fuzz_actions.py: a few adversarial actions on one id, every preset, all promises held."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_actions.py"


def test_fuzz_actions_runs_small(capsys):
    spec = importlib.util.spec_from_file_location("fuzz_actions", SCRIPT)
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    small = json.dumps({"Shop": {"num_products": 200, "num_queries": 50}})
    results = fuzz.main(
        ["--actions", "12", "--num-envs", "4", "--ids", "RecR1/Shop-BM25-v0", "--dataset-kwargs", small]
    )
    assert set(results) == {("RecR1/Shop-BM25-v0", p) for p in ("recr1", "plain", "expand")}
    for r in results.values():
        assert r["counts"]["actions"] == 12 and r["counts"]["non-str TypeError"] == len(fuzz.NON_STR)
    assert fuzz.failures(results) == 0
    out = capsys.readouterr().out
    assert "| RecR1/Shop-BM25-v0 | expand | 12 | 0 | 0 | 0 | 0 | 0 | 6/6 |" in out and "slowest step" in out
    # every kind of action is drawn, and each is a str
    rng = fuzz.random.Random(0)
    assert all(isinstance(fuzz.action(rng, kind), str) for kind in fuzz.KINDS for _ in range(3))
