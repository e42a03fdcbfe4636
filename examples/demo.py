"""`make demo`: evaluate baseline agents on the offline synthetic shop and print one comparison table.

    python examples/demo.py [--env RecR1/Shop-BM25-v0] [--split test] [--out runs/demo]

Runs offline on a fresh machine: the env is the seeded synthetic shop (RecR1/Shop-*; synthetic data, documented
in recgym/data/synthetic.py), the recommender is BM25. Writes the table as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym

import recgym  # noqa: F401  (registers the env ids)
from recgym.agents import RandomAgent, RawQueryAgent, evaluate

COLUMNS = ("ndcg@10", "ndcg@100", "recall@10", "recall@100", "format_ok")


def table(rows: dict[str, dict]) -> str:
    head = f"{'agent':<28}" + "".join(f"{c:>12}" for c in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, result in rows.items():
        lines.append(f"{name:<28}" + "".join(f"{result[c]:>12.4f}" for c in COLUMNS))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="RecR1/Shop-BM25-v0")
    ap.add_argument("--split", default="test")
    ap.add_argument("--reward", default="recr1", choices=["recr1", "plain", "expand"])
    ap.add_argument("--out", default="runs/demo")
    args = ap.parse_args()

    venv = gym.make_vec(args.env, num_envs=64, reward=args.reward)
    print(f"{args.env} ({venv.unwrapped.num_examples(args.split)} {args.split} examples, reward preset "
          f"{args.reward!r}); synthetic data: see recgym/data/synthetic.py")
    agents = {"raw query": RawQueryAgent(), "random text": RandomAgent(venv.unwrapped.single_action_space, seed=0)}
    rows = {}
    for name, agent in agents.items():
        start = time.perf_counter()
        result = evaluate(agent, venv, split=args.split)
        rows[name] = {k: v for k, v in result.items() if k != "records"}
        print(f"  evaluated {name} in {time.perf_counter() - start:.1f} s")
    print()
    print(table(rows))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"env": args.env, "split": args.split, "rows": rows}, indent=2))
    print(f"\nwrote {out / 'results.json'}")


if __name__ == "__main__":
    main()
