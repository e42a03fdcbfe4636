"""The two worker processes of benchmarks/grpo_step.py (read that script's docstring for what is compared and
how): the settings both agree on, per-phase timers, and one GRPO step at a time of recgym's ``GRPOAgent`` or TRL's
``GRPOTrainer`` on command from the parent. Kept apart from the parent's scheduling and reporting so each file
reads top to bottom; ``grpo_memory.py`` reuses ``Settings``, ``make_venv`` and ``recgym_config``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ENV_ID = "RecR1/Shop-BM25-v0"
ENV_KWARGS = {"reward": "expand"}
TRAINERS = ("recgym", "trl")


@dataclass
class Settings:
    """Everything both workers must agree on."""

    prompts_per_step: int = 1
    beta: float = 0.0
    num_generations: int = 8
    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 0.95
    learning_rate: float = 1e-5
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    optim: str = "adamw_torch"
    mmap_threshold_kib: int | None = None  # glibc's mmap threshold pinned in both workers (recgym.allocator), or not
    epsilon: float = 0.2
    micro_batch_size: int = 8
    seed: int = 0
    total_steps: int = 4
    threads: int | None = None
    model_dir: str = ""
    log_dir: str = ""

    @property
    def num_envs(self) -> int:
        return self.num_generations * self.prompts_per_step


@dataclass
class StepResult:
    sec: float
    indices: list[int]
    completion_len: float
    reward: float
    phases: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------- phase timers
class PhaseTimer:
    """Accumulates wall time per named phase; ``take()`` returns and clears the totals of the current step."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.totals[name] = self.totals.get(name, 0.0) + time.perf_counter() - start

        return timed

    def take(self) -> dict[str, float]:
        totals, self.totals = self.totals, {}
        return totals


def install_torch_timers(timer: PhaseTimer) -> None:
    """Time every backward pass and every AdamW step in this process (same hooks in both workers)."""
    import torch

    torch.autograd.backward = timer.wrap("backward", torch.autograd.backward)
    torch.optim.AdamW.step = timer.wrap("optimizer", torch.optim.AdamW.step)


def peak_rss_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def current_rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


# ------------------------------------------------------------------------------------------------------ workers
def worker_main(kind: str, settings: Settings, conn) -> None:
    """Entry point of a worker process: redirect output to a log file, build the trainer, obey the parent."""
    log_path = Path(settings.log_dir) / f"{kind}-P{settings.prompts_per_step}-beta{settings.beta:g}.log"
    log_file = open(log_path, "w", buffering=1)  # noqa: SIM115 (lives as long as the process)
    os.dup2(log_file.fileno(), 1)
    os.dup2(log_file.fileno(), 2)
    sys.stdout = sys.stderr = log_file
    try:
        import torch

        if settings.threads:
            torch.set_num_threads(settings.threads)
        if settings.mmap_threshold_kib is not None:  # the same allocator setting in both workers
            from recgym.allocator import pin_mmap_threshold

            pin_mmap_threshold(settings.mmap_threshold_kib)
        (run_recgym if kind == "recgym" else run_trl)(settings, conn)
    except BaseException as exc:  # report to the parent instead of leaving it waiting
        traceback.print_exc()
        try:
            conn.send({"error": f"{type(exc).__name__}: {exc}", "log": str(log_path)})
        except Exception:
            pass
        raise SystemExit(1) from None


def _wait_for_go(conn) -> None:
    msg = conn.recv()
    if msg != "step":
        raise SystemExit(f"unexpected command {msg!r}")


def _finish(conn, timer_info: dict[str, Any]) -> None:
    msg = conn.recv()
    if msg != "stop":
        raise SystemExit(f"unexpected command {msg!r}")
    conn.send({"done": True, "peak_rss": peak_rss_bytes(), **timer_info})


def make_venv(settings: Settings):
    import gymnasium as gym

    import recgym  # noqa: F401  (registers the env ids)

    return gym.make_vec(ENV_ID, num_envs=settings.num_envs, **ENV_KWARGS)


