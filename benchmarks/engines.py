"""A database engine's BM25 beside recgym's: SQLite FTS5 ``bm25()`` (``SQLiteRecommender``) against bm25s
(``BM25Recommender``, bm25s's tokenizer: the same terms reach both engines) on a task's raw queries.

    python benchmarks/engines.py [--env RecR1/Shop-BM25-v0] [--env-kwargs JSON] [--split test] [--k 100]
    python benchmarks/engines.py --env RecR1/C4-BM25-v0 --env-kwargs '{"data_dir": "../shared/data/amazon_c4_closed"}'

Per engine: NDCG@k of the raw queries (the env's own reward metric, through ``task.score``) and its ratio to
bm25s's, overlap@k with bm25s's ranking (|A ∩ B| / max(|A|, |B|) over each query's top k, averaged over queries
that either engine answers), top-1 agreement, index seconds and search queries/s (one batch, best of --repeats).
Results for docs/engines.md.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from bench_timing import best_rates  # sibling module: scripts run from benchmarks/

import recgym  # noqa: F401  (registers the ids)
from recgym.envs import load_task_dataset, task_of
from recgym.recommenders import PAD

# name -> (recommender=, recommender_kwargs=); bm25s's own tokenizer on every task (real-data ids default to the
# Lucene analyzer, which SQLite cannot reproduce), no index cache so index times compare
ENGINES: dict[str, tuple[str, dict]] = {
    "bm25s": ("bm25", {"analyzer": "bm25s", "cache": False}),
    "sqlite-fts5": ("sqlite", {}),
}


def overlap_at_k(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Per query, |top-k(a) ∩ top-k(b)| / max of their sizes; NaN where neither ranks anything."""
    out = np.full(len(a), np.nan)
    for i, (row_a, row_b) in enumerate(zip(a[:, :k], b[:, :k])):
        set_a, set_b = set(row_a[row_a != PAD].tolist()), set(row_b[row_b != PAD].tolist())
        if set_a or set_b:
            out[i] = len(set_a & set_b) / max(len(set_a), len(set_b))
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default="RecR1/Shop-BM25-v0", help="task whose catalog and raw queries are used")
    ap.add_argument("--env-kwargs", default="{}", help="JSON env arguments (data_dir, dataset_kwargs, ...)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--max-examples", type=int, help="first N examples of the split")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    kwargs = {"split": args.split, "k": args.k, "reward": "plain", **json.loads(args.env_kwargs)}
    # load (and memoise) the dataset first, so the index times below are the engines' alone
    load_task_dataset(gym.spec(args.env).kwargs["task"], kwargs.get("data_dir"), kwargs.get("dataset_kwargs"),
                      category=kwargs.get("category"))  # fmt: skip

    results: dict[str, dict[str, float]] = {}
    rankings: dict[str, np.ndarray] = {}
    for name, (recommender, options) in ENGINES.items():
        start = time.perf_counter()
        task = task_of(gym.make(args.env, **kwargs, recommender=recommender, recommender_kwargs=options))
        index_s = time.perf_counter() - start
        examples = list(task.examples(args.split)[: args.max_examples])
        queries = [task.raw_query(ex) for ex in examples]
        _, infos = task.score([task.raw_action(ex) for ex in examples], examples)
        rankings[name] = task.recommender.search(queries, args.k)[0]
        qps = best_rates({name: lambda: task.recommender.search(queries, args.k)}, len(queries), args.repeats)[name]
        results[name] = {"ndcg": float(np.mean(infos[f"ndcg@{args.k}"])), "index_s": index_s, "qps": qps,
                         "queries": len(queries), "items": len(task.catalog)}  # fmt: skip
    reference = rankings["bm25s"]
    for name, result in results.items():
        result["ndcg_ratio"] = result["ndcg"] / results["bm25s"]["ndcg"]
        result["overlap"] = float(np.nanmean(overlap_at_k(rankings[name], reference, args.k)))
        result["top1"] = float(np.mean(rankings[name][:, 0] == reference[:, 0]))

    first = next(iter(results.values()))
    print(f"{args.env} {args.env_kwargs}: {first['queries']} raw {args.split} queries, {first['items']:,} items")
    print(f"| engine | NDCG@{args.k} | / bm25s | overlap@{args.k} with bm25s | top-1 same | index s | search q/s |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['ndcg']:.4f} | {r['ndcg_ratio']:.3f} | {r['overlap']:.3f} | {r['top1']:.3f} | "
              f"{r['index_s']:.2f} | {r['qps']:,.0f} |")  # fmt: skip
    return results


if __name__ == "__main__":
    main()
