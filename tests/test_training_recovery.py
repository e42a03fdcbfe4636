"""Training survives kills and damaged checkpoints: SIGKILL a training process (right after a checkpoint, and at
random points), resume, and the metrics log has each step exactly once and the weights equal an uninterrupted run's;
a damaged newest checkpoint is skipped with a warning; errors name the checkpoint folder.

Training runs in forked child processes (the tiny model, SFT on a small synthetic shop: well under a second per run)
so that a real SIGKILL can land anywhere without paying an interpreter start-up per kill.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import gymnasium as gym
import pytest
import torch
from safetensors.torch import load

import recgym  # noqa: F401  (registers the ids)
from recgym.agents import SFTAgent, SFTConfig
from recgym.agents import checkpoint as ckpt
from recgym.models import tiny_policy

SMALL_SHOP = {"num_products": 300, "num_queries": 120}
STEPS = 8
FORK = multiprocessing.get_context("fork")


def make_agent(out: Path, **overrides) -> SFTAgent:
    settings = {"batch_size": 4, "micro_batch_size": 4, "learning_rate": 3e-3, "num_steps": STEPS,
                "max_new_tokens": 4, "eval_every": 0, "save_every": 2, "output_dir": str(out)}  # fmt: skip
    settings.update(overrides)
    model, tokenizer = tiny_policy(seed=0)
    return SFTAgent(SFTConfig(**settings), model, tokenizer)


def venv() -> gym.vector.VectorEnv:
    return gym.make_vec("RecR1/Shop-BM25-v0", num_envs=2, dataset_kwargs=SMALL_SHOP)


def _train(out: Path, resume: bool, kill_after_checkpoint: int | None = None, started=None) -> None:
    """Child process body: one thread (the same float results in every child), train, maybe die by SIGKILL right
    after the checkpoint of step ``kill_after_checkpoint`` returns."""
    torch.set_num_threads(1)
    agent = make_agent(out, save_every=1 if kill_after_checkpoint else 2)
    env = venv()
    if kill_after_checkpoint is not None:
        save = agent.save_checkpoint

        def save_then_die() -> Path:
            path = save()
            if agent.step == kill_after_checkpoint:
                os.kill(os.getpid(), signal.SIGKILL)
            return path

        agent.save_checkpoint = save_then_die
    if started is not None:
        started.set()
    agent.train(env, resume=resume, progress=False)


def run_child(out: Path, resume: bool, kill_after_s: float | None = None, **kwargs) -> int:
    """Run ``_train`` in a forked child; SIGKILL it ``kill_after_s`` seconds after training starts. Exit code."""
    started = FORK.Event()
    child = FORK.Process(target=_train, args=(out, resume), kwargs={**kwargs, "started": started})
    child.start()
    if kill_after_s is not None:
        started.wait(60)
        time.sleep(kill_after_s)
        child.kill()
    child.join(60)
    return child.exitcode


def logged_steps(out: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def final_weights(out: Path, step: int = STEPS) -> dict[str, torch.Tensor]:
    folder = ckpt.checkpoint_dir(out, step)
    ckpt.verify_checkpoint(folder)
    # from bytes, not memory-mapped: the tests damage these files afterwards
    return load((folder / ckpt.POLICY_DIR / "model.safetensors").read_bytes())


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, torch.Tensor], float]:
    """An uninterrupted run's final weights and how long its training took."""
    out = tmp_path_factory.mktemp("reference")
    started = time.perf_counter()
    assert run_child(out, resume=False) == 0
    assert logged_steps(out) == list(range(1, STEPS + 1))
    return final_weights(out), time.perf_counter() - started


@pytest.mark.parametrize("kill_after", [1, 4, STEPS - 1])
def test_sigkill_right_after_a_checkpoint_loses_no_log_line(tmp_path: Path, reference, kill_after: int) -> None:
    out = tmp_path / "run"
    assert run_child(out, resume=False, kill_after_checkpoint=kill_after) == -signal.SIGKILL
    assert ckpt.latest_checkpoint(out).name == f"step-{kill_after:06d}"
    assert logged_steps(out) == list(range(1, kill_after + 1))  # the checkpointed step's line is already there
    assert run_child(out, resume=True) == 0
    assert logged_steps(out) == list(range(1, STEPS + 1))
    assert_same_weights(final_weights(out), reference[0])


def test_sigkill_at_random_points_then_resume_matches_an_uninterrupted_run(tmp_path: Path, reference) -> None:
    weights, seconds = reference
    rng = random.Random(int(os.environ.get("RECGYM_KILL_SEED", "0")))
    out = tmp_path / "run"
    kills = [rng.uniform(0.0, seconds) for _ in range(4)]
    for i, delay in enumerate(kills):
        run_child(out, resume=i > 0, kill_after_s=delay)  # may finish first: then the next runs are no-ops
    assert run_child(out, resume=True) == 0, kills
    assert logged_steps(out) == list(range(1, STEPS + 1)), kills
    assert_same_weights(final_weights(out), weights)
    leftovers = [p.name for p in [*out.iterdir(), *(out / "checkpoints").iterdir()] if p.name.startswith(".")]
    assert leftovers == [], kills  # temp folders of killed writers are cleaned by the next run


