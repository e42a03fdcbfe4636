"""The examples users copy from must run."""

import runpy
from pathlib import Path

import gymnasium as gym
import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_custom_recommender_example_registers_a_working_env(capsys):
    runpy.run_path(str(EXAMPLES / "custom_recommender.py"), run_name="__main__")
    assert "NDCG@100" in capsys.readouterr().out
    venv = gym.make_vec("MyShop/Shop-Trigram-v0", num_envs=3, reward="plain")
    _, infos = venv.reset(seed=0, options={"index": 0, "split": "test"})
    env = venv.unwrapped
    target = next(iter(env.task.dataset.split("test")[0].relevant))
    title = env.task.dataset.catalog.titles[env.task.dataset.catalog.position(target)]
    _, rewards, *_ = venv.step([title, "", infos["raw_action"][0]])
    assert rewards[0] > 0.3 and rewards[1] == 0.0 and np.isfinite(rewards).all()


def test_demo_smoke_run_writes_table_and_learning_curve(tmp_path, monkeypatch):
    """`make demo`'s script end to end with the tiny test model (a smoke run: the numbers are not a result)."""
    import json
    import sys

    out = tmp_path / "demo"
    argv = ["demo.py", "--model", "tiny", "--steps", "2", "--group", "4", "--prompts", "1", "--max-new-tokens", "4",
            "--max-eval", "16", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(EXAMPLES / "demo.py"), run_name="__main__")
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert list(rows) == ["raw query", "prf (RM3)", "zero-shot LLM", "GRPO (Rec-R1)"]
    assert all(r["num_examples"] == 16 and 0.0 <= r["ndcg@100"] <= 1.0 for r in rows.values())
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((out / "grpo" / "metrics.jsonl").read_text().splitlines()) == 2


def test_examples_and_the_paper_table_import_no_cli_module():
    """They build agents through ``recgym.agents.make_agent`` like any user: nothing of ``recgym.cli``."""
    import ast

    root = EXAMPLES.parent
    for path in [*sorted(EXAMPLES.glob("*.py")), root / "recgym" / "paper_table.py"]:
        tree = ast.parse(path.read_text())
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                     for alias in node.names]
        assert not [name for name in imported if name == "recgym.cli" or name.startswith("recgym.cli.")], path
