"""Index and serve a 1M-item catalog on a small machine: BM25 (bm25s, memory-mapped) and dense (float16 on disk,
memory-mapped, searched in chunks), with index time, peak RAM and queries/s.

    python benchmarks/large_catalog.py                       # 1,000,000 items (Amazon-C4 has 1,058,417), ~20 min
    python benchmarks/large_catalog.py --num-items 20000     # quick run, < 1 min

The catalog is synthetic and seeded, with Amazon-C4's title lengths (log-normal, median 16 words, mean ~18 words /
~120 characters, up to 36 words) drawn from a Zipf (s=1) vocabulary of 100k terms (the shop's product words at the
head, generated words and model codes in the tail); queries are 3-8 content words of a random title. Each phase runs
in its own process, so its peak RSS (VmHWM) and its RSS after loading (anon = heap; file = memory-mapped pages, which
the kernel can drop) are its own. Peers are measured in the same process as what they are compared with:
  BM25 index: recgym ``BM25Recommender`` (cache on: build, save) vs raw bm25s (tokenize, index, save) on the same texts.
  BM25 serve: recgym ``search`` vs raw bm25s tokenize + retrieve on the same loaded index, ``mmap=True`` vs False.
  ``--analyzer lucene``: the real-data ids' Lucene-parity BM25 (Lucene analyzer and norms, pyserini tie order).
  Dense: encoder texts/s on a sample (the full 1M encode is extrapolated, not run); the 1M-row store and search are
  real: ``DenseRecommender`` writes and memory-maps the embeddings through its cache, fed by a stand-in encoder that
  returns precomputed vectors; searched in chunks vs a peer doing one float32 matmul over the whole matrix in RAM.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from bench_timing import best_rates  # sibling module: scripts run from benchmarks/

SEED = 0
VOCAB_SIZE = 100_000
TITLE_WORDS = (16.0, 0.5, 2, 36)  # log-normal median, sigma, clip: Amazon-C4 titles, median 19 words, 123 chars
CONNECTORS = ("for", "with", "and", "of", "in", "pack", "set")  # the most frequent title words; 5 stopwords first
EMBED_NOISE = 0.03  # per-dimension noise on tiled sample embeddings: cos ~0.86 to the source, no exact duplicates
MODEL_NAME = "all-MiniLM-L6-v2-tiled-sample"  # cache key of the stand-in embeddings (never a real model id)
GIB = 2**30


# ---- synthetic catalog -------------------------------------------------------------------------------------------


def vocabulary(size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` capitalised words, most frequent first: connectors, the shop's ~1,800 product words, then generated
    words (2-4 syllables) and model codes (``Ka4821``), as marketplace titles mix them."""
    from recgym.data import shop_vocabulary as shop

    text = " ".join([shop.PRODUCT_TABLE, *shop.COLOURS, *shop.HOUSE_BRANDS])
    head = list(dict.fromkeys(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]+", text)))
    head = list(CONNECTORS) + [head[i] for i in rng.permutation(len(head)) if head[i] not in CONNECTORS]
    n = int(1.3 * size)  # spare for duplicates
    syllables = np.char.add(
        np.array(list("bcdfghjklmnprstvwz"))[rng.integers(0, 18, (n, 4))],
        np.array(list("aeiouy"))[rng.integers(0, 6, (n, 4))],
    )
    counts, codes, digits = rng.integers(2, 5, n), rng.random(n) < 0.15, rng.integers(10, 9999, n)
    tail = ("".join(s[:c]) for s, c in zip(syllables.tolist(), counts.tolist()))
    tail = (f"{w[:2]}{d}" if code else w for w, code, d in zip(tail, codes.tolist(), digits.tolist()))
    words = list(dict.fromkeys([*head, *tail]))[:size]
    return np.array([w[:1].upper() + w[1:] for w in words], dtype=object)


def zipf_texts(
    n: int, rng: np.random.Generator, vocab: np.ndarray, lengths_spec: tuple
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``n`` texts of Zipf-drawn words with log-normal word counts, built without a per-word Python loop: one
    ``"".join`` over word+separator strings, split at the newline that ends each text. Also returns the word ids
    and each text's end offset (to draw queries from)."""
    median, sigma, low, high = lengths_spec
    lengths = np.clip(np.round(rng.lognormal(np.log(median), sigma, n)), low, high).astype(np.int64)
    # log-uniform ranks: P(rank r) ~ log((r + 2) / (r + 1)) ~ 1 / r, Zipf's law with s = 1, without a 100k-entry
    # CDF search per word (5x faster at 14M words)
    u = rng.random(int(lengths.sum()))
    tokens = np.minimum(np.expm1(u * np.log1p(len(vocab))).astype(np.int64), len(vocab) - 1)
    ends = np.cumsum(lengths)
    coded = tokens.copy()
    coded[ends - 1] += len(vocab)  # the last word of each text carries the newline
    pieces = np.concatenate([vocab + " ", vocab + "\n"])
    return "".join(pieces[coded].tolist()).split("\n")[:-1], tokens, ends


def synthetic_catalog(num_items: int, num_queries: int):
    """The seeded catalog (``title``: BM25Recommender's and DenseRecommender's default field) and ``num_queries``
    queries: 3-8 words of a random title, in order, lower case (what a shopper types after seeing a product)."""
    from recgym.data.types import Catalog

    rng = np.random.default_rng(SEED)
    vocab = vocabulary(VOCAB_SIZE, rng)
    titles, tokens, ends = zipf_texts(num_items, rng, vocab, TITLE_WORDS)
    queries = []
    for i in rng.integers(num_items, size=num_queries).tolist():
        ids = tokens[(ends[i - 1] if i else 0) : ends[i]]
        ids = ids[ids >= 5] if (ids >= 5).sum() >= 3 else ids  # shoppers type content words, not "for with"
        picked = np.sort(rng.choice(len(ids), min(len(ids), int(rng.integers(3, 9))), replace=False))
        queries.append(" ".join(vocab[ids[picked]].tolist()).lower())
    return Catalog(item_ids=tuple(f"i{n:07d}" for n in range(num_items)), fields={"title": titles}), queries


# ---- measurement -------------------------------------------------------------------------------------------------


def memory() -> dict[str, float]:
    """This process's memory in GiB (Linux ``/proc/self/status``): ``rss``; ``anon``, its heap part; ``file``,
    memory-mapped file pages (shared with the page cache, dropped under pressure); ``peak``, the high-water RSS."""
    names = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "VmHWM": "peak"}
    out: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in names:
            out[names[key]] = int(value.split()[0]) * 1024 / GIB
    return out


def reset_peak() -> None:
    """Restart the high-water RSS from the current RSS (Linux >= 4.0), so a step's peak is its own."""
    Path("/proc/self/clear_refs").write_text("5")


def folder_gib(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / GIB


def batched(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


# ---- phases: each runs in its own process (``--phase``) and returns one JSON-able dict ------------------------------


def _catalog(spec: dict, num_queries: int | None = None):
    return synthetic_catalog(spec["num_items"], num_queries or spec["queries"])


def _bm25(spec: dict, **kwargs):
    from recgym.recommenders import BM25Recommender

    lucene = {"analyzer": "lucene", "lucene_norms": True, "tie_order": "item_id"}
    return BM25Recommender(**(lucene if spec["analyzer"] == "lucene" else {}), **kwargs)


def phase_bm25_index(spec: dict, impl: str) -> dict:
    """Build + save a BM25 index from scratch: recgym (cache on, so the index lands in the cache) or raw bm25s."""
    import bm25s
    from bm25s.tokenization import Tokenizer

    from recgym.recommenders.lucene_analyzer import lucene_analyze

    catalog, _ = _catalog(spec)
    base = memory()["rss"]
    start = time.perf_counter()
    if impl == "recgym":
        _bm25(spec).index(catalog)
        out = Path(os.environ["RECGYM_CACHE"]) / "indexes"
    else:  # the same tokens as recgym's (bm25s's tokenizer + English stopwords, or the Lucene analyzer)
        if spec["analyzer"] == "lucene":
            tokenizer = Tokenizer(lower=False, splitter=lucene_analyze, stopwords=[])
        else:
            tokenizer = Tokenizer(stopwords="en")
        ids = tokenizer.tokenize(catalog.texts(), return_as="ids", show_progress=False)
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        # ids with their vocabulary, as recgym indexes: bare id lists make bm25s keep an int-keyed vocabulary that
        # its save cannot write when orjson is installed ("Dict key must be str")
        retriever.index((ids, dict(tokenizer.get_vocab_dict())), show_progress=False)
        out = Path(spec["work"]) / "raw-bm25s"
        retriever.save(str(out), show_progress=False)
        tokenizer.save_vocab(str(out))
    return {"seconds": time.perf_counter() - start, "base": base, "peak": memory()["peak"], "disk": folder_gib(out)}


def phase_bm25_serve(spec: dict, mmap: bool) -> dict:
    """Load the cached index (memory-mapped or read into RAM) and answer the queries: recgym ``search`` vs raw
    bm25s tokenize + retrieve on the same loaded index, depth ``k``, in batches."""
    catalog, queries = _catalog(spec)
    before = memory()
    start = time.perf_counter()
    rec = _bm25(spec, mmap=mmap)
    rec.index(catalog)  # a cache hit: loads, never builds
    load_s = time.perf_counter() - start
    loaded = memory()
    (retriever, tokenizer), depth = rec.backend, min(spec["k"], len(catalog))
    batches = batched(queries, spec["batch"])

    def raw() -> None:
        for batch in batches:
            ids = tokenizer.tokenize(batch, update_vocab=False, return_as="ids", show_progress=False)
            retriever.retrieve(ids, k=depth, show_progress=False, n_threads=rec.n_threads)

    def recgym() -> None:
        for batch in batches:
            rec.search(batch, spec["k"])

    rates = best_rates({"recgym": recgym, "raw": raw}, len(queries), spec["repeats"])
    after = memory()
    out = {
        f"{when}_{kind}": m[kind] - before[kind]
        for when, m in (("load", loaded), ("served", after))
        for kind in ("anon", "file")
    }
    out.update(load_s=load_s, base=before["rss"], peak=after["peak"], qps_recgym=rates["recgym"])
    return {**out, "qps_raw": rates["raw"], "ratio": rates["recgym"] / rates["raw"]}


def phase_dense_encode(spec: dict) -> dict:
    """all-MiniLM-L6-v2's encoding speed on a sample of titles and on the queries; saves both sets of vectors."""
    import torch

    from recgym.recommenders import DenseRecommender

    torch.set_num_threads(spec["torch_threads"])
    catalog, queries = _catalog(spec, spec["dense_queries"])
    rng = np.random.default_rng(SEED + 1)
    picked = rng.choice(len(catalog), min(spec["encode_sample"], len(catalog)), replace=False)
    sample = [catalog.titles[i] for i in picked]
    rec = DenseRecommender(cache=False)
    rec.encode(sample[:8])  # loads the model
    rates = {}
    for name, texts in (("sample", sample), ("queries", queries)):
        start = time.perf_counter()
        np.save(Path(spec["work"]) / f"{name}.npy", rec.encode(texts))
        rates[f"{name}_per_s"] = len(texts) / (time.perf_counter() - start)
    return rates


class StandIn:
    """Stands in for the sentence-transformers model (``DenseRecommender`` takes any object with ``encode``): the
    catalog gets the precomputed item vectors, a query its precomputed vector, so the 1M-row store and search run
    for real without the hours-long encode."""

    def __init__(self, items: np.ndarray | None, queries: dict[str, np.ndarray]) -> None:
        self.items, self.queries = items, queries

    def encode(self, texts: Sequence[str], **_: object) -> np.ndarray:
        if self.items is not None and len(texts) == len(self.items):
            return self.items
        return np.stack([self.queries[t] for t in texts])


def _vectors(spec: dict, name: str, n: int, seed: int) -> np.ndarray:
    """Real MiniLM vectors saved by the encode phase, tiled to ``n`` rows with noise and renormalised; without an
    encode phase (``--encode-sample 0``), random unit vectors."""
    path = Path(spec["work"]) / f"{name}.npy"
    source = np.load(path) if path.exists() else None
    if source is not None and n <= len(source):
        return source[:n]
    rng = np.random.default_rng(seed)
    dim = 384 if source is None else source.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 65536):  # in blocks: no float64 or full-size temporaries
        rows = np.arange(start, min(n, start + 65536))
        noise = rng.standard_normal((len(rows), dim), dtype=np.float32)
        block = noise if source is None else source[rows % len(source)] + EMBED_NOISE * noise
        out[rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _dense(spec: dict, dtype: str, stand_in: StandIn):
    from recgym.recommenders import DenseRecommender

    # a model *name* keys the embedding cache (an in-memory model object is never cached), and the stand-in
    # replaces the model that name would load
    rec = DenseRecommender(model=MODEL_NAME, dtype=dtype)
    rec.model = stand_in
    return rec


def phase_dense_index(spec: dict, dtype: str) -> dict:
    """Store the catalog's embeddings through ``DenseRecommender``'s cache (cast, ``np.save``, memory-map)."""
    catalog, _ = _catalog(spec, 1)
    items = _vectors(spec, "sample", len(catalog), SEED + 2)  # what the encoder would return, before the clock
    base = memory()["rss"]
    start = time.perf_counter()
    rec = _dense(spec, dtype, StandIn(items, {}))
    rec.index(catalog)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "base": base, "peak": memory()["peak"], "disk": rec.embeddings.nbytes / GIB}


def phase_dense_serve(spec: dict, dtype: str) -> dict:
    """Memory-map the stored embeddings and search in chunks of each size; the peer scores the whole float32 matrix
    held in RAM with one matmul per batch."""
    from recgym.recommenders.base import top_k

    catalog, queries = _catalog(spec, spec["dense_queries"])
    vectors = _vectors(spec, "queries", len(queries), SEED + 3)
    stand_in = StandIn(None, dict(zip(queries, vectors)))
    before = memory()
    start = time.perf_counter()
    rec = _dense(spec, dtype, stand_in)
    rec.index(catalog)  # a cache hit: memory-maps embeddings.npy
    out: dict = {"load_s": time.perf_counter() - start, "base": before["rss"]}
    out["load_anon"] = memory()["anon"] - before["anon"]
    batches = batched(queries, spec["batch"])
    runs: dict[str, Callable[[], None]] = {}

    def run(chunk: int) -> None:
        rec.chunk_size = chunk
        for batch in batches:
            rec.search(batch, spec["k"])

    for chunk in spec["chunks"]:
        runs[str(chunk)] = lambda chunk=chunk: run(chunk)
        reset_peak()
        runs[str(chunk)]()  # one pass alone for its memory (and as the warm-up)
        after = memory()
        out[f"peak_{chunk}"] = after["peak"]
        out[f"file_{chunk}"] = after["file"] - before["file"]
    full = np.array(rec.embeddings, dtype=np.float32)  # the peer: all of it in RAM, as float32

    def peer() -> None:
        for batch in batches:
            top_k(stand_in.encode(batch) @ full.T, spec["k"])

    reset_peak()
    peer()  # (its warm-up)
    out.update(peak_peer=memory()["peak"], file_peer=memory()["file"] - before["file"])
    rates = best_rates({**runs, "peer": peer}, len(queries), spec["repeats"], warm=False)
    out.update({f"qps_{name}": rate for name, rate in rates.items()})
    out.update({f"vs_peer_{name}": rate / rates["peer"] for name, rate in rates.items()})
    rec.chunk_size = spec["chunks"][0]
    ours, theirs = rec.search(batches[0], spec["k"])[0], top_k(stand_in.encode(batches[0]) @ full.T, spec["k"])[0]
    out["same_top_k"] = float(np.mean([(a == b).all() for a, b in zip(ours, theirs)]))
    return out


PHASES: dict[str, Callable[[dict], dict]] = {
    "bm25-index-recgym": lambda s: phase_bm25_index(s, "recgym"),
    "bm25-index-raw": lambda s: phase_bm25_index(s, "raw"),
    "bm25-serve-mmap": lambda s: phase_bm25_serve(s, True),
    "bm25-serve-ram": lambda s: phase_bm25_serve(s, False),
    "dense-encode": phase_dense_encode,
    "dense-index-float16": lambda s: phase_dense_index(s, "float16"),
    "dense-index-float32": lambda s: phase_dense_index(s, "float32"),
    "dense-serve-float16": lambda s: phase_dense_serve(s, "float16"),
    "dense-serve-float32": lambda s: phase_dense_serve(s, "float32"),
}


# ---- driver ------------------------------------------------------------------------------------------------------


def run_phase(name: str, spec: dict) -> dict:
    """One phase in a fresh interpreter (clean RSS and peak); its result is the last line it prints."""
    env = {**os.environ, "RECGYM_CACHE": spec["cache"]}
    if name == "dense-encode":  # torch: one thread (a shared 2-core machine), set before torch starts
        env["OMP_NUM_THREADS"] = str(spec["torch_threads"])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name, "--spec", json.dumps(spec)]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode:
        raise RuntimeError(f"phase {name} failed (exit {proc.returncode}); its stderr is above")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cells(x: dict, *keys: str) -> list[str]:
    """``x``'s values formatted, one ``"key"`` (GiB, 2 decimals) or ``"key:format"`` each."""
    return [format(x[key], spec or ".2f") for key, _, spec in (k.partition(":") for k in keys)]


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(map(len, column)) for column in zip(header, *rows)]
    print(f"\n{title}")
    for row in (header, *rows):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))


