"""TRL's GRPOTrainer on a recgym env: the Rec-R1 loop with TRL doing the RL and recgym giving the reward.

    python examples/trl_grpo.py [--env RecR1/Shop-BM25-v0] [--reward expand] [--steps 20] [--model PATH|tiny]

The prompts come from ``recgym.integrations.trl.make_dataset`` (TRL's conversational format), the reward from
``RecGymReward`` (all completions of a step scored by one batched BM25 search through the vector env). The policy is
the offline SmolLM2-135M-Instruct (``recgym.models.load_default_policy``) unless ``--model`` names another local
folder / Hub id; ``--model tiny`` is a random few-thousand-parameter model for a smoke run (no result).

Before and after training the policy is evaluated greedily on ``--eval-split`` with recgym's own ``evaluate``
(NDCG@100), next to the raw-query baseline. CPU settings (fp32, no vLLM); a few minutes for the defaults.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import torch

import recgym  # noqa: F401  (registers the env ids)
from recgym.agents import evaluate, make_agent
from recgym.integrations.trl import RecGymReward, make_dataset, require
from recgym.models import load_policy
from recgym.rewards import preset_names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="RecR1/Shop-BM25-v0")
    ap.add_argument("--reward", default="expand", choices=preset_names())
    ap.add_argument("--dataset-kwargs", default="{}", help="JSON passed as the env's dataset_kwargs")
    ap.add_argument("--train-k", type=int, default=1000, help="NDCG cutoff of the training reward (Rec-R1: 1000)")
    ap.add_argument("--model", default=None, help="local folder or Hub id; 'tiny' for a smoke run; default SmolLM2")
    ap.add_argument("--steps", type=int, default=20, help="GRPO optimiser steps")
    ap.add_argument("--prompts", type=int, default=2, help="prompts per step")
    ap.add_argument("--group", type=int, default=8, help="completions per prompt (num_generations)")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--beta", type=float, default=0.0, help="KL coefficient (0: no reference model)")
    ap.add_argument("--eval-split", default="test")
    ap.add_argument("--max-eval", type=int, default=None, help="evaluate on the first N examples only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    trl = require("trl", "examples/trl_grpo.py")
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="recgym-trl-"))
    env_kwargs = {"reward": args.reward, "dataset_kwargs": json.loads(args.dataset_kwargs)}

    dataset = make_dataset(args.env, split="train", **env_kwargs)
    reward = RecGymReward(args.env, k=args.train_k, **env_kwargs)  # Rec-R1 trains on NDCG@1000
    eval_env = gym.make(args.env, k=100, **env_kwargs)
    model, tokenizer = load_policy(args.model)  # TRL takes the loaded objects: "tiny" is built in memory

    raw = evaluate(make_agent("raw", eval_env), eval_env, args.eval_split, max_examples=args.max_eval)
    t0 = time.time()
    before = evaluate(
        make_agent("prompt", eval_env, model=model, tokenizer=tokenizer, max_new_tokens=args.max_new_tokens),
        eval_env, args.eval_split, max_examples=args.max_eval,
    )
    eval_s = time.time() - t0
    print(f"before training: raw query {raw['ndcg@100']:.4f}, policy {before['ndcg@100']:.4f} NDCG@100", flush=True)

    config = trl.GRPOConfig(
        output_dir=str(out / "trl"),
        max_steps=args.steps,
        per_device_train_batch_size=args.prompts * args.group,
        num_generations=args.group,
        max_completion_length=args.max_new_tokens,
        temperature=args.temperature,
        learning_rate=args.lr,
        beta=args.beta,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        bf16=False,
        seed=args.seed,
        dataloader_num_workers=0,
    )
    trainer = trl.GRPOTrainer(
        model=model, reward_funcs=reward, args=config, train_dataset=dataset, processing_class=tokenizer
    )
    t0 = time.time()
    trainer.train()
    train_s = time.time() - t0
    curve = [
        {"step": h["step"], "reward": h.get(f"rewards/{reward.__name__}/mean"), "ndcg@100": h.get("recgym/ndcg@100")}
        for h in trainer.state.log_history
        if f"rewards/{reward.__name__}/mean" in h
    ]
    trained = trainer.model.eval()
    after = evaluate(
        make_agent("prompt", eval_env, model=trained, tokenizer=tokenizer, max_new_tokens=args.max_new_tokens),
        eval_env, args.eval_split, max_examples=args.max_eval,
    )

    n = raw["num_examples"]
    print(f"\n{args.env} (reward={args.reward}), {args.eval_split} split, {n} examples, NDCG@100:")
    rows = [
        ("raw query", raw),
        ("policy before GRPO (greedy)", before),
        (f"policy after {args.steps} TRL GRPO steps", after),
    ]
    for name, res in rows:
        fmt = f"  (format_ok {res['format_ok']:.2f})" if name != "raw query" else ""
        print(f"  {name:38s} {res['ndcg@100']:.4f}{fmt}")
    first, last = curve[:5], curve[-5:]
    mean = lambda rows: sum(r["reward"] for r in rows) / max(len(rows), 1)  # noqa: E731
    print(
        f"  training reward: first 5 steps {mean(first):.4f}, last 5 steps {mean(last):.4f}; "
        f"training {train_s:.0f}s, one evaluation {eval_s:.0f}s"
    )
    results = {
        "env": args.env,
        "reward": args.reward,
        "model": args.model or "SmolLM2-135M-Instruct",
        "steps": args.steps,
        "prompts_per_step": args.prompts,
        "group": args.group,
        "train_seconds": train_s,
        "split": args.eval_split,
        "num_examples": n,
        "ndcg@100": {"raw": raw["ndcg@100"], "before": before["ndcg@100"], "after": after["ndcg@100"]},
        "curve": curve,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"  results: {out / 'results.json'}")
    return results


if __name__ == "__main__":
    main()
