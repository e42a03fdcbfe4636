"""SFTAgent on a tiny random policy: the loss falls on a fixed batch (full and LoRA), targets are mined from the
env's labels in its reward format, pair files are read with clear errors, training logs/saves/resumes like GRPO,
and the ``recgym train --algo sft`` command trains an agent ``recgym eval`` can load."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest
import torch

import recgym  # noqa: F401  (registers the ids)
from recgym.agents import SFTAgent, SFTConfig, SFTPair, load_agent, load_pairs_jsonl, pairs_from_env
from recgym.cli import main
from recgym.data.types import Catalog, Example, TaskDataset
from recgym.models import tiny_policy
from recgym.report import learning_curve
from recgym.rewards import format_answer

SMALL_SHOP = {"num_products": 300, "num_queries": 120}
PAIRS = [
    SFTPair("rewrite query red shoes", "waterproof red shoes"),
    SFTPair("rewrite query green bag", "large green bag"),
]


def make_agent(tmp_path: Path, **overrides) -> SFTAgent:
    settings = {"batch_size": 4, "micro_batch_size": 3, "learning_rate": 3e-3, "num_steps": 4, "max_new_tokens": 6,
                "eval_every": 0, "save_every": 0, "output_dir": str(tmp_path / "run")}
    settings.update(overrides)
    model, tokenizer = tiny_policy(seed=0)
    return SFTAgent(SFTConfig(**settings), model, tokenizer)


def graded_dataset() -> TaskDataset:
    catalog = Catalog(("a", "b", "c"), {"title": ("Alpha Lamp", "Beta Desk", "Gamma Chair")})
    train = (
        Example("q1", query="something to sit on", relevant={"a": 0.1, "c": 1.0}),
        Example("q2", query="desk lamp", relevant={"b": 1.0, "a": 1.0}),
    )
    test = (Example("q3", query="chair", relevant={"c": 1.0}),)
    return TaskDataset("graded", "search", catalog, {"train": train, "val": (), "test": test})


@pytest.mark.parametrize(("lora_r", "learning_rate", "max_after"), [(0, 1e-2, 2.0), (4, 3e-3, 3.8)])
def test_updates_reduce_the_nll_on_a_fixed_batch(tmp_path: Path, lora_r: int, learning_rate: float,
                                                 max_after: float) -> None:
    agent = make_agent(tmp_path, lora_r=lora_r, learning_rate=learning_rate)
    frozen = {n: p.detach().clone() for n, p in agent.policy.model.named_parameters() if not p.requires_grad}
    before = agent.nll(PAIRS)
    losses = [agent.update(PAIRS)["loss"] for _ in range(25)]
    after = agent.nll(PAIRS)
    # a random tiny model starts near log(vocab) = 4.1; full fine-tuning more than halves it in 25 steps, rank-4
    # adapters on a 32-wide model (4k parameters) take it below 3.8 (measured: 3.66)
    assert before > 4.0 and after < max_after, (before, after)
    assert losses[-1] < losses[0]
    # LoRA trains the adapters only
    assert all(torch.equal(p, frozen[n]) for n, p in agent.policy.model.named_parameters() if n in frozen)
    assert bool(frozen) == bool(lora_r)


def test_micro_batches_do_not_change_the_step(tmp_path: Path) -> None:
    pairs = PAIRS + [SFTPair("rewrite query blue lamp", "small blue lamp")]
    whole, split = make_agent(tmp_path, micro_batch_size=3), make_agent(tmp_path, micro_batch_size=1)
    a, b = whole.update(pairs), split.update(pairs)
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-5) and a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-4)
    assert whole.nll(pairs) == pytest.approx(split.nll(pairs), rel=1e-4)


def test_completion_ends_with_the_stop_token_and_prompt_is_not_trained(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, max_target_tokens=3)
    batch = agent.policy.teacher_forced(["p one", "p two"], ["a b c d e f", "x"], max_completion_tokens=3)
    lengths = batch.completion_mask.sum(dim=1).tolist()
    x_ids = agent.policy.tokenizer("x", add_special_tokens=False)["input_ids"]
    assert lengths == [4, len(x_ids) + 1]  # cut to 3 tokens + stop; "x" + stop
    for row, n in enumerate(lengths):
        assert int(batch.completion_ids[row, n - 1]) == agent.policy.stop_ids[0]


@pytest.mark.parametrize(("reward", "expected"), [
    ("recr1", [format_answer("Gamma Chair"), format_answer("Beta Desk")]),
    ("plain", ["Gamma Chair", "Beta Desk"]),
    ("expand", ["Gamma Chair", "Beta Desk"]),
])
def test_pairs_from_env_use_the_most_relevant_title_in_the_reward_format(reward: str, expected: list[str]) -> None:
    from recgym.envs import make_env

    env = make_env("graded", dataset=graded_dataset(), reward=reward)
    pairs = pairs_from_env(env)
    # q1: c (gain 1.0) beats a (0.1); q2: b and a tie at 1.0, so the dataset's order (b first) decides
    assert [p.completion for p in pairs] == expected
    assert "something to sit on" in pairs[0].prompt and "desk lamp" in pairs[1].prompt
    two = pairs_from_env(env, target_items=2)
    assert "Gamma Chair Alpha Lamp" in two[0].completion


def test_mined_targets_score_well_in_the_env() -> None:
    venv = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=8, dataset_kwargs=SMALL_SHOP)
    pairs = pairs_from_env(venv, split="test")
    obs, infos = venv.reset(options={"indices": list(range(8)), "split": "test"})
    assert list(obs) == [p.prompt for p in pairs[:8]]
    _, oracle, *_ = venv.step([p.completion for p in pairs[:8]])
    venv.reset(options={"indices": list(range(8)), "split": "test"})
    _, raw, *_ = venv.step(list(infos["raw_action"]))
    # searching a relevant item's exact title finds it: the imitation target beats the raw request
    assert oracle.mean() > raw.mean()


def test_pairs_file_formats_and_errors(tmp_path: Path) -> None:
    from recgym.envs import make_env

    env = make_env("graded", dataset=graded_dataset())
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"prompt": "p", "completion": "c"}) + "\n\n"
                    + json.dumps({"example_id": "q2", "completion": "lamp"}) + "\n")
    pairs = load_pairs_jsonl(path, env)
    assert pairs[0] == SFTPair("p", "c") and pairs[1].completion == "lamp" and "desk lamp" in pairs[1].prompt
    for text, needle in [("{broken\n", f"{path}:1: malformed JSON"),
                         (json.dumps({"prompt": "p"}) + "\n", "string 'completion'"),
                         (json.dumps({"example_id": "nope", "completion": "c"}) + "\n", "'nope' is not in"),
                         ("\n", "holds no pairs")]:
        path.write_text(text)
        with pytest.raises(ValueError) as info:
            load_pairs_jsonl(path, env)
        assert needle in str(info.value)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_pairs_jsonl(tmp_path / "missing.jsonl")


def test_train_resume_and_reload(tmp_path: Path) -> None:
    venv = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=4, dataset_kwargs=SMALL_SHOP)
    full = make_agent(tmp_path / "full", save_every=2, eval_every=4, eval_max_examples=4)
    history = full.train(venv, progress=False)
    assert [r["step"] for r in history] == [1, 2, 3, 4] and "val/reward" in history[-1]

    cut = make_agent(tmp_path / "cut", save_every=2)
    cut.train(venv, num_steps=2, progress=False)
    resumed = make_agent(tmp_path / "cut", save_every=2)
    rest = resumed.train(venv, num_steps=4, resume=True, progress=False)
    assert [r["step"] for r in rest] == [3, 4]
    assert rest[-1]["loss"] == pytest.approx(history[-1]["loss"], rel=1e-5)

    full.save(tmp_path / "saved")
    loaded = load_agent(tmp_path / "saved")
    assert isinstance(loaded, SFTAgent)
    prompts = [p.prompt for p in pairs_from_env(venv)[:3]]
    assert loaded.act(prompts) == full.act(prompts)


def test_cli_train_sft_then_eval(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sft"
    kwargs = json.dumps({"dataset_kwargs": SMALL_SHOP})
    argv = ["train", "--algo", "sft", "--env", "RecR1/Shop-BM25-v0", "--env-kwargs", kwargs, "--model", "tiny",
            "--num-steps", "2", "--out", str(out), "--set", "batch_size=4", "max_new_tokens=4"]
    assert main(argv) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2] and all(r["loss"] > 0 for r in records)
    assert json.loads((out / "config.json").read_text())["batch_size"] == 4
    assert learning_curve(out).axes[0].get_title() == "SFT learning curve: sft"
    result = tmp_path / "r.json"
    assert main(["eval", "--env", "RecR1/Shop-BM25-v0", "--env-kwargs", kwargs, "--agent", f"sft:{out / 'final'}",
                 "--max-examples", "4", "--num-envs", "4", "--out", str(result)]) == 0
    assert json.loads(result.read_text())["agents"][f"sft:{out / 'final'}"]["num_examples"] == 4
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*argv[:-3], "--pairs", "x.jsonl", "--algo", "grpo"])
    assert exc.value.code == 2 and "--pairs is for --algo sft" in capsys.readouterr().err