def report(spec: dict, r: dict) -> None:
    n = spec["num_items"]
    print(
        f"\n{n:,} synthetic items (titles); BM25 {spec['analyzer']} analyzer; depth k={spec['k']}; batches of "
        f"{spec['batch']}; q/s best of {spec['repeats']}; memory in GiB: peak = the phase process's VmHWM, base = "
        "its RSS holding the catalog, +anon / +file = heap / memory-mapped pages (droppable) over base"
    )
    index = [
        [name, *cells(r[f"bm25-index-{impl}"], "seconds:.1f", "peak", "base", "disk:.3f")]
        for name, impl in (("recgym BM25Recommender", "recgym"), ("raw bm25s", "raw"))
    ]
    table("BM25 index (build + save)", ["", "seconds", "peak", "base", "on disk"], index)
    ri, rr = r["bm25-index-recgym"], r["bm25-index-raw"]
    print(f"  ratio recgym / raw: time {ri['seconds'] / rr['seconds']:.2f}x, peak {ri['peak'] / rr['peak']:.2f}x")
    keys = "load_s:.1f load_anon load_file served_anon served_file peak qps_recgym:,.0f qps_raw:,.0f ratio:.2f"
    rows = [[f"mmap={m}", *cells(r[f"bm25-serve-{p}"], *keys.split())] for m, p in ((True, "mmap"), (False, "ram"))]
    header = ",load s,+anon,+file,+anon after,+file after,peak,recgym q/s,raw q/s,recgym / raw".split(",")
    table(f"BM25 serve: load the cached index, then {spec['queries']:,} queries", header, rows)
    if "dense-encode" in r:
        rate = r["dense-encode"]["sample_per_s"]
        print(
            f"\nDense encoder all-MiniLM-L6-v2, {spec['torch_threads']} torch thread(s): {rate:,.0f} titles/s "
            f"({spec['encode_sample']:,}-title sample), {r['dense-encode']['queries_per_s']:,.0f} queries/s; "
            f"encoding all {n:,} titles EXTRAPOLATED (not run): {n / rate / 60:,.1f} min"
        )
    if "dense-index-float16" not in r:
        return
    rows = [
        [dtype, *cells(r[f"dense-index-{dtype}"], "seconds:.1f", "peak", "base", "disk:.3f")]
        for dtype in ("float16", "float32")
    ]
    table("Dense store (cast, np.save, memory-map; no encoding)", ["", "seconds", "peak", "base", "on disk"], rows)
    rows = []
    for dtype in ("float16", "float32"):
        x = r[f"dense-serve-{dtype}"]
        rows += [
            [dtype, f"{c:,}", *cells(x, f"qps_{c}:,.1f", f"vs_peer_{c}:.2f", f"peak_{c}", f"file_{c}")]
            for c in spec["chunks"]
        ]
        same = f"same top-{spec['k']}: {x['same_top_k']:.0%}"
        rows.append([dtype, "peer", *cells(x, "qps_peer:,.1f"), same, *cells(x, "peak_peer", "file_peer")])
    title = f"Dense search, {spec['dense_queries']:,} queries; peer: the float32 matrix in RAM, one matmul a batch"
    table(title, ["", "chunk", "q/s", "vs peer", "peak", "+file"], rows)


