"""Shared-prefix KV caching in HFPolicy: GRPO rollout and update time with and without it, same process, same prompts.

    python benchmarks/prefix_cache.py [--prompts 8] [--group 8] [--new-tokens 8] [--repeats 3] [--threads 1]

Peers (``HFPolicy(share_prefix=True)`` vs ``False``) run interleaved, best of ``--repeats`` (bench_timing):
- ``sample``: G completions for each of P training prompts of RecR1/Shop-BM25-v0 (one ``generate`` call). Cached:
  the prompts' shared template runs once, each prompt's own suffix once, and the cache is repeated to its G rows;
  uncached: all P x G rows prefill the whole prompt.
- ``update``: log-probs of those completions plus ``backward``, one micro-batch per group (GRPO's layout). Cached:
  each group's prompt runs once and its KV cache (inside the autograd graph) serves the G rows; uncached: every row
  runs prompt + completion.
- ``turn``: the second turn of P x G multi-turn episodes on RecR1/Shop-BM25-Agent-v0 whose G episodes per example
  all searched the raw query (the scripted PRF agent's first turn; a format-SFT policy's habit), so each group's
  contexts (prompt, search, titles) are identical. Cached: each distinct context prefills once and its cache is
  shared by its rows (``HFPolicy.sample_from_ids``); uncached: all P x G rows prefill in full.
Checks that both paths give the same sampled tokens (same seed) and the same log-probs. Prints seconds and the
ratio cached / uncached (below 1 is faster). ``--model tiny``: a random test model, for smoke runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_timing import best_times  # noqa: E402

import recgym  # noqa: E402,F401
from recgym.agents.hf_policy import HFPolicy, SamplingConfig  # noqa: E402
from recgym.agents.scripted import PRFSearchAgent  # noqa: E402
from recgym.agents.sft import transcripts_from_agent  # noqa: E402
from recgym.models import load_default_policy, tiny_policy  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="local path / Hub id; default SmolLM2-135M-Instruct; 'tiny'")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--new-tokens", type=int, default=8)
    ap.add_argument("--prompt", default="product-type", help="env prompt template name")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    model, tokenizer = tiny_policy() if args.model == "tiny" else load_default_policy(args.model)
    env = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=args.prompts, reward="expand", prompt=args.prompt)
    observations, _ = env.reset(options={"indices": list(range(args.prompts)), "split": "train"})
    policies = {"cached": HFPolicy(model, tokenizer, share_prefix=True),
                "uncached": HFPolicy(model, tokenizer, share_prefix=False)}
    sampling = SamplingConfig(args.new_tokens, temperature=1.0, top_p=1.0)

    def sample(policy: HFPolicy):
        torch.manual_seed(0)
        return policy.sample(list(observations), n=args.group, sampling=sampling)

    rollouts = {name: sample(policy) for name, policy in policies.items()}
    same_tokens = torch.equal(rollouts["cached"].completion_ids, rollouts["uncached"].completion_ids)
    rollout = rollouts["cached"]  # the uncached policy scores the same rows (its own layout is only a shift)

    def update(policy: HFPolicy) -> torch.Tensor:
        model.zero_grad(set_to_none=True)
        parts = []
        for start in range(0, len(rollout), args.group):
            logp, _ = policy.token_logprobs(rollout.select(slice(start, start + args.group)))
            logp.sum().backward()
            parts.append(logp.detach())
        return torch.cat(parts)

    contexts = second_turn_contexts(tokenizer, policies["cached"], args.prompts, args.group)

    def turn(policy: HFPolicy) -> list[list[int]]:
        torch.manual_seed(0)
        return policy.sample_from_ids(contexts, sampling=sampling)

    same_tokens &= turn(policies["cached"]) == turn(policies["uncached"])
    max_diff = float((update(policies["cached"]) - update(policies["uncached"])).abs().max())
    results: dict[str, dict[str, float]] = {}
    for phase, fn in (("sample", sample), ("update", update), ("turn", turn)):
        times = best_times({name: (lambda p=p: fn(p)) for name, p in policies.items()}, args.repeats, warm=False)
        results[phase] = {**times, "ratio": times["cached"] / times["uncached"]}
    prompt_tokens = int(rollout.prompt_mask[0].sum())
    print(f"{args.prompts} prompts x G={args.group}, {args.new_tokens} new tokens, ~{prompt_tokens} prompt tokens, "
          f"{args.threads} thread(s); same sampled tokens: {same_tokens}; max |log-prob diff| {max_diff:.2e}")
    print(f"{'phase':<8} {'cached s':>9} {'uncached s':>11} {'cached / uncached':>18}")
    for phase, r in results.items():
        print(f"{phase:<8} {r['cached']:>9.2f} {r['uncached']:>11.2f} {r['ratio']:>18.2f}")
    results["check"] = {"same_tokens": float(same_tokens), "max_logp_diff": max_diff}
    return results


def second_turn_contexts(tokenizer, policy: HFPolicy, prompts: int, group: int) -> list[list[int]]:
    """Token ids of P agent-env episodes after the PRF agent's search turn, each repeated G times, laid out as the
    multi-turn rollout builds them (rendered prompt, then each later segment tokenized on its own)."""
    venv = gym.make_vec("RecR1/Shop-BM25-Agent-v0", num_envs=prompts, reward="expand")
    agent = PRFSearchAgent(venv, fb_docs=3, fb_terms=3)
    pairs = transcripts_from_agent(agent, venv, "train", max_examples=prompts)
    out = []
    for pair in pairs:
        ids = tokenizer(policy.render([pair.prompt])[0], add_special_tokens=False)["input_ids"]
        for text, _ in pair.completion[:2]:  # the search turn and the titles the env sent back
            ids = ids + tokenizer(text, add_special_tokens=False)["input_ids"]
        out += [ids] * group
    return out


if __name__ == "__main__":
    main()