def recgym_config(settings: Settings):
    """recgym's side of the comparison: ``GRPOConfig.cpu()`` with everything both trainers must share set from
    ``settings`` (also what benchmarks/grpo_memory.py measures)."""
    from recgym.agents.grpo.config import GRPOConfig

    return GRPOConfig.cpu(
        num_generations=settings.num_generations,
        prompts_per_step=settings.prompts_per_step,
        max_new_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        max_grad_norm=settings.max_grad_norm,
        optim=settings.optim,
        mmap_threshold_kib=settings.mmap_threshold_kib,
        epsilon=settings.epsilon,
        loss_type="dapo",  # TRL's loss_type below; also recgym's default
        micro_batch_size=settings.micro_batch_size,
        num_iterations=1,
        beta=settings.beta,
        lora_r=0,
        skip_zero_std_groups=False,
        seed=settings.seed,
        num_steps=settings.total_steps,
        eval_every=0,
        save_every=0,
        output_dir=str(Path(settings.log_dir) / "recgym-run"),
        # what TRL does too: the reply starts with the model's first token, the reward is the env's
        response_prefix="",
        raw_relative_loss_weight=None,
    )


def run_recgym(settings: Settings, conn) -> None:
    import torch

    from recgym.agents import checkpoint as ckpt
    from recgym.agents.grpo.trainer import GRPOAgent
    from recgym.models import load_default_policy

    timer = PhaseTimer()
    install_torch_timers(timer)
    cfg = recgym_config(settings)
    model, tokenizer = load_default_policy(settings.model_dir)
    agent = GRPOAgent(cfg, model, tokenizer)
    venv = make_venv(settings)
    env = venv.unwrapped
    seen: list[int] = []
    env.reset = timer.wrap("env", _recording_reset(env.reset, seen))
    env.step = timer.wrap("env", env.step)
    agent.policy.model.generate = timer.wrap("generate", agent.policy.model.generate)
    ckpt.seed_everything(cfg.seed)  # what train() does on a fresh run
    conn.send({"ready": True, "rss": current_rss_bytes(), "threads": torch.get_num_threads()})

    for _ in range(settings.total_steps):
        _wait_for_go(conn)
        seen.clear()
        timer.take()
        start = time.perf_counter()
        record = agent.train_step(venv)  # the loop body of GRPOAgent.train
        sec = time.perf_counter() - start
        conn.send(
            asdict(
                StepResult(
                    sec=sec,
                    indices=list(seen[:: settings.num_generations]),
                    completion_len=record["completion_len"],
                    reward=record["reward_mean"],
                    phases=timer.take(),
                )
            )
        )
    _finish(conn, {})


def _recording_reset(reset, seen: list[int]):
    def wrapped(*args, **kwargs):
        options = kwargs.get("options") or {}
        seen.extend(int(i) for i in options.get("indices", []))
        return reset(*args, **kwargs)

    return wrapped


def trl_config_kwargs(settings: Settings, output_dir: str) -> dict[str, Any]:
    """TRL ``GRPOConfig`` arguments matching recgym's settings (names checked against the installed signature)."""
    return {
        "output_dir": output_dir,
        "use_cpu": True,
        "bf16": False,
        "fp16": False,
        "report_to": [],
        "logging_steps": 1,
        "save_strategy": "no",
        "disable_tqdm": True,
        "seed": settings.seed,
        "max_steps": settings.total_steps,
        "model_init_kwargs": {"dtype": "float32"},
        # rollout
        "num_generations": settings.num_generations,
        "max_completion_length": settings.max_new_tokens,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "top_k": 0,
        "shuffle_dataset": False,  # the dataset is already in recgym's visiting order
        # batch: P prompts x G completions generated at once, optimised in micro-batches of 8, one optimizer step
        "per_device_train_batch_size": settings.micro_batch_size,
        "gradient_accumulation_steps": settings.num_envs // settings.micro_batch_size,
        "steps_per_generation": settings.num_envs // settings.micro_batch_size,
        "num_iterations": 1,
        # loss
        "beta": settings.beta,
        "epsilon": settings.epsilon,
        "loss_type": "dapo",  # token mean over the whole step, as recgym
        "scale_rewards": "group",
        # optimiser, as recgym: torch AdamW, constant lr, weight decay, grad clip
        "learning_rate": settings.learning_rate,
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        "optim": settings.optim,  # the same torch AdamW kernel in both
        "weight_decay": settings.weight_decay,
        "max_grad_norm": settings.max_grad_norm,
        # TRL's GRPO default is activation checkpointing ON; recgym does not checkpoint
        "activation_checkpointing": False,
        "dataloader_pin_memory": False,
    }


