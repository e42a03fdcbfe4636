"""BM25 over catalog text with bm25s: sparse, batched, multi-threaded, cached on disk."""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from pathlib import Path

import bm25s
import numpy as np
from bm25s.tokenization import Tokenizer

from recgym.data.types import Catalog
from recgym.recommenders.base import PAD, check_search_args, empty_results
from recgym.recommenders.cache import cached_dir, invalidate, settings_key
from recgym.recommenders.lucene_analyzer import lucene_analyze

log = logging.getLogger(__name__)
ANALYZERS = ("bm25s", "lucene")
TIE_ORDERS = ("position", "item_id", "bm25s")


def _stemmer(name: str | None):
    if name is None:
        return None
    import Stemmer  # PyStemmer: Snowball stemmers; only needed when stemming is asked for

    return Stemmer.Stemmer(name).stemWords


def lucene_norm_lengths(lengths: np.ndarray) -> np.ndarray:
    """Document lengths as Lucene 9 stores them: one byte each (``SmallFloat.intToByte4``), decoded back
    (``byte4ToInt``): exact up to 39, then the excess over 24 keeps its 4 most significant bits (41 -> 40)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    excess = np.maximum(lengths - 24, 0)  # 24 = SmallFloat.NUM_FREE_VALUES, the lengths stored as they are
    shift = np.maximum(np.frexp(excess.astype(np.float64))[1] - 4, 0)
    return np.where(lengths < 24, lengths, 24 + ((excess >> shift) << shift))


class _LuceneNormsBM25(bm25s.BM25):
    """bm25s with Lucene 9's BM25 statistics: quantised document lengths, ``docCount`` and average length over
    documents with at least one term, and Lucene's float32 arithmetic for each term's score (bit-identical to
    Lucene's; summed in float64 at query time and rounded to float32, which matches Lucene's sum to one ulp)."""

    def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True, leave_progress=False):
        self.nonoccurrence_array = None  # (only BM25L/BM25+ have one)
        n_docs, n_vocab = len(corpus_token_ids), max(unique_token_ids, default=-1) + 1
        lengths = np.fromiter(map(len, corpus_token_ids), np.int64, n_docs)
        doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        tok = np.fromiter(chain.from_iterable(corpus_token_ids), np.int64, int(lengths.sum()))
        pairs, tf = np.unique(tok * max(n_docs, 1) + doc, return_counts=True)  # token-major, as CSC wants
        tok, doc = np.divmod(pairs, max(n_docs, 1))
        df = np.bincount(tok, minlength=n_vocab)
        doc_count = int((lengths > 0).sum())
        f32 = np.float32
        idf = np.log(1 + (doc_count - df + 0.5) / (df + 0.5)).astype(f32)
        avgdl = f32(lengths.sum() / max(doc_count, 1))
        k1, b, one = f32(self.k1), f32(self.b), f32(1)
        inv_norm = one / (k1 * ((one - b) + b * lucene_norm_lengths(lengths).astype(f32) / avgdl))
        weight = idf[tok]  # Lucene's BM25Scorer: weight - weight / (1 + freq * (1 / norm)), in float32
        data = weight - weight / (f32(1) + tf.astype(f32) * inv_norm[doc])
        indptr = np.concatenate([[0], np.cumsum(df)])
        return {"data": data.astype(self.dtype), "indices": doc.astype(np.int32), "indptr": indptr, "num_docs": n_docs}


class BM25Recommender:
    """Okapi BM25 (bm25s, Lucene's IDF/TF variant) over one or more catalog text fields.

    Args:
        k1: Term-frequency saturation (Rec-R1's pyserini setting: 1.2).
        b: Document-length normalisation (Rec-R1: 0.75).
        stopwords: ``"en"`` (English list), a list of words, or None (``analyzer="bm25s"`` only).
        stemmer: A PyStemmer/Snowball algorithm name such as ``"english"``, or None (``analyzer="bm25s"`` only).
        text_fields: Catalog fields joined into each document (default: the title).
        n_threads: Threads for batched retrieval; 0 = one thread, -1 = all cores.
        cache: Save the index under the recgym cache keyed by catalog fingerprint + these settings and reload it
            next time instead of re-indexing.
        mmap: Memory-map a cached index instead of reading it into RAM (for very large catalogs).
        analyzer: ``"bm25s"``: bm25s's tokenizer (words of 2+ characters, lowercased, ``stopwords``, ``stemmer``);
            ``"lucene"``: Lucene's English analyzer, as pyserini (Rec-R1's retriever) indexes and searches
            (:mod:`recgym.recommenders.lucene_analyzer`; ``stopwords`` and ``stemmer`` are then unused).
        lucene_norms: Score with Lucene's index statistics instead of exact ones: document lengths stored in one
            byte (lossy above 39 terms), document count and average length over documents with at least one term,
            float32 term scores. With ``analyzer="lucene"`` this reproduces pyserini's BM25 scores.
        tie_order: How items with equal scores are ordered (it decides which of them make the top ``k``):
            ``"position"`` (default): by catalog position, deterministic;
            ``"item_id"``: by item id, as pyserini's ``LuceneSearcher`` does (Anserini sorts hits by score, then by
            docid; the real-data ids use it for Lucene parity);
            ``"bm25s"``: bm25s's own ``retrieve``, whose order among ties is arbitrary: the default until
            2026-12-01, to reproduce numbers measured then (docs/results.md says which moved). The first two select
            over the matched items only (~13x faster at 1M items); ``"bm25s"`` partitions all N scores.
        pyserini_order: Deprecated: ``True`` is ``tie_order="item_id"``.
    """

    def __init__(
        self,
        k1: float = 1.2,
        b: float = 0.75,
        stopwords: str | Sequence[str] | None = "en",
        stemmer: str | None = None,
        text_fields: Sequence[str] = ("title",),
        n_threads: int = -1,
        cache: bool = True,
        mmap: bool = False,
        analyzer: str = "bm25s",
        lucene_norms: bool = False,
        tie_order: str = "position",
        pyserini_order: bool | None = None,
    ) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        if analyzer not in ANALYZERS:
            raise ValueError(f"unknown analyzer {analyzer!r}; choose from {ANALYZERS}")
        if pyserini_order is not None:
            warnings.warn("BM25Recommender(pyserini_order=...) is deprecated; use tie_order='item_id'",
                          DeprecationWarning, stacklevel=2)
            tie_order = "item_id" if pyserini_order else "bm25s"
        if tie_order not in TIE_ORDERS:
            raise ValueError(f"unknown tie_order {tie_order!r}; choose from {TIE_ORDERS}")
        self.analyzer, self.lucene_norms, self.tie_order = analyzer, bool(lucene_norms), tie_order
        self.k1, self.b = float(k1), float(b)
        self.stopwords = stopwords if stopwords is None or isinstance(stopwords, str) else list(stopwords)
        self.stemmer = stemmer
        self.text_fields = tuple(text_fields)
        self.n_threads = n_threads
        self.cache, self.mmap = cache, mmap
        self._retriever: bm25s.BM25 | None = None
        self._tokenizer: Tokenizer | None = None
        self._num_docs = 0
        self._tie_rank = np.zeros(0, dtype=np.int64)  # item position -> its rank among ties

    def settings(self) -> dict:
        lucene = self.analyzer == "lucene"
        return {
            "k1": self.k1,
            "b": self.b,
            "stopwords": None if lucene else self.stopwords,
            "stemmer": None if lucene else self.stemmer,
            "text_fields": self.text_fields,
            "analyzer": self.analyzer,
            "lucene_norms": self.lucene_norms,
            "bm25s": bm25s.__version__,
            "format": 2,  # 2: token ids indexed with their vocabulary (indexes of format 1 broke on an empty 1st title)
        }

    def _new_tokenizer(self) -> Tokenizer:
        if self.analyzer == "lucene":  # the analyzer lowercases (per code point, as Java does) and stems itself
            return Tokenizer(lower=False, splitter=lucene_analyze, stopwords=[], stemmer=None)
        return Tokenizer(stopwords=self.stopwords or [], stemmer=_stemmer(self.stemmer))

    def _build(self, texts: list[str], out: Path | None) -> None:
        tokenizer = self._new_tokenizer()
        ids = tokenizer.tokenize(texts, update_vocab=True, return_as="ids", show_progress=False)
        # bm25s's Tokenizer gives a document with no words an empty-string token; it must count as length 0 (as in
        # Lucene and bm25s.tokenize), or it shifts the average document length and every score
        vocab = tokenizer.get_vocab_dict()
        empty = vocab.get("")
        ids = [[t for t in doc if t != empty] if empty in doc else doc for doc in ids]
        if self.lucene_norms:
            retriever = _LuceneNormsBM25(k1=self.k1, b=self.b, dtype="float64")
        else:
            retriever = bm25s.BM25(k1=self.k1, b=self.b)
        # ids with their vocabulary: given bare id lists, bm25s guesses their kind from the first document, and an
        # empty first document made it read the ids as words and renumber them, so queries hit the wrong terms
        retriever.index((ids, dict(vocab)), show_progress=False)
        if out is not None:
            retriever.save(str(out), show_progress=False)
            tokenizer.save_vocab(str(out))
            (out / "recgym.json").write_text(json.dumps({"num_docs": len(texts), **self.settings()}))
        self._retriever, self._tokenizer = retriever, tokenizer

    def index(self, catalog: Catalog) -> None:
        """Index ``catalog`` (or load its cached index)."""
        texts = catalog.texts(self.text_fields)
        self._num_docs = len(texts)
        if self.tie_order == "item_id":  # each item id's rank in string order
            self._tie_rank = np.argsort(np.argsort(np.array(catalog.item_ids, dtype=object), kind="stable"))
        else:
            self._tie_rank = np.arange(self._num_docs)
        if not self.cache:
            self._build(texts, None)
            return
        key = settings_key("bm25", catalog.fingerprint(self.text_fields), self.settings())
        built_now = False

        def build(tmp: Path) -> None:
            nonlocal built_now
            self._build(texts, tmp)
            built_now = True

        path = cached_dir(key, build)
        if built_now:
            return
        try:
            self._load(path)
        except Exception as err:  # a same-size corruption the size check cannot see: rebuild rather than fail forever
            log.warning("rebuilding the BM25 cache %s, which does not load (%s: %s)", path, type(err).__name__, err)
            invalidate(path)
            path = cached_dir(key, build)
            if not built_now:  # another process rebuilt it meanwhile, and cached_dir returned theirs
                self._load(path)

    def _load(self, path: Path) -> None:
        self._retriever = bm25s.BM25.load(str(path), mmap=self.mmap, show_progress=False)
        self._tokenizer = self._new_tokenizer()
        self._tokenizer.load_vocab(str(path))

    @property
    def backend(self) -> tuple[bm25s.BM25, Tokenizer]:
        """The loaded bm25s index and its tokenizer: what ``search`` runs on, for benchmarks timing bm25s alone."""
        if self._retriever is None or self._tokenizer is None:
            raise RuntimeError("call index(catalog) first")
        return self._retriever, self._tokenizer

    def tokenize_queries(self, queries: Sequence[str]) -> list[list[int]]:
        """Vocabulary ids of each query; words the catalog never uses (and stopwords) are dropped."""
        if self._tokenizer is None:
            raise RuntimeError("call index(catalog) before search()")
        ids = self._tokenizer.tokenize(list(queries), update_vocab=False, return_as="ids", show_progress=False)
        # bm25s maps unknown words and empty documents to the empty-string token; it must never match anything
        empty = self._tokenizer.get_vocab_dict().get("")
        return [[t for t in q if t != empty] for q in ids]

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        check_search_args(queries, k)
        positions, scores = empty_results(len(queries), k)
        token_ids = self.tokenize_queries(queries)
        rows = [i for i, q in enumerate(token_ids) if q]
        if not rows or self._num_docs == 0:
            return positions, scores
        k_eff = min(k, self._num_docs)
        queries = [token_ids[i] for i in rows]
        if self.tie_order != "bm25s":
            top, top_scores = self._top_k_matched(queries, k_eff)
        else:  # bm25s's own top-k, arbitrary among equal scores (numbers measured before tie_order existed)
            top, top_scores = self._retriever.retrieve(  # type: ignore[union-attr]
                queries, k=k_eff, show_progress=False, n_threads=self.n_threads
            )
            top_scores = top_scores.astype(np.float32)  # (lucene_norms sums in float64; Lucene returns floats)
            # BM25 ranks only items sharing a term with the query; zero-score fillers are not results
            top, top_scores = np.where(top_scores > 0, top, PAD), np.where(top_scores > 0, top_scores, -np.inf)
        positions[rows, :k_eff] = top
        scores[rows, :k_eff] = top_scores
        return positions, scores

    def _top_k_matched(self, queries: list[list[int]], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each query's ``k`` best items with a score > 0 (``PAD`` / ``-inf`` after them), ties in ``tie_order``
        (by item id this is pyserini's order: Anserini sorts hits by score, then docid).

        The scores are bm25s's (``get_scores_from_ids``: its sums, in its dtype, rounded to float32 as Lucene returns
        them); the selection is ours, over the matched items only, and keeps the k-th score's whole tie group so the
        tie order decides the cut. bm25s's ``retrieve`` partitions all N scores, nearly all zero, where numpy's
        introselect is slow (at 1M items ~20 queries/s, ~13x slower than this), and its order among ties is arbitrary.
        """
        positions, scores = empty_results(len(queries), k)

        def one(i: int) -> None:
            all_scores = self._retriever.get_scores_from_ids(queries[i])  # type: ignore[union-attr]
            hits = np.flatnonzero(all_scores > 0)
            best = all_scores[hits].astype(np.float32)
            if len(hits) > k:
                cut = np.partition(best, len(best) - k)[len(best) - k]
                hits, best = hits[best >= cut], best[best >= cut]
            order = np.lexsort((self._tie_rank[hits], -best))[:k]
            positions[i, : len(order)], scores[i, : len(order)] = hits[order], best[order]

        n_threads = (os.cpu_count() or 1) if self.n_threads == -1 else self.n_threads
        if n_threads > 1 and len(queries) > 1:  # numpy releases the GIL for most of the work
            with ThreadPoolExecutor(n_threads) as pool:
                list(pool.map(one, range(len(queries))))
        else:
            for i in range(len(queries)):
                one(i)
        return positions, scores
