"""Exploration probe: how often does the untrained policy sample a completion that beats the raw query?

    python benchmarks/exploration_probe.py [--prompts product-type product-type-results product-type-results:10]
        [--num-prompts 16] [--offset 0]

A GRPO group teaches something only when one of its G samples scores differently from the others, and it teaches
the right thing when some sample beats the raw query. For each named prompt (``recgym.prompts.TEMPLATES``), the
same training examples are sampled G times at temperature 1 with the CPU recipe's response prefix, scored with the
``expand`` preset at NDCG@k, and compared with the raw query on the same examples. Prints, per prompt, the share of
groups whose best sample beats raw, the share of samples above / below raw, the mean difference, and the ratio of
the mean difference to the first prompt's (a peer run in the same process, same examples, same model).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import gymnasium as gym
import numpy as np
import torch

import recgym  # noqa: F401  (registers the ids)
from recgym.agents.hf_policy import HFPolicy, SamplingConfig
from recgym.envs import task_of
from recgym.models import load_policy
from recgym.prompts import resolve_template


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", nargs="+", default=["product-type", "product-type-results"],
                    help="template names; NAME:N shows the top N titles of the raw query's results instead")
    ap.add_argument("--num-prompts", type=int, default=16, help="training examples (the first N of the split)")
    ap.add_argument("--G", type=int, default=8, help="samples per example")
    ap.add_argument("--max-new-tokens", type=int, default=5)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--prefix", default="The shopper is looking for a")
    ap.add_argument("--model", default=None, help="as recgym's --model: None (SmolLM2-135M-Instruct), tiny, a path")
    ap.add_argument("--env", default="RecR1/Shop-BM25-v0")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--offset", type=int, default=0, help="skip the first OFFSET train examples")
    args = ap.parse_args(argv)

    model, tokenizer = load_policy(args.model)
    policy = HFPolicy(model, tokenizer, response_prefix=args.prefix)
    sampling = SamplingConfig(args.max_new_tokens, 1.0, 1.0)
    print(f"{args.env}, expand @ NDCG@{args.k}, {args.num_prompts} train examples x G={args.G}, T=1, "
          f"{args.max_new_tokens} tokens, prefix {args.prefix!r}")
    first, results = None, {}
    for name in args.prompts:
        # "name:N" shows the black box's top N titles (the template's ``feedback``) instead of the template's own
        base, _, shown = name.partition(":")
        prompt = dataclasses.replace(resolve_template(base), feedback=int(shown)) if shown else base
        task = task_of(gym.make(args.env, reward="expand", k=args.k, prompt=prompt))
        examples = list(task.examples("train")[args.offset : args.offset + args.num_prompts])
        raw = task.score([task.raw_action(ex) for ex in examples], examples)[0]
        torch.manual_seed(args.seed)  # the same sampling stream for every prompt
        start = time.perf_counter()
        rollout = policy.sample([task.observation(ex) for ex in examples], n=args.G, sampling=sampling)
        rewards = task.score(rollout.texts, [ex for ex in examples for _ in range(args.G)])[0]
        diff = rewards.reshape(len(examples), args.G) - raw[:, None]
        first = diff.mean() if first is None else first
        results[name] = {"groups_better": float(np.mean(diff.max(1) > 1e-9)), "better": float(np.mean(diff > 1e-9)),
                          "worse": float(np.mean(diff < -1e-9)), "mean_diff": float(diff.mean())}
        print(f"{name:24s} groups with a sample > raw {np.mean(diff.max(1) > 1e-9):5.0%}  "
              f"samples > raw {np.mean(diff > 1e-9):4.0%}  < raw {np.mean(diff < -1e-9):4.0%}  "
              f"mean diff {diff.mean():+.4f} (vs first prompt: {diff.mean() - first:+.4f})  "
              f"{time.perf_counter() - start:.0f} s   e.g. {rollout.texts[: 3 * args.G : args.G]}")
    return results


if __name__ == "__main__":
    main()
