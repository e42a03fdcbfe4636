"""stable-baselines3 PPO on a recgym env: a query-reformulation policy over discrete rewrite operators.

    python examples/sb3_ppo.py [--env RecR1/Shop-BM25-v0] [--actions all] [--steps 40000] [--encoder minilm]

SB3 has no text spaces, so the env is wrapped (``recgym.integrations.sb3``): the observation is the MiniLM embedding
of the raw query, the action picks one of K rewrite operators (raw query, stopword removal, RM3 expansions,
product-type appends mined from the first retrieval, and -- with ``--actions types``/``all`` -- one "append this
product type" action per type phrase mined from the catalog's titles through the recommender). The reward is the
env's own (NDCG@100 under the chosen preset). After training, the deterministic policy is scored on the test split
against the raw query, RM3 pseudo-relevance feedback and a uniform-random operator policy.

About 4 minutes on one CPU core with the defaults; ``--steps 2000 --encoder hash`` is a seconds-long smoke run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import recgym  # noqa: F401  (registers the env ids)
from recgym.agents import evaluate, make_agent
from recgym.envs import task_of
from recgym.integrations.rewrite import default_operators
from recgym.integrations.sb3 import (
    DiscreteRewriteActions,
    EmbeddingObservation,
    HashedBagOfWords,
    evaluate_policy_on_split,
    load_encoder,
    operator_table,
    type_operators,
)
from recgym.rewards import preset_names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="RecR1/Shop-BM25-v0", help="any recgym id")
    ap.add_argument("--reward", default="plain", choices=preset_names())
    ap.add_argument("--dataset-kwargs", default="{}", help='JSON, e.g. \'{"num_products": 400, "num_queries": 200}\'')
    ap.add_argument("--data-dir", default=None, help="folder of a real-data id's files")
    ap.add_argument(
        "--actions",
        default="all",
        choices=["operators", "types", "all"],
        help="operators: the 7 generic rewrites; types: raw + one append per mined product-type phrase; all: both",
    )
    ap.add_argument("--encoder", default="minilm", choices=["minilm", "hash"], help="observation embedding")
    ap.add_argument("--steps", type=int, default=40_000, help="PPO environment steps (= episodes)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--n-steps", type=int, default=256, help="PPO rollout length")
    ap.add_argument("--hidden", type=int, default=256, help="width of the one hidden layer of policy and value nets")
    ap.add_argument("--eval-split", default="test")
    ap.add_argument("--random-passes", type=int, default=10, help="passes of the random policy when K is large")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--out", default=None, help="folder for the trained model and results.json")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    from stable_baselines3 import PPO

    torch.set_num_threads(args.threads)
    env_kwargs = {"reward": args.reward, "dataset_kwargs": json.loads(args.dataset_kwargs)}
    if args.data_dir:
        env_kwargs["data_dir"] = args.data_dir
    train_base = gym.make(args.env, split="train", **env_kwargs)
    eval_base = gym.make(args.env, split=args.eval_split, **env_kwargs)  # SB3 keeps the train env mid-episode

    generic = list(default_operators())
    mined = type_operators(train_base, split="train")  # phrases mined from TRAIN queries' first retrievals only
    operators = {"operators": generic, "types": [generic[0], *mined], "all": generic + mined}[args.actions]
    encoder = HashedBagOfWords(256) if args.encoder == "hash" else load_encoder(None)
    train_env = EmbeddingObservation(DiscreteRewriteActions(train_base, operators), model=encoder)
    eval_env = EmbeddingObservation(DiscreteRewriteActions(eval_base, operators), model=encoder)
    task = task_of(train_base)
    t0 = time.time()
    train_env.embed([task.raw_query(ex) for ex in task.examples("train")])  # batched warm-up of the cache
    eval_env.embed([task.raw_query(ex) for ex in task.examples(args.eval_split)])
    print(f"{args.env}: K={len(operators)} operators ({args.actions}), embeddings in {time.time() - t0:.1f}s")

    model = PPO(
        "MlpPolicy",
        train_env,
        n_steps=args.n_steps,
        batch_size=64,
        n_epochs=10,
        learning_rate=args.lr,
        seed=args.seed,
        policy_kwargs={"net_arch": [args.hidden]},
        verbose=0,
    )
    t0 = time.time()
    model.learn(args.steps)
    train_s = time.time() - t0

    split = args.eval_split
    trained = evaluate_policy_on_split(lambda o: model.predict(o, deterministic=True)[0], eval_env, split)
    raw = evaluate(make_agent("raw", eval_base), eval_base, split)
    prf = evaluate(make_agent("prf", eval_base), eval_base, split)
    num_examples = trained["num_examples"]
    if len(operators) * num_examples <= 20_000:  # exact expectation of the uniform policy
        table = operator_table(eval_env, split, key="ndcg@100")
        random_ndcg, random_note = float(table.mean()), "exact expectation"
    else:
        rng = np.random.default_rng(args.seed)
        passes = [
            evaluate_policy_on_split(lambda o: int(rng.integers(len(operators))), eval_env, split)["ndcg@100"]
            for _ in range(args.random_passes)
        ]
        random_ndcg, random_note = (
            float(np.mean(passes)),
            f"mean of {args.random_passes} passes, sd {np.std(passes):.3f}",
        )

    rows = [
        ("raw query", raw["ndcg@100"]),
        ("RM3 pseudo-relevance feedback", prf["ndcg@100"]),
        (f"uniform-random operator ({random_note})", random_ndcg),
        (f"PPO policy, {args.steps} steps (deterministic)", trained["ndcg@100"]),
    ]
    print(f"\n{split} split, {num_examples} examples, NDCG@100 ({args.env}, reward={args.reward}):")
    for name, value in rows:
        print(f"  {name:55s} {value:.4f}")
    top = sorted(trained["operators"].items(), key=lambda kv: -kv[1])[:8]
    print(f"  PPO training: {train_s:.0f}s; operators chosen on {split}: {dict(top)}")
    results = {
        "env": args.env,
        "reward": args.reward,
        "actions": args.actions,
        "num_operators": len(operators),
        "encoder": args.encoder,
        "steps": args.steps,
        "train_seconds": train_s,
        "split": split,
        "num_examples": num_examples,
        "ndcg@100": {name: value for name, value in rows},
        "operators_chosen": trained["operators"],
    }
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        model.save(out / "ppo_policy")
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