def main(argv: Sequence[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-items", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1000, help="BM25 queries (3-8 words each)")
    ap.add_argument("--dense-queries", type=int, default=256, help="dense queries (each batch scans every item)")
    ap.add_argument("--batch", type=int, default=64, help="queries per search call (a vector-env step)")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chunks", default="16384,65536,262144", help="DenseRecommender chunk sizes to compare")
    ap.add_argument("--encode-sample", type=int, default=1000, help="titles to time the encoder on; 0: skip it")
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--analyzer", choices=["bm25s", "lucene"], default="bm25s", help="BM25 tokens (see above)")
    ap.add_argument("--skip-dense", action="store_true")
    ap.add_argument("--cache-dir", default=None, help="recgym cache + work files (default: a temp dir, deleted)")
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:  # inside a phase process
        print(json.dumps(PHASES[args.phase](json.loads(args.spec))))
        return {}
    root = Path(args.cache_dir or tempfile.mkdtemp(prefix="recgym-large-catalog-"))
    (root / "work").mkdir(parents=True, exist_ok=True)
    spec = {key: value for key, value in vars(args).items() if key not in ("phase", "spec", "cache_dir")}
    spec.update(cache=str(root / "cache"), work=str(root / "work"), chunks=[int(c) for c in args.chunks.split(",")])
    names = [p for p in PHASES if p.startswith("bm25")]
    if not args.skip_dense:
        names += [p for p in PHASES if p.startswith("dense") and (args.encode_sample or p != "dense-encode")]
    results: dict[str, dict] = {}
    try:
        for name in names:
            start = time.perf_counter()
            results[name] = run_phase(name, spec)
            print(f"[{name}: {time.perf_counter() - start:.0f} s]", file=sys.stderr, flush=True)
    finally:
        if args.cache_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    report(spec, results)
    return results


if __name__ == "__main__":
    main()
