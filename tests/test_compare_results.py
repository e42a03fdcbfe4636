"""``recgym compare``: paired differences between agents of saved ``recgym eval --out`` files, on hand-made records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recgym.cli import main


def _save(path: Path, agents: dict[str, list[float]], ids: list[str] | None = None) -> Path:
    """An eval JSON whose agents have the given per-example NDCG@100 (and reward equal to it)."""
    ids = ids or [f"q{i}" for i in range(len(next(iter(agents.values()))))]
    def records(values: list[float]) -> list[dict]:
        return [{"index": i, "example_id": e, "ndcg@100": v, "reward": v} for i, (e, v) in enumerate(zip(ids, values))]

    path.write_text(json.dumps({"agents": {name: {"records": records(vals)} for name, vals in agents.items()}}))
    return path


def test_paired_difference_and_seed_mean_match_hand_computed(tmp_path: Path, capsys) -> None:
    old = _save(tmp_path / "old.json", {"raw": [0.1, 0.2, 0.3, 0.4], "a": [0.2, 0.2, 0.5, 0.4]})
    new = _save(tmp_path / "new.json", {"s0": [0.3, 0.2, 0.5, 0.6], "s1": [0.1, 0.4, 0.5, 0.4]})
    out = tmp_path / "diff.json"
    assert main(["compare", "--baseline", str(old), "a", "--agent", str(new), "s0", "s1",
                 "--agent", str(old), "a", "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    seeds = saved["comparison"]["mean of 2 (new.json)"]
    # per-example seed means 0.2, 0.3, 0.5, 0.5 minus a's 0.2, 0.2, 0.5, 0.4 -> differences 0, .1, 0, .1
    assert seeds["ndcg@100"] == pytest.approx(0.05) and seeds["n"] == 4
    lo, hi = seeds["ci"]["ndcg@100"]
    assert 0 <= lo <= 0.05 <= hi <= 0.1
    assert saved["agents"]["mean of 2 (new.json)"]["ndcg@100"] == pytest.approx(0.375)
    itself = saved["comparison"]["a (old.json)"]  # a side against itself: exactly 0, interval [0, 0]
    assert itself["ndcg@100"] == 0 and itself["ci"]["ndcg@100"] == [0, 0]
    assert "per-example mean of s0, s1" in capsys.readouterr().out


def test_unpaired_or_missing_sides_are_refused(tmp_path: Path, capsys) -> None:
    old = _save(tmp_path / "old.json", {"raw": [0.1, 0.2, 0.3]})
    other = _save(tmp_path / "other.json", {"raw": [0.1, 0.2, 0.3]}, ids=["q0", "x", "q2"])
    assert main(["compare", "--baseline", str(old), "raw", "--agent", str(other), "raw"]) == 2
    assert "example 1 is 'x'" in capsys.readouterr().err
    assert main(["compare", "--baseline", str(old), "raw", "--agent", str(old), "nope"]) == 2
    assert "no agent(s) ['nope']" in capsys.readouterr().err
    assert main(["compare", "--baseline", str(old), "--agent", str(old), "raw"]) == 2
    assert "FILE AGENT" in capsys.readouterr().err
