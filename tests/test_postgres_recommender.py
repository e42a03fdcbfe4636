"""PostgresRecommender against a REAL PostgreSQL server this module starts (initdb into a temp dir, loopback port):
a ranking checked by hand against ts_rank_cd's formula, ONE statement per batch (counted in the server's own
statement log), queries with no lexemes or tsquery syntax, ids round-trip and idempotent indexing, a server
restart mid-run, a clear quick error for a dead DSN, the registered env id (check_env), and the shop's raw-query
NDCG@100 beside bm25s's. Skipped, saying why, where the PostgreSQL binaries or psycopg are missing."""

from __future__ import annotations

import glob
import math
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

pytest.importorskip("psycopg", reason="psycopg is missing: the postgres extra (pip install -e '.[postgres]')")

import psycopg  # noqa: E402

import recgym  # noqa: E402, F401  (registers the ids)
from recgym.data import Catalog  # noqa: E402
from recgym.envs import task_of  # noqa: E402
from recgym.recommenders import PAD, RecommenderUnavailable  # noqa: E402
from recgym.recommenders.postgres import DSN_ENV, PostgresRecommender  # noqa: E402

SMALL_SHOP = {"num_products": 400, "num_queries": 200}
TITLES = ("red wool scarf", "blue wool hat", "red leather boots", "green tea mug", "travel mug with lid",
          "red red red", "ceramic vase", "desk lamp")  # fmt: skip
CATALOG = Catalog(tuple(f"i{i}" for i in range(len(TITLES))), {"title": TITLES})


def postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: from PATH (symlinks resolved), else Debian's newest version."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(p).parent for p in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)]
    return next((d for d in candidates if (d / "pg_ctl").exists()), None)


