"""PostgreSQL full-text search as the black box: a GIN-indexed ``tsvector`` column ranked by ``ts_rank_cd``.

A production-style database engine behind an env (docs/engines.md): the catalog goes into a table of a PostgreSQL
server you run, and every ``search`` batch is ONE SQL statement (the queries travel as one ``text[]``; ``unnest ...
WITH ORDINALITY`` and a ``LATERAL`` top-k rank them all on the server), so a GRPO step's G x prompts rewrites cost
one round trip, as with ``RemoteRecommender``.

**Not BM25.** ``ts_rank_cd`` is cover density ranking: it scores a document by the spans ("covers") holding the
query's lexemes, shorter spans and more of them counting more, with no inverse document frequency at all (a word in
every title counts as much as a rare one) and no saturation of term frequency. Length is normalised by
``normalization`` (PostgreSQL's flags; default 1: divide by 1 + log(document length)). Expect rankings that differ
from bm25s's and SQLite FTS5's more than those two differ from each other (measured in docs/engines.md).

Text: documents and queries go through the same text search configuration (``config``, default ``'english'``:
PostgreSQL's parser, English stopwords, Snowball stemming). A query becomes the OR of its distinct lexemes, as
BM25-style engines match any query term: ``plainto_tsquery`` / ``websearch_to_tsquery`` AND the terms, so a
shopper's five-word request would only match titles holding all five (recall collapses on long or rewritten
queries). The OR is built on the server from ``to_tsvector(config, query)``'s lexemes, each quoted, so no query
text is ever parsed as tsquery syntax (``!``, ``&``, ``:*``, quotes are plain characters). A query with no lexemes
(empty, punctuation, stopwords only) matches nothing: an all-``PAD`` row, as every recgym recommender. Ties go to
the lower catalog position.

Indexing is idempotent: the table is named after a hash of the catalog (ids and text fields) and the settings
(the server version included: another stemmer version re-indexes), so re-using a server finds its index (no
re-indexing) and two catalogs never share a table. The table is built in one transaction under an advisory lock
(two processes indexing the same catalog build it once; a crash leaves none).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from recgym.data.types import Catalog
from recgym.recommenders.base import check_search_args, empty_results
from recgym.recommenders.remote import RecommenderUnavailable

DSN_ENV = "RECGYM_POSTGRES_DSN"
"""Environment variable read for the DSN when none is passed (how ``RecR1/Shop-Postgres-v0`` finds its server)."""

# Each lexeme quoted for the tsquery input syntax (backslash and quote doubled) and OR-ed; the cast takes lexemes as
# they are (no second normalisation). No lexemes: string_agg is NULL, `body @@ NULL` is never true, the row is empty.
_OR_OF_LEXEMES = (
    "(SELECT string_agg('''' || replace(replace(t.lexeme, '\\', '\\\\'), '''', '''''') || '''', ' | ')"
    " FROM unnest(to_tsvector(%(config)s::regconfig, u.text)) AS t)::tsquery"
)
_SEARCH = (
    "SELECT q.i - 1, d.pos, d.score"
    f" FROM (SELECT u.i, {_OR_OF_LEXEMES} AS tsq FROM unnest(%(queries)s::text[]) WITH ORDINALITY AS u(text, i)) q"
    " CROSS JOIN LATERAL (SELECT pos, ts_rank_cd(body, q.tsq, %(norm)s) AS score FROM {table}"
    "  WHERE body @@ q.tsq ORDER BY score DESC, pos LIMIT %(k)s) d"
    " ORDER BY q.i, d.score DESC, d.pos"  # row order is only what the outermost ORDER BY says
)


def _psycopg():
    try:
        import psycopg
    except ImportError as err:  # an optional extra: say which
        raise ImportError("PostgresRecommender needs psycopg 3: pip install 'recgym[postgres]'") from err
    return psycopg


def redact_dsn(dsn: str) -> str:
    """``dsn`` without its password (for messages): key=value form, whatever form it came in."""
    psycopg = _psycopg()
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"  # libpq's message may quote the string, password and all
    params.pop("password", None)
    return psycopg.conninfo.make_conninfo(**params)


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL, and a lone surrogate is not UTF-8: a policy can write either
    return text.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8")


class PostgresRecommender:
    """PostgreSQL full-text search (``ts_rank_cd`` over a GIN-indexed ``tsvector``; see the module docstring).

    Args:
        dsn: libpq connection string or URL (``"postgresql://user@127.0.0.1:5432/db"``); None: the
            ``RECGYM_POSTGRES_DSN`` environment variable. The user needs CREATE on the default schema.
        text_fields: Catalog fields joined into each document (default: the title).
        config: Text search configuration for documents and queries.
        normalization: ``ts_rank_cd``'s length normalisation flags (0: none, 1: 1 + log(length), 2: length, ...).
        connect_timeout: Seconds to wait for the server before :class:`RecommenderUnavailable`.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        text_fields: Sequence[str] = ("title",),
        config: str = "english",
        normalization: int = 1,
        connect_timeout: int = 10,
    ) -> None:
        dsn = dsn if dsn is not None else os.environ.get(DSN_ENV)
        if not dsn:
            raise ValueError(
                f"PostgresRecommender needs a server: pass dsn='postgresql://USER@HOST:PORT/DB' (recommender_kwargs="
                f"{{'dsn': ...}}) or set {DSN_ENV}"
            )
        _psycopg()  # fail now, naming the extra, rather than at index()
        self.dsn, self.text_fields, self.config = dsn, tuple(text_fields), config
        self.normalization, self.connect_timeout = int(normalization), int(connect_timeout)
        self.table: str | None = None
        self.reused = False  # whether index() found the catalog's table already built
        self.statements = 0  # SQL statements sent by search(): one per batch
        self._conn: Any = None
        self._table: Any = None  # the index table's psycopg sql.Identifier
        self._server = ""
        self._lock = threading.Lock()  # one connection, shared by the threads of a server

    def settings(self) -> dict[str, Any]:
        return {"engine": "postgres-ts_rank_cd", "server": self._server, "config": self.config,
                "normalization": self.normalization, "text_fields": self.text_fields}  # fmt: skip

    def index(self, catalog: Catalog) -> None:
        """Build the catalog's table and GIN index on the server, or find them built."""
        from psycopg import sql

        self._connect()
        settings = json.dumps(self.settings(), sort_keys=True)
        key = hashlib.sha256(f"{catalog.fingerprint(self.text_fields)}:{settings}".encode()).hexdigest()[:16]
        table = sql.Identifier(f"recgym_docs_{key}")
        with self._lock, self._conn.transaction():
            # the lock serialises concurrent indexers of this catalog; released at commit
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (int(key[:15], 16),))
            found = self._conn.execute("SELECT to_regclass(%s)", (table.as_string(self._conn),)).fetchone()[0]
            self.reused = found is not None
            if not self.reused:
                self._conn.execute(sql.SQL("CREATE TABLE {} (pos integer PRIMARY KEY, item_id text NOT NULL, "
                                           "body tsvector NOT NULL)").format(table))  # fmt: skip
                insert = sql.SQL("INSERT INTO {} VALUES (%s, %s, to_tsvector(%s::regconfig, %s))").format(table)
                docs = enumerate(zip(catalog.item_ids, catalog.texts(self.text_fields)))
                with self._conn.cursor() as cur:  # executemany pipelines the rows: no round trip per item
                    cur.executemany(
                        insert, [(i, _clean(item_id), self.config, _clean(text)) for i, (item_id, text) in docs]
                    )
                self._conn.execute(sql.SQL("CREATE INDEX ON {} USING gin (body)").format(table))
                self._conn.execute(sql.SQL("ANALYZE {}").format(table))
        self.table = table.as_string(self._conn)
        self._table = table

    def item_ids(self) -> list[str]:
        """The item ids stored in the index, in catalog order (what the server holds, for checks)."""
        from psycopg import sql

        if self.table is None:
            raise RuntimeError("call index(catalog) before item_ids()")
        with self._lock:
            query = sql.SQL("SELECT item_id FROM {} ORDER BY pos").format(self._table)
            return [r[0] for r in self._conn.execute(query).fetchall()]

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, scores)`` of ``(len(queries), k)`` from ONE SQL statement for the whole batch."""
        from psycopg import sql

        check_search_args(queries, k)
        if self.table is None:
            raise RuntimeError("call index(catalog) before search()")
        positions, scores = empty_results(len(queries), int(k))
        if not len(queries):
            return positions, scores
        params = {"queries": [_clean(q) for q in queries], "config": self.config, "norm": self.normalization,
                  "k": int(k)}  # fmt: skip
        rows = self._query(sql.SQL(_SEARCH).format(table=self._table), params)
        filled = np.zeros(len(queries), dtype=np.int64)
        for i, position, score in rows:  # grouped by query, best first
            positions[i, filled[i]], scores[i, filled[i]] = position, score
            filled[i] += 1
        return positions, scores

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ---------------------------------------------------------------------------------------------- internals
    def _connect(self) -> None:
        psycopg = _psycopg()
        self.close()
        try:
            self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=self.connect_timeout)
        except psycopg.OperationalError as err:
            raise RecommenderUnavailable(f"PostgreSQL {redact_dsn(self.dsn)}", 1, str(err).strip()) from None
        except psycopg.ProgrammingError:  # libpq's parse error may quote the DSN, password and all
            raise ValueError("the PostgreSQL DSN is not a valid libpq connection string or URL") from None
        self._server = self._conn.execute("SHOW server_version").fetchone()[0]

    def _query(self, statement: Any, params: dict) -> list[tuple]:
        """One statement's rows; a dropped connection (a restarted server) is reopened once before giving up."""
        psycopg = _psycopg()
        with self._lock:
            for attempt in (1, 2):
                try:
                    self.statements += 1
                    return self._conn.execute(statement, params).fetchall()
                except psycopg.OperationalError as err:
                    if attempt == 2 or not self._conn.closed:
                        raise RecommenderUnavailable(f"PostgreSQL {redact_dsn(self.dsn)}", attempt, str(err)) from None
                    self._connect()  # the server went away: it may be back
        raise AssertionError("unreachable")