def test_a_torn_last_log_line_is_repaired_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    make_agent(out, num_steps=4).train(venv(), progress=False)
    with (out / "metrics.jsonl").open("a") as log:
        log.write('{"step": 5, "loss": 1.2')  # a kill mid-write
    make_agent(out, num_steps=6).train(venv(), resume=True, progress=False)
    assert logged_steps(out) == [1, 2, 3, 4, 5, 6]
    make_agent(out, num_steps=7).train(venv(), resume=True, progress=False)  # and the next resume too
    assert logged_steps(out) == list(range(1, 8))


@pytest.mark.parametrize(
    "damage",
    ["truncate weights", "flip optimizer byte", "stale trainer step", "no manifest", "extra file"],
)
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path: Path, damage: str) -> None:
    out = tmp_path / "run"
    make_agent(out, num_steps=6).train(venv(), progress=False)
    good = final_weights(out, 6)
    newest = ckpt.checkpoint_dir(out, 6)
    if damage == "truncate weights":
        weights = newest / ckpt.POLICY_DIR / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "flip optimizer byte":
        data = bytearray((newest / ckpt.OPTIMIZER_FILE).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (newest / ckpt.OPTIMIZER_FILE).write_bytes(bytes(data))
    elif damage == "stale trainer step":  # the manifest is rewritten to match: the steps still disagree
        (newest / ckpt.STATE_FILE).write_text(json.dumps({"step": 2}))
        ckpt.write_manifest(newest, 6)
    elif damage == "no manifest":  # e.g. a copy interrupted before its last file
        (newest / ckpt.MANIFEST_FILE).unlink()
    else:
        (newest / ckpt.POLICY_DIR / "adapter_model.safetensors").write_bytes(b"x")

    with pytest.raises(ckpt.CheckpointError, match=str(newest)):
        make_agent(out).train(venv(), resume=newest, progress=False)  # an explicit path is never swapped
    resumed = make_agent(out, num_steps=6)
    with pytest.warns(ckpt.CheckpointWarning, match=f"{newest}.*falling back to step-000004"):
        history = resumed.train(venv(), resume=True, progress=False)
    assert [r["step"] for r in history] == [5, 6]
    assert logged_steps(out) == [1, 2, 3, 4, 5, 6]
    assert_same_weights(final_weights(out, 6), good)  # step 6 redone from step 4 is the lost step 6


def test_resume_with_every_checkpoint_damaged_starts_afresh_with_a_warning(tmp_path: Path) -> None:
    out = tmp_path / "run"
    make_agent(out, num_steps=2).train(venv(), progress=False)
    (ckpt.checkpoint_dir(out, 2) / ckpt.RNG_FILE).write_bytes(b"")
    with pytest.warns(ckpt.CheckpointWarning, match="starting afresh"):
        history = make_agent(out, num_steps=2).train(venv(), resume=True, progress=False)
    assert [r["step"] for r in history] == [1, 2] and logged_steps(out) == [1, 2]


def test_resume_errors_name_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "step-000003"
    with pytest.raises(ckpt.CheckpointError, match=f"{missing}: no such checkpoint folder"):
        make_agent(tmp_path / "run").train(venv(), resume=missing, progress=False)
    out = tmp_path / "run"
    make_agent(out, num_steps=2).train(venv(), progress=False)
    folder = ckpt.checkpoint_dir(out, 2)
    (folder / ckpt.POLICY_DIR / "model.safetensors").write_bytes(b"not safetensors")
    ckpt.write_manifest(folder, 2)  # consistent but unloadable: the loader's error, named
    with pytest.raises(ckpt.CheckpointError, match=f"{folder}: cannot load into this agent"):
        make_agent(out, num_steps=3).train(venv(), resume=folder, progress=False)


def test_stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    from recgym.tempdirs import owner_tag

    root = tmp_path / "run" / ckpt.CHECKPOINTS_DIR
    dead = FORK.Process(target=os.getpid)
    dead.start()
    dead.join()
    host = owner_tag().split(".")[0]
    leftover = root / f".tmp-{host}.{dead.pid}.abc-step-000004"
    live = root / f".tmp-{owner_tag()}xyz-step-000006"  # this process: a writer still at work
    legacy = root / ".tmp-step-000002-k3j2"  # an older recgym's name: removed by age only
    for folder in (leftover, live, legacy):
        folder.mkdir(parents=True)
    assert ckpt.remove_stale_temporaries(tmp_path / "run") == [leftover]
    os.utime(legacy, (0, 0))
    assert ckpt.remove_stale_temporaries(tmp_path / "run") == [legacy]
    assert live.is_dir()
