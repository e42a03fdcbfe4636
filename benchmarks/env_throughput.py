"""Batched env-step throughput vs raw bm25s retrieval on the same catalog and queries, in one process.

    python benchmarks/env_throughput.py [--data amazon_c4_closed] [--batch 64] [--repeats 5]

The env path does everything a GRPO step pays for: parse N actions, tokenise, ONE bm25s retrieval, metrics, infos.
The raw path is bm25s alone: tokenise with the index vocabulary + retrieve, nothing else. Ratio target: >= 0.9.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import bm25s
import numpy as np
from bench_timing import best_rates  # sibling module: scripts run from benchmarks/
from bm25s.tokenization import Tokenizer

from recgym.envs import RecTextVectorEnv, make_env
from recgym.recommenders.lucene_analyzer import lucene_analyze


def queries_for(dataset, n: int, seed: int = 0) -> list[str]:
    """Realistic queries: the dataset's own requests (search) or the catalog titles (sequential), cycled to n."""
    pool = [ex.query for split in dataset.splits.values() for ex in split if ex.query] or list(dataset.catalog.titles)
    rng = np.random.default_rng(seed)
    return [pool[i] for i in rng.integers(len(pool), size=n)]


def bm25s_peer(titles: list[str], settings: dict) -> tuple[bm25s.BM25, Tokenizer]:
    """bm25s alone, indexed with the env recommender's public settings (analyzer, stopwords, k1, b): the peer."""
    if settings["analyzer"] == "lucene":
        tokenizer = Tokenizer(lower=False, splitter=lucene_analyze, stopwords=[], stemmer=None)
    else:
        tokenizer = Tokenizer(stopwords=settings["stopwords"] or [])
    ids = tokenizer.tokenize(titles, update_vocab=True, return_as="ids", show_progress=False)
    retriever = bm25s.BM25(k1=settings["k1"], b=settings["b"])
    retriever.index((ids, dict(tokenizer.get_vocab_dict())), show_progress=False)
    return retriever, tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", default=None, help="folder under ../shared/data (amazon_c4_closed) or none: synthetic shop"
    )
    ap.add_argument("--batch", type=int, default=64, help="actions per vector-env step")
    ap.add_argument("--steps", type=int, default=32, help="vector-env steps per timed run")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument(
        "--analyzer",
        choices=["default", "bm25s"],
        default="default",
        help="real data: the ids' default (Lucene parity: Lucene analyzer + norms + pyserini tie order, "
        "which retrieves 2x deep to order ties) or bm25s's own tokenizer",
    )
    args = ap.parse_args()

    if args.data:
        root = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / args.data
        rec_kwargs = {"analyzer": "bm25s"} if args.analyzer == "bm25s" else None
        env = make_env(
            "c4", "bm25", data_dir=root, split="test", reward="plain", k=args.k, recommender_kwargs=rec_kwargs
        )
    else:
        env = make_env("shop", "bm25", split="test", reward="plain", k=args.k)
    dataset, rec = env.task.dataset, env.task.recommender
    venv = RecTextVectorEnv(args.batch, env=env)
    n = len(dataset.split("test"))
    queries = queries_for(dataset, args.batch * args.steps)
    batches = [queries[i : i + args.batch] for i in range(0, len(queries), args.batch)]
    retriever, tokenizer = bm25s_peer(list(dataset.catalog.titles), rec.settings())
    depth = env.task.depth

    def raw() -> None:
        for batch in batches:
            ids = tokenizer.tokenize(batch, update_vocab=False, return_as="ids", show_progress=False)
            retriever.retrieve(ids, k=min(depth, len(dataset.catalog)), show_progress=False, n_threads=rec.n_threads)

    def env_steps() -> None:
        for j, batch in enumerate(batches):
            venv.reset(options={"indices": [(j * args.batch + i) % n for i in range(args.batch)], "split": "test"})
            venv.step(batch)

    rates = best_rates({"raw": raw, "env": env_steps}, len(queries), args.repeats)
    raw_qps, env_qps = rates["raw"], rates["env"]
    print(
        f"catalog: {dataset.name} ({len(dataset.catalog):,} items); {len(queries):,} queries in batches of "
        f"{args.batch}; retrieval depth {depth}"
    )
    print(f"raw bm25s (tokenize + retrieve): {raw_qps:,.0f} queries/s")
    print(f"recgym vector env step:          {env_qps:,.0f} queries/s")
    print(f"ratio env / raw: {env_qps / raw_qps:.2f}")


if __name__ == "__main__":
    main()
