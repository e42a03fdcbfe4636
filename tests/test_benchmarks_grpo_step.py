"""Smoke test of benchmarks/grpo_step.py on a tiny random policy: both trainers (recgym's public
``GRPOAgent.train_step`` and TRL's ``GRPOTrainer``, each in its own worker process) run a warm-up and a timed step on
the same prompts, so the script cannot silently rot when the trainer's API changes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "grpo_step.py"


def _load_script():
    # Workers are spawned and unpickle ``grpo_step.worker_main``: the module must be importable by that name.
    if str(SCRIPT.parent) not in sys.path:
        sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("grpo_step", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["grpo_step"] = module
    spec.loader.exec_module(module)
    return module


def test_grpo_step_benchmark_runs_small(tmp_path, capsys):
    pytest.importorskip("trl")
    from recgym.models import tiny_policy

    model, tokenizer = tiny_policy(seed=0)
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    bench = _load_script()
    args = ["--model-dir", str(tmp_path / "model"), "--configs", "1:0", "--steps", "1", "--warmup", "1",
            "--max-new-tokens", "4", "--log-dir", str(tmp_path / "logs"), "--json", str(tmp_path / "out.json")]
    [summary] = bench.main(args)

    assert summary["same_prompts"]  # both trainers visited the same training examples, step by step
    assert len(summary["prompt_indices"]) == 2 and all(len(step) == 1 for step in summary["prompt_indices"])
    for kind in ("recgym", "trl"):
        result = summary[kind]
        assert result["n"] == 1 and result["median_s"] > 0 and result["peak_rss_gib"] > 0
        assert 1 <= result["completion_len"] <= 4
        assert result["phases_mean_s"]["generate"] > 0 and result["phases_mean_s"]["env"] > 0
    assert summary["time_ratio"] > 0
    assert (tmp_path / "out.json").is_file()
    assert "recgym/TRL time" in capsys.readouterr().out
