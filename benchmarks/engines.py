"""A database engine's BM25 beside recgym's: SQLite FTS5 ``bm25()`` (``SQLiteRecommender``) against bm25s
(``BM25Recommender``, bm25s's tokenizer: the same terms reach both engines) on a task's raw queries.

    python benchmarks/engines.py [--env RecR1/Shop-BM25-v0] [--env-kwargs JSON] [--split test] [--k 100]
    python benchmarks/engines.py --env RecR1/C4-BM25-v0 --env-kwargs '{"data_dir": "../shared/data/amazon_c4_closed"}'
    python benchmarks/engines.py --load 60 [--clients 8] [--batch 64]     # load test of `recgym serve --env ENV`

Per engine: NDCG@k of the raw queries (the env's own reward metric, through ``task.score``) and its ratio to
bm25s's, overlap@k with bm25s's ranking (|A ∩ B| / max(|A|, |B|) over each query's top k, averaged over queries
that either engine answers), top-1 agreement, index seconds and search queries/s (one batch, best of --repeats).
With ``--load``: ``recgym serve`` in a subprocess on loopback; first one client against in-process search at
``--batch`` queries per call, then ``--clients`` concurrent clients for ``--load`` seconds (q/s, batch latency
p50/p99, errors). Results for docs/engines.md.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
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
    ap.add_argument(
        "--load",
        type=float,
        metavar="SECONDS",
        help="instead: load-test `recgym serve --env ENV` on loopback for SECONDS (see load_test)",
    )
    ap.add_argument("--clients", type=int, default=8, help="--load: concurrent clients")
    ap.add_argument("--batch", type=int, default=64, help="--load: queries per request")
    args = ap.parse_args(argv)
    if args.load:
        return load_test(args)
    return compare_rankings(args)


def compare_rankings(args: argparse.Namespace) -> dict[str, dict[str, float]]:
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


# ------------------------------------------------------------------------------------------------ load test
def start_server(env_id: str, env_kwargs: str) -> tuple[subprocess.Popen, str]:
    """``recgym serve`` in a subprocess on a free loopback port, once it answers /health."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "recgym.cli", "serve", "--env", env_id, "--env-kwargs", env_kwargs]
    argv += ["--port", str(port)]
    proc, url = subprocess.Popen(argv), f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"recgym serve did not come up on {url}")


def load_test(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Remote vs in-process at one batch size (one client, interleaved best of --repeats), then --clients clients
    sending batches for --load seconds: q/s, batch latency p50/p99, errors. Stops by itself."""
    from recgym.recommenders import RemoteRecommender

    kwargs = json.loads(args.env_kwargs)
    task = task_of(gym.make(args.env, **kwargs))
    pool = [task.raw_query(ex) for split in ("train", "val", "test") for ex in task.examples(split)]
    batches = [[pool[(b * args.batch + i) % len(pool)] for i in range(args.batch)] for b in range(64)]
    proc, url = start_server(args.env, args.env_kwargs)
    try:
        remote = RemoteRecommender(url, timeout=60)
        remote.index(task.catalog)
        rates = best_rates({"in-process": lambda: [task.recommender.search(b, args.k) for b in batches[:8]],
                            "remote": lambda: [remote.search(b, args.k) for b in batches[:8]]},
                           8 * args.batch, args.repeats)  # fmt: skip
        latencies: list[float] = []
        errors: list[str] = []
        stop = time.monotonic() + args.load

        def client(c: int) -> None:
            with RemoteRecommender(url, timeout=60, retries=0) as rec:
                rec.index(task.catalog)
                b = c
                while time.monotonic() < stop:
                    start = time.perf_counter()
                    try:
                        rec.search(batches[b % len(batches)], args.k)
                        latencies.append(time.perf_counter() - start)
                    except Exception as err:  # counted, not raised: the load test reports errors
                        errors.append(repr(err))
                    b += args.clients

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
        [t.start() for t in threads], [t.join() for t in threads]
        elapsed = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait()
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000 if latencies else (np.nan, np.nan)
    result = {"qps": len(latencies) * args.batch / elapsed, "p50_ms": p50, "p99_ms": p99, "errors": len(errors),
              "batches": len(latencies), "remote_qps": rates["remote"], "in_process_qps": rates["in-process"],
              "ratio": rates["remote"] / rates["in-process"]}  # fmt: skip
    print(f"{args.env}: {len(task.catalog):,} items, k={args.k}, batches of {args.batch}")
    print(
        f"one client: remote {result['remote_qps']:,.0f} q/s, in-process {result['in_process_qps']:,.0f} q/s, "
        f"remote / in-process {result['ratio']:.2f}"
    )
    first_error = f" (first: {errors[0]})" if errors else ""
    print(
        f"{args.clients} clients x {args.load:.0f} s: {result['qps']:,.0f} q/s, batch latency p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, {result['batches']} batches, {len(errors)} errors{first_error}"
    )
    return {"load": result}


if __name__ == "__main__":
    main()
