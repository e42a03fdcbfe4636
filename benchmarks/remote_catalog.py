"""BM25 at catalog scale over the network: `recgym serve`'s app on loopback vs the same recommender in process.

    python benchmarks/remote_catalog.py                        # 1,000,000 items (large_catalog.py's catalog), ~5 min
    python benchmarks/remote_catalog.py --num-items 20000      # quick run

The catalog and queries are large_catalog.py's (seeded, Amazon-C4-shaped). One process indexes (or loads from the
recgym cache) a ``BM25Recommender`` with the default settings, serves it with :func:`recgym.serve.create_app` on a
free loopback port (uvicorn in a thread: ``recgym.serve.serving_in_thread``), and times ``RemoteRecommender.search``
(one HTTP request per batch: JSON out, ids and scores back, ids mapped to catalog positions) against the same
recommender's in-process ``search``, interleaved, best of ``--repeats``. The server shares this process's cores
with the client, as it would on a one-box deployment.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from bench_timing import best_rates  # sibling modules: scripts run from benchmarks/
from large_catalog import batched, synthetic_catalog


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-items", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64, help="queries per search call (a vector-env step)")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    from recgym.recommenders import BM25Recommender, RemoteRecommender
    from recgym.serve import create_app, serving_in_thread

    catalog, queries = synthetic_catalog(args.num_items, args.queries)
    rec = BM25Recommender()  # the default: bm25s tokenizer, matched-only top-k, ties by catalog position
    start = time.perf_counter()
    rec.index(catalog)
    index_s = time.perf_counter() - start
    batches = batched(queries, args.batch)
    with serving_in_thread(create_app(rec, catalog, f"synthetic-{args.num_items}")) as url:
        with RemoteRecommender(url, timeout=120) as remote:
            remote.index(catalog)  # also checks that the server serves this catalog (size + fingerprint)
            for batch in batches[:2]:  # the same rankings either way
                local_pos, remote_pos = rec.search(batch, args.k)[0], remote.search(batch, args.k)[0]
                if not (local_pos == remote_pos).all():
                    raise AssertionError("remote and in-process rankings differ")
            rates = best_rates(
                {"in-process": lambda: [rec.search(b, args.k) for b in batches],
                 "remote": lambda: [remote.search(b, args.k) for b in batches]},
                len(queries), args.repeats,
            )  # fmt: skip
    result = {"items": args.num_items, "index_s": index_s, **{f"{name}_qps": v for name, v in rates.items()},
              "ratio": rates["remote"] / rates["in-process"]}  # fmt: skip
    print(f"catalog: {args.num_items:,} synthetic items; {len(queries)} queries in batches of {args.batch}, k={args.k}; "
          f"index (build or cache load) {index_s:.1f} s")
    print(f"in-process BM25Recommender.search: {rates['in-process']:,.0f} q/s")
    print(f"remote (recgym serve's app on loopback): {rates['remote']:,.0f} q/s; remote / in-process {result['ratio']:.2f}")
    return result


if __name__ == "__main__":
    main()