def as_server_user() -> list[str] | None:
    """The command prefix that runs initdb/pg_ctl unprivileged: nothing for a normal user; root (which initdb
    refuses) runs them as the `postgres` user; None when root has no such user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return ["runuser", "-u", "postgres", "--"]


class PostgresServer:
    """A throwaway cluster: initdb into a temp dir, a free loopback port, unix socket in the temp dir, every
    statement logged (``log_statement=all``) to ``log`` so tests can count what reaches the server."""

    def __init__(self, bin_dir: Path, prefix: list[str]) -> None:
        self.bin, self.prefix = bin_dir, prefix
        self.dir = Path(tempfile.mkdtemp(prefix="recgym-pg-"))  # /tmp itself: pytest's root-only dirs would block
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=5"

    def run(self, *argv: str) -> None:
        done = subprocess.run([*self.prefix, *argv], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> None:
        if self.prefix:
            shutil.chown(self.dir, user="postgres")
        if not self.data.exists():
            self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                     "--locale=C", "--no-sync")  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c log_statement=all"
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def statements_logged(self) -> int:
        """Statements the server has logged so far (simple and extended protocol alike)."""
        return len(re.findall(r"LOG:\s+(?:statement|execute [^:]*):", self.log.read_text(errors="replace")))


@pytest.fixture(scope="session")
def server():
    bin_dir, prefix = postgres_bin(), as_server_user()
    if bin_dir is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (PATH or /usr/lib/postgresql/*/bin)")
    if prefix is None:
        pytest.skip("running as root without a `postgres` user: initdb refuses to run as root")
    pg = PostgresServer(bin_dir, prefix)
    pg.start()
    yield pg
    pg.stop()
    shutil.rmtree(pg.dir, ignore_errors=True)


@pytest.fixture
def rec(server) -> PostgresRecommender:
    rec = PostgresRecommender(server.dsn)
    rec.index(CATALOG)
    yield rec
    rec.close()


def test_ranking_checked_by_hand(rec):
    # ts_rank_cd on an OR query: each occurrence of a query lexeme is a cover worth its weight (D: 0.1), divided by
    # 1 + log(document length in lexeme positions) (normalization=1); no IDF
    positions, scores = rec.search(["red mug", "wool hats", "desk lamps"], 6)
    assert positions[0].tolist() == [5, 0, 2, 3, 4, PAD]  # tf 3 first; four 1-term titles tie: catalog order
    np.testing.assert_allclose(scores[0, :5], [0.3 / math.log(4)] + [0.1 / math.log(4)] * 4, rtol=1e-5)
    assert scores[0, 5] == -np.inf
    assert positions[1, :3].tolist() == [1, 0, PAD]  # "hats" stems to "hat"; the OR keeps the scarf (no "hat")
    np.testing.assert_allclose(scores[1, :2], [0.2 / math.log(4), 0.1 / math.log(4)], rtol=1e-5)
    assert positions[2, :2].tolist() == [7, PAD] and scores[2, 0] == pytest.approx(0.2 / math.log(3), rel=1e-5)


def test_a_batch_is_one_statement(rec, server):
    queries = [f"{t} gift" for t in TITLES] * 8 + ["the", ""]
    logged, sent = server.statements_logged(), rec.statements
    positions, _ = rec.search(queries, 5)
    assert rec.statements == sent + 1 and server.statements_logged() == logged + 1  # ONE round trip, 66 queries
    assert positions.shape == (66, 5) and (positions[:8, 0] == np.arange(8)).all() and (positions[-2:] == PAD).all()


def test_no_lexemes_or_tsquery_syntax_is_plain_text(rec):
    queries = ["", "the of and with", "!!! ??? ...", 'mug & !lamp:* "', "a\x00mug\ud800", "C:\\x 'o''reilly' | ("]
    positions, scores = rec.search(queries, 4)
    assert (positions[[0, 1, 2, 5]] == PAD).all() and (scores[[0, 1, 2, 5]] == -np.inf).all()
    assert positions[3, :3].tolist() == [7, 3, 4]  # the lamp (a shorter title), then the mugs: no tsquery syntax
    assert positions[4, :2].tolist() == [3, 4]  # a NUL (PostgreSQL text cannot hold one) is a space; a lone
    # surrogate (not UTF-8) a "?"
    assert rec.search([], 3)[0].shape == (0, 3)


def test_ids_round_trip_and_indexing_is_idempotent(server):
    ids = ("it's", "naïve café", "back\\slash", "x'); DROP TABLE y; --", "日本")
    catalog = Catalog(ids, {"title": ("red scarf", "blue hat", "green mug", "red hat", "tea mug")})
    first = PostgresRecommender(server.dsn)
    first.index(catalog)
    assert not first.reused and first.item_ids() == list(ids)
    again = PostgresRecommender(server.dsn)
    again.index(catalog)  # a second process on the same server: finds the table, builds nothing
    assert again.reused and again.table == first.table
    other = PostgresRecommender(server.dsn)
    other.index(Catalog(("a", "b"), {"title": ("green mug", "red scarf")}))
    assert other.table != first.table  # catalogs never share a table
    assert other.search(["mug"], 3)[0].tolist() == [[0, PAD, PAD]]
    assert again.search(["mug"], 3)[0].tolist() == [[2, 4, PAD]]
    for r in (first, again, other):
        r.close()


def test_a_dropped_connection_is_reopened(rec, server):
    with psycopg.connect(server.dsn, autocommit=True) as admin:  # what a server restart does to a client
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")  # fmt: skip
    assert rec.search(["red mug"], 2)[0].tolist() == [[5, 0]]
    assert rec.statements == 2  # the statement on the dead connection, then again on a new one


def test_a_dead_dsn_fails_fast_and_clearly(server, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket closes
    dsn = f"postgresql://postgres:hunter2@127.0.0.1:{port}/postgres?connect_timeout=3"
    start = time.monotonic()
    with pytest.raises(RecommenderUnavailable, match=f"port={port}") as err:
        PostgresRecommender(dsn).index(CATALOG)
    assert time.monotonic() - start < 10 and "hunter2" not in str(err.value)
    with pytest.raises(ValueError, match="not a valid") as err:
        PostgresRecommender("host=x password=hunter2 oops").index(CATALOG)
    assert "hunter2" not in str(err.value)
    monkeypatch.delenv(DSN_ENV, raising=False)
    with pytest.raises(ValueError, match=DSN_ENV):  # no DSN at all: say how to give one
        PostgresRecommender()


def test_the_registered_id_steps_and_passes_check_env(server, monkeypatch):
    monkeypatch.setenv(DSN_ENV, server.dsn)
    env = gym.make("RecR1/Shop-Postgres-v0", split="test", dataset_kwargs=SMALL_SHOP)
    check_env(env.unwrapped, skip_render_check=True)
    assert isinstance(task_of(env).recommender, PostgresRecommender)
    low, high = env.unwrapped.reward_range
    for i in range(3):
        _, info = env.reset(options={"index": i})
        _, reward, terminated, _, step = env.step(info["raw_action"])
        assert terminated and low <= reward <= high and step["format_ok"] and step["dropped_ids"] == 0
    monkeypatch.delenv(DSN_ENV)
    with pytest.raises(ValueError, match=DSN_ENV):
        gym.make("RecR1/Shop-Postgres-v0")


def test_shop_raw_queries_rank_sanely_beside_bm25s(server, capsys):
    """The full synthetic shop's test split (docs/engines.md's table): ts_rank_cd has no IDF, so it trails bm25s,
    but within a sane band."""
    kwargs = {"split": "test", "reward": "plain"}
    pg_task = task_of(gym.make("RecR1/Shop-Postgres-v0", recommender_kwargs={"dsn": server.dsn}, **kwargs))
    bm25_task = task_of(gym.make("RecR1/Shop-BM25-v0", **kwargs))
    examples = list(bm25_task.examples("test"))
    actions = [bm25_task.raw_action(ex) for ex in examples]
    ours = pg_task.score(actions, examples)[1]["ndcg@100"].mean()
    theirs = bm25_task.score(actions, examples)[1]["ndcg@100"].mean()
    with capsys.disabled():
        print(f"\nshop test raw NDCG@100 (n={len(examples)}): postgres {ours:.4f}, bm25s {theirs:.4f}")
    assert 0.15 < ours and 0.75 < ours / theirs < 1.1
