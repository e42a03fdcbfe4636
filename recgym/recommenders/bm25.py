"""BM25 over catalog text with bm25s: sparse, batched, multi-threaded, cached on disk."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
from bm25s.tokenization import Tokenizer

from recgym.data.types import Catalog
from recgym.recommenders.base import PAD, check_search_args, empty_results
from recgym.recommenders.cache import cached_dir, settings_key


def _stemmer(name: str | None):
    if name is None:
        return None
    import Stemmer  # PyStemmer: Snowball stemmers; only needed when stemming is asked for

    return Stemmer.Stemmer(name).stemWords


class BM25Recommender:
    """Okapi BM25 (bm25s, Lucene's IDF/TF variant) over one or more catalog text fields.

    Args:
        k1: Term-frequency saturation (Rec-R1's pyserini setting: 1.2).
        b: Document-length normalisation (Rec-R1: 0.75).
        stopwords: ``"en"`` (English list), a list of words, or None.
        stemmer: A PyStemmer/Snowball algorithm name such as ``"english"``, or None (no stemming).
        text_fields: Catalog fields joined into each document (default: the title).
        n_threads: Threads for batched retrieval; 0 = one thread, -1 = all cores.
        cache: Save the index under the recgym cache keyed by catalog fingerprint + these settings and reload it
            next time instead of re-indexing.
        mmap: Memory-map a cached index instead of reading it into RAM (for very large catalogs).
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
    ) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1, self.b = float(k1), float(b)
        self.stopwords = stopwords if stopwords is None or isinstance(stopwords, str) else list(stopwords)
        self.stemmer = stemmer
        self.text_fields = tuple(text_fields)
        self.n_threads = n_threads
        self.cache, self.mmap = cache, mmap
        self._retriever: bm25s.BM25 | None = None
        self._tokenizer: Tokenizer | None = None
        self._num_docs = 0

    def settings(self) -> dict:
        return {"k1": self.k1, "b": self.b, "stopwords": self.stopwords, "stemmer": self.stemmer,
                "text_fields": self.text_fields, "bm25s": bm25s.__version__}

    def _new_tokenizer(self) -> Tokenizer:
        return Tokenizer(stopwords=self.stopwords or [], stemmer=_stemmer(self.stemmer))

    def _build(self, texts: list[str], out: Path | None) -> None:
        tokenizer = self._new_tokenizer()
        ids = tokenizer.tokenize(texts, update_vocab=True, return_as="ids", show_progress=False)
        # bm25s's Tokenizer gives a document with no words an empty-string token; it must count as length 0 (as in
        # Lucene and bm25s.tokenize), or it shifts the average document length and every score
        empty = tokenizer.get_vocab_dict().get("")
        ids = [[t for t in doc if t != empty] for doc in ids]
        retriever = bm25s.BM25(k1=self.k1, b=self.b)
        retriever.index(ids, show_progress=False)
        if out is not None:
            retriever.save(str(out), show_progress=False)
            tokenizer.save_vocab(str(out))
            (out / "recgym.json").write_text(json.dumps({"num_docs": len(texts), **self.settings()}))
        self._retriever, self._tokenizer = retriever, tokenizer

    def index(self, catalog: Catalog) -> None:
        """Index ``catalog`` (or load its cached index)."""
        texts = catalog.texts(self.text_fields)
        self._num_docs = len(texts)
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
        if not built_now:
            self._retriever = bm25s.BM25.load(str(path), mmap=self.mmap, show_progress=False)
            self._tokenizer = self._new_tokenizer()
            self._tokenizer.load_vocab(str(path))

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
        docs, doc_scores = self._retriever.retrieve(  # type: ignore[union-attr]
            [token_ids[i] for i in rows], k=k_eff, show_progress=False, n_threads=self.n_threads
        )
        # BM25 ranks only items sharing a term with the query; zero-score fillers are not results
        matched = doc_scores > 0
        positions[rows, :k_eff] = np.where(matched, docs, PAD)
        scores[rows, :k_eff] = np.where(matched, doc_scores, -np.inf)
        return positions, scores
