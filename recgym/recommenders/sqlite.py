"""BM25 by a database engine: SQLite's FTS5 full-text index and its ``bm25()`` ranking (standard-library sqlite3,
embedded, nothing to set up).

A second, independent BM25 beside bm25s (``benchmarks/engines.py`` compares their rankings; docs/engines.md). The
tokenisation is bm25s's where FTS5 allows it: documents and queries are cut into recgym's BM25 terms (words of 2+
characters, lower-cased, English stopwords dropped) before FTS5 sees them, and FTS5's ``unicode61``
tokenizer then keeps those terms whole (``_`` is a token character, diacritics kept). What stays FTS5's own is the IDF,
``log((N - n + 0.5) / (n + 0.5))`` floored at 1e-6, where bm25s (Lucene's variant) takes ``log(1 + ...)``: a term in
half the catalog or more counts for almost nothing. The rest is the same BM25 (k1 = 1.2, b = 0.75, fixed in FTS5;
the ``(k1 + 1)`` numerator; document length over the average). Scores are FTS5's ``-bm25()`` (FTS5 reports better
matches as more negative); ties go to the lower catalog position.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from bm25s.tokenization import Tokenizer

from recgym.data.types import Catalog
from recgym.recommenders.base import check_search_args, empty_results

_SCHEMA = "CREATE VIRTUAL TABLE docs USING fts5(body, tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
# FTS5 ranks better matches with more negative bm25(); ties by rowid (= catalog position + 1) keep runs repeatable
_QUERY = "SELECT rowid - 1, -bm25(docs) AS score FROM docs WHERE docs MATCH ? ORDER BY score DESC, rowid LIMIT ?"


def fts5_available() -> bool:
    """Whether this Python's SQLite was built with FTS5 (CPython's official builds are)."""
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    except sqlite3.OperationalError:
        return False
    return True


# BM25Recommender's default tokenizer, whose word pattern and stopword list bm25_terms applies
_BM25S = Tokenizer(stopwords="en")
_STOPWORDS = frozenset(_BM25S.stopwords)


def bm25_terms(text: str) -> list[str]:
    """recgym's BM25 terms of ``text`` (BM25Recommender's default tokenizer, bm25s's): lower-cased words of 2+
    characters, no English stopwords."""
    return [w for w in _BM25S.splitter(text.lower()) if w not in _STOPWORDS]


class SQLiteRecommender:
    """SQLite FTS5 ``bm25()`` over catalog text fields.

    Args:
        text_fields: Catalog fields joined into each document (default: the title).
        path: Database file to keep the index in (rebuilt when it holds another catalog); None: in memory.
    """

    def __init__(self, text_fields: Sequence[str] = ("title",), path: str | Path | None = None) -> None:
        self.text_fields = tuple(text_fields)
        self.path = None if path is None else Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one connection, shared by the threads of a server

    def settings(self) -> dict:
        return {"engine": "sqlite-fts5", "sqlite": sqlite3.sqlite_version, "text_fields": self.text_fields,
                "k1": 1.2, "b": 0.75, "tokenizer": "recgym bm25 terms"}  # fmt: skip

    def index(self, catalog: Catalog) -> None:
        """Index ``catalog`` (or reuse the database file's index of the same catalog)."""
        if not fts5_available():
            raise RuntimeError(f"this Python's SQLite {sqlite3.sqlite_version} has no FTS5; use recommender='bm25'")
        key = f"{catalog.fingerprint(self.text_fields)}:{self.settings()}"
        db = sqlite3.connect(":memory:" if self.path is None else str(self.path), check_same_thread=False)
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT)")
        if db.execute("SELECT key FROM meta").fetchall() != [(key,)]:
            with db:  # one transaction: a crash leaves the old index or none, never half of one
                db.execute("DROP TABLE IF EXISTS docs")
                db.execute("DELETE FROM meta")
                db.execute(_SCHEMA)
                texts = catalog.texts(self.text_fields)
                db.executemany("INSERT INTO docs(rowid, body) VALUES (?, ?)",
                               ((i + 1, " ".join(bm25_terms(t))) for i, t in enumerate(texts)))  # fmt: skip
                db.execute("INSERT INTO meta VALUES (?)", (key,))
        if self._db is not None:
            self._db.close()
        self._db = db

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        check_search_args(queries, k)
        if self._db is None:
            raise RuntimeError("call index(catalog) before search()")
        positions, scores = empty_results(len(queries), k)
        with self._lock:
            for i, query in enumerate(queries):
                terms = bm25_terms(query)
                if not terms:
                    continue  # all stopwords / no words: no results, as BM25Recommender
                # each term quoted: a word such as "and", "near" or "not" must not read as an FTS5 operator
                match = " OR ".join(f'"{t}"' for t in terms)
                rows = self._db.execute(_QUERY, (match, k)).fetchall()
                if rows:
                    positions[i, : len(rows)], scores[i, : len(rows)] = zip(*rows)
        return positions, scores

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
