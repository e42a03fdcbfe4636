"""Adversarial actions against every offline env id and reward preset: counts of failures and the slowest step.

    OMP_NUM_THREADS=1 python benchmarks/fuzz_actions.py            # 10,000 actions per id and preset, 1 thread
    python benchmarks/fuzz_actions.py --actions 200 --ids RecR1/Shop-BM25-v0 --presets plain   # a quick look

Each action is scored twice: alone by the single env (timed) and in a batch of ``--num-envs`` by the vector env,
and must get a finite reward inside ``reward_range``, the same bit for bit in both, within ``2 s + 2 µs per char``
(the bound tests/test_actions_property.py asserts; the old quadratic parser took 9 s on 128 kB of ``<answer>``).
Non-str actions must raise TypeError. Actions are drawn from a seeded generator: random code points (lone
surrogates and unassigned ones included), control characters, well-formed answers around such text, answers with
raw JSON escapes, JSON nested up to 200,000 deep, tags and fragments repeated up to 1 MB, and 1 MB random text.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections import Counter

import gymnasium as gym

import recgym  # noqa: F401
from recgym.envs import registered_ids, task_of

PRESETS = ("recr1", "plain", "expand")
MAX_CHARS = 1 << 20
TOKENS = ["<answer>", "</answer>", "<ANSWER>", "<think>", "</think>", '{"query": ', '"', "{", "}", "[", "]", ":", "\\"]
TOKENS += ["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\u0000", "null", "1e999", "NaN", "\x00", "\r\n", "\ud800", "é"]


def step_time_limit(chars: int) -> float:
    return 2.0 + 2e-6 * chars


def _code_point(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.1:
        return chr(rng.randint(0xD800, 0xDFFF))  # lone surrogate
    if r < 0.2:
        return chr(rng.randint(0, 0x1F))  # control
    if r < 0.5:
        return chr(rng.randint(0x20, 0x7E))
    return chr(rng.randint(0, 0x10FFFF))


def _text(rng: random.Random, n: int) -> str:
    return "".join(_code_point(rng) if rng.random() < 0.8 else rng.choice(TOKENS) for _ in range(n))


def action(rng: random.Random, kind: str) -> str:
    """One adversarial action of ``kind`` (see KINDS)."""
    if kind == "unicode":
        return _text(rng, rng.randint(0, 200))
    if kind == "answer":
        query = _text(rng, rng.randint(0, 60))
        body = json.dumps({"query": query}, ensure_ascii=rng.random() < 0.5)
        return f"{_text(rng, rng.randint(0, 20))}<answer>{body}</answer>{_text(rng, rng.randint(0, 20))}"
    if kind == "escapes":
        return '<answer>{"query": "' + _text(rng, rng.randint(0, 80)) + '"}</answer>'
    if kind == "nested":
        opener = rng.choice(["[", "{", '{"query": ', '"', "[{"])
        return '<answer>{"query": ' + opener * rng.randint(1, 200_000) + "</answer>"
    if kind == "repeated":
        unit = rng.choice(["<answer>", "</answer>", "<answer>x", "<answer></answer>", "\ud800", "a ", _text(rng, 12)])
        unit = unit or "x"
        return unit * rng.randint(1, MAX_CHARS // len(unit))
    if kind == "huge":  # 1 MB: a random 4 kB block repeated (drawing 1M code points one by one would dominate)
        return (_text(rng, 4096) * (MAX_CHARS // 4096 + 1))[: rng.randint(MAX_CHARS // 2, MAX_CHARS)]
    raise ValueError(kind)


KINDS = {"unicode": 0.3, "answer": 0.25, "escapes": 0.2, "nested": 0.08, "repeated": 0.12, "huge": 0.05}
NON_STR = [None, 3, 2.5, b"<answer>", ["a"], {"query": "x"}]


def _kwargs(env_id: str, preset: str, dataset_kwargs: dict, threads: int) -> dict:
    kw: dict = {"reward": preset, "dataset_kwargs": dataset_kwargs}
    bm25 = {"n_threads": 0 if threads == 1 else -1}  # bm25s's own pool: 0 = one thread
    if "-BM25-" in env_id:
        kw["recommender_kwargs"] = bm25
    elif "-Hybrid-" in env_id:
        kw["recommender_kwargs"] = {"bm25": bm25}
    return kw


def fuzz(env_id: str, preset: str, n: int, num_envs: int, seed: int, dataset_kwargs: dict, threads: int) -> dict:
    """Score ``n`` actions on one id and preset; counts, timings and the slowest step."""
    kw = _kwargs(env_id, preset, dataset_kwargs, threads)
    env, venv = gym.make(env_id, **kw), gym.make_vec(env_id, num_envs=num_envs, **kw)
    lo, hi = env.unwrapped.reward_range
    rng = random.Random(f"{seed}:{env_id}:{preset}")
    examples = task_of(env).num_examples(env.unwrapped.split)
    _, info = env.reset(seed=seed)
    env.step(info["raw_action"])  # loads a dense model: a one-time cost, not a step's
    out = Counter()
    slowest = (0.0, 0, "")
    total_s = total_chars = 0.0
    kinds, weights = list(KINDS), list(KINDS.values())
    for start in range(0, n, num_envs):
        batch_kinds = rng.choices(kinds, weights, k=min(num_envs, n - start))
        batch = [action(rng, k) for k in batch_kinds] + [""] * (num_envs - len(batch_kinds))
        indices = [rng.randrange(examples) for _ in range(num_envs)]
        venv.reset(options={"indices": indices})
        try:
            vector_rewards = venv.step(batch)[1]
        except Exception as e:  # counted, never raised: the point is the tally
            out[f"vector error {type(e).__name__}"] += 1
            vector_rewards = None
        for i, kind in enumerate(batch_kinds):
            env.reset(options={"index": indices[i]})
            t0 = time.perf_counter()
            try:
                reward = env.step(batch[i])[1]
            except Exception as e:
                out[f"error {type(e).__name__}"] += 1
                continue
            seconds = time.perf_counter() - t0
            out["actions"] += 1
            out[f"kind {kind}"] += 1
            total_s, total_chars = total_s + seconds, total_chars + len(batch[i])
            if seconds > slowest[0]:
                slowest = (seconds, len(batch[i]), kind)
            out["over time bound"] += seconds > step_time_limit(len(batch[i]))
            out["non-finite"] += not math.isfinite(reward)
            out["out of range"] += math.isfinite(reward) and not lo <= reward <= hi
            out["vector != single"] += vector_rewards is not None and vector_rewards[i] != reward
    for bad in NON_STR:
        env.reset(options={"index": 0})
        try:
            env.step(bad)
            out["non-str accepted"] += 1
        except TypeError:
            out["non-str TypeError"] += 1
    return {"counts": dict(out), "slowest": slowest, "mean_ms": 1e3 * total_s / max(out["actions"], 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actions", type=int, default=10_000, help="actions per id and preset")
    ap.add_argument("--ids", nargs="+", default=[i for i in registered_ids() if i.startswith("RecR1/Shop")])
    ap.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    ap.add_argument("--num-envs", type=int, default=8, help="vector-env batch size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch and bm25s threads")
    ap.add_argument(
        "--dataset-kwargs", type=json.loads, default={}, help='per task, e.g. \'{"Shop": {"num_products": 400}}\''
    )
    args = ap.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    results = {}
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(
        f"{args.actions} actions per id and preset, batches of {args.num_envs}, seed {args.seed}, "
        f"{args.threads} thread(s), OMP_NUM_THREADS={threads}",
        flush=True,
    )
    header = "| id | preset | scored | errors | non-finite | out of range | over bound | vector != single "
    print(header + "| non-str TypeError | mean ms | slowest step |\n|" + "---|" * 11, flush=True)
    for env_id in args.ids:
        task = env_id.split("/")[1].split("-")[0]
        kwargs = args.dataset_kwargs.get(task, {})
        for preset in args.presets:
            r = fuzz(env_id, preset, args.actions, args.num_envs, args.seed, kwargs, args.threads)
            results[(env_id, preset)] = r
            c = r["counts"]
            errors = sum(v for k, v in c.items() if "error" in k)
            s, chars, kind = r["slowest"]
            print(
                f"| {env_id} | {preset} | {c.get('actions', 0):,} | {errors} | {c.get('non-finite', 0)} | "
                f"{c.get('out of range', 0)} | {c.get('over time bound', 0)} | {c.get('vector != single', 0)} | "
                f"{c.get('non-str TypeError', 0)}/{len(NON_STR)} | {r['mean_ms']:.2f} | "
                f"{s:.3f} s ({kind}, {chars:,} chars) |",
                flush=True,
            )
    return results


BAD = ("error", "non-finite", "out of range", "over time bound", "vector != single", "non-str accepted")


def failures(results: dict) -> int:
    """Every count that breaks a promise, over all ids and presets."""
    return sum(v for r in results.values() for k, v in r["counts"].items() if any(b in k for b in BAD))


if __name__ == "__main__":
    sys.exit(1 if failures(main()) else 0)