def check_trl_kwargs(kwargs: dict[str, Any]) -> None:
    import inspect

    from trl import GRPOConfig

    known = set(inspect.signature(GRPOConfig.__init__).parameters)
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise SystemExit(f"the installed TRL's GRPOConfig has no field(s) {unknown}")


def run_trl(settings: Settings, conn) -> None:
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from recgym.agents.policy_trainer import visit_order
    from recgym.envs import task_of
    from recgym.models import prepare_tokenizer

    timer = PhaseTimer()
    install_torch_timers(timer)
    venv = make_venv(settings)
    task = task_of(venv)
    num_train = task.num_examples("train")
    P, G = settings.prompts_per_step, settings.num_generations

    # The examples recgym's trainer visits, in its order (seed, epoch-wise shuffle), as conversational prompts.
    rows = (settings.total_steps + 2) * P
    indices = visit_order(settings.seed, 0, rows, num_train)
    observations = [task.observation(task.examples("train")[i]) for i in indices]
    dataset = Dataset.from_dict(
        {"prompt": [[{"role": "user", "content": obs}] for obs in observations], "example_index": indices}
    )

    seen: list[int] = []
    last: dict[str, float] = {}  # the step's reward and completion length, as TRL logs them (from its public kwargs)

    def recgym_env_reward(prompts, completions, example_index, completion_ids, **kwargs) -> list[float]:
        """Score the G*P completions with ONE vector-env step, as GRPOAgent does."""
        start = time.perf_counter()
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        seen.extend(int(i) for i in example_index)
        venv.reset(seed=settings.seed, options={"indices": [int(i) for i in example_index], "split": "train"})
        _, rewards, *_ = venv.step([t.strip() for t in texts])
        timer.totals["env"] = timer.totals.get("env", 0.0) + time.perf_counter() - start
        last.update(reward=statistics.fmean(rewards), completion_len=statistics.fmean(map(len, completion_ids)))
        return [float(r) for r in rewards]

    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(settings.model_dir))
    kwargs = trl_config_kwargs(settings, str(Path(settings.log_dir) / "trl-run"))
    check_trl_kwargs(kwargs)
    args = GRPOConfig(**kwargs)

    class Lockstep(TrainerCallback):
        """Blocks at each step's start until the parent says go; reports the step's time at its end."""

        started = 0.0
        sent_ready = False

        def on_step_begin(self, args, state, control, **kw):
            if not self.sent_ready:
                self.sent_ready = True
                conn.send({"ready": True, "rss": current_rss_bytes(), "threads": torch.get_num_threads()})
            _wait_for_go(conn)
            seen.clear()
            timer.take()
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            sec = time.perf_counter() - self.started
            conn.send(
                asdict(
                    StepResult(
                        sec=sec,
                        indices=list(seen[::G]),
                        completion_len=last["completion_len"],
                        reward=last["reward"],
                        phases=timer.take(),
                    )
                )
            )

    lockstep = Lockstep()
    trainer = GRPOTrainer(
        model=settings.model_dir,
        reward_funcs=recgym_env_reward,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[lockstep],
    )
    trainer.model.generate = timer.wrap("generate", trainer.model.generate)
    info = {
        "activation_checkpointing": bool(getattr(trainer.model, "is_gradient_checkpointing", False)),
        "eos_token_ids": list(trainer.eos_token_ids),
        "ref_model": trainer.ref_model is not None,
    }
    trainer.train()
    _finish(conn, {"info": info})
