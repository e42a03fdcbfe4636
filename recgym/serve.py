"""``recgym serve``: any env's recommender as a search service, in the protocol ``RemoteRecommender`` speaks.

    recgym serve --env RecR1/Shop-BM25-v0 [--env-kwargs '{"dataset_kwargs": {...}}'] [--host 127.0.0.1 --port 8000]
    recgym serve --openenv --env RecR1/Shop-BM25-v0 [--max-sessions 16]   # the env itself, for OpenEnv clients

Endpoints (JSON; docs/engines.md): ``GET /health``, ``GET /info`` (catalog size and fingerprint, the recommender and
its settings), ``POST /search {"queries": [...], "k": k} -> {"ids": [[...]], "scores": [[...]]}`` and Search-R1's
``POST /retrieve {"queries": [...], "topk": k, "return_scores": bool} -> {"result": [[{"document", "score"}]]}``.
A request is one batch: ONE ``Recommender.search`` call. Connections are served concurrently (FastAPI on uvicorn);
the recommender itself is called one batch at a time, because the Recommender protocol does not promise thread
safety (bm25s parallelises inside a batch). The env comes from the public API only (``task_of(env).recommender``
and ``.catalog``), so a user's own recommender passed as ``recommender=`` serves the same way through
:func:`create_app`. It binds to loopback by default: the service has no authentication.

This module imports FastAPI and uvicorn (the ``serve`` extra) only when a server is built, so the CLI parses
without them. No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at runtime.
"""

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from recgym.data.types import Catalog
from recgym.recommenders.base import PAD, Recommender

MAX_QUERIES = 10_000
"""Queries per request at most (a bound on one request's memory and time)."""
MAX_K = 10_000
"""Results per query at most."""
LOOPBACK = ("127.0.0.1", "localhost", "::1")
PROTOCOL = "recgym-search/1"


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _recommender_settings(recommender: Recommender) -> dict[str, Any]:
    settings = getattr(recommender, "settings", None)
    return _json_safe(settings() if callable(settings) else settings or {})


def _batch(body: Any, k_key: str) -> tuple[list[str], int, dict]:
    """The queries and k of a request body, and the body; ValueError saying what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    queries, k = body.get("queries"), body.get(k_key)
    if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
        raise ValueError("'queries' must be a list of strings")
    if len(queries) > MAX_QUERIES:
        raise ValueError(f"at most {MAX_QUERIES} queries per request, got {len(queries)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ValueError(f"{k_key!r} must be an integer in [1, {MAX_K}], got {k!r}")
    return queries, k, body


def create_app(recommender: Recommender, catalog: Catalog, name: str = "") -> Any:
    """A FastAPI app serving ``recommender`` (already indexed on ``catalog``) over the protocol."""
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    item_ids, titles = catalog.item_ids, catalog.titles
    info = {
        "protocol": PROTOCOL, "env_id": name, "catalog_size": len(catalog), "catalog_hash": catalog.fingerprint(),
        "recommender": type(recommender).__name__, "settings": _recommender_settings(recommender),
        "max_queries": MAX_QUERIES, "max_k": MAX_K,
    }  # fmt: skip
    one_batch_at_a_time = threading.Lock()
    app = FastAPI(title=f"recgym serve {name}".strip(), version=PROTOCOL)

    def ranked(queries: list[str], k: int) -> list[list[tuple[int, float]]]:
        with one_batch_at_a_time:
            positions, scores = recommender.search(queries, k)
        return [[(p, s) for p, s in zip(row, row_scores) if p != PAD]
                for row, row_scores in zip(positions.tolist(), scores.tolist())]  # fmt: skip

    async def parse(request: Request, k_key: str) -> tuple[list[str], int, dict]:
        try:
            return _batch(json.loads(await request.body()), k_key)
        except ValueError as err:  # (json's decode error is a ValueError)
            raise HTTPException(status_code=422, detail=str(err)) from None

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/info")
    def get_info() -> dict:
        return info

    @app.post("/search")
    async def search(request: Request) -> JSONResponse:
        queries, k, _ = await parse(request, "k")
        rows = await run_in_threadpool(ranked, queries, k)
        # a plain JSONResponse: FastAPI's response-model encoding walks every element, slow for 64 x 100 results
        return JSONResponse({"ids": [[item_ids[p] for p, _ in row] for row in rows],
                             "scores": [[s for _, s in row] for row in rows]})  # fmt: skip

    @app.post("/retrieve")
    async def retrieve(request: Request) -> JSONResponse:
        queries, k, body = await parse(request, "topk")
        rows = await run_in_threadpool(ranked, queries, k)
        docs = [[{"id": item_ids[p], "contents": titles[p]} for p, _ in row] for row in rows]
        if body.get("return_scores"):
            result = [[{"document": d, "score": s} for d, (_, s) in zip(row, ranks)] for row, ranks in zip(docs, rows)]
        else:
            result = docs
        return JSONResponse({"result": result})

    return app


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now (the OS's choice for port 0)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving_in_thread(app: Any, host: str = "127.0.0.1", timeout: float = 60.0) -> Iterator[str]:
    """Run ``app`` (e.g. :func:`create_app`'s) with uvicorn on a free port of ``host`` in a daemon thread of this
    process, for tests, benchmarks and notebooks; yields its base URL and stops the server when the block ends.
    A server that has not started within ``timeout`` seconds raises ``RuntimeError``."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=free_port(host), log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the server on {host}:{server.config.port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def serve(env_id: str, env_kwargs: dict[str, Any] | None = None, host: str = "127.0.0.1", port: int = 8000,
          log_level: str = "warning", openenv: bool = False, max_sessions: int = 16) -> None:  # fmt: skip
    """Build the env ``env_id`` and serve it until interrupted: its recommender in recgym's search protocol, or
    (``openenv=True``) the whole env as an OpenEnv environment with up to ``max_sessions`` WebSocket sessions
    (:mod:`recgym.integrations.openenv`)."""
    import gymnasium as gym
    import uvicorn

    import recgym  # noqa: F401  (registers the RecR1/* ids)
    from recgym.envs import task_of

    if openenv:
        from recgym.integrations.openenv import make_app

        app = make_app(env_id, max_sessions=max_sessions, **(env_kwargs or {}))
        what = "OpenEnv environment"
    else:
        task = task_of(gym.make(env_id, **(env_kwargs or {})))
        app = create_app(task.recommender, task.catalog, env_id)
        what = f"{len(task.catalog)} items, {type(task.recommender).__name__}"
    if host not in LOOPBACK:
        print(f"recgym serve: warning: listening on {host}, beyond this machine; the service has no authentication",
              file=sys.stderr)  # fmt: skip
    print(f"recgym serve: {env_id} ({what}) on http://{host}:{port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


# ------------------------------------------------------------------------------------------------------ CLI
def add_parser(subparsers: Any) -> None:
    """Register ``recgym serve`` (see ``recgym.cli.COMMAND_MODULES``)."""
    p = subparsers.add_parser("serve", help="serve an env's recommender over HTTP (/search, /retrieve, /info), "
                              "or with --openenv the env itself as an OpenEnv environment")  # fmt: skip
    p.add_argument("--env", required=True, help="env id, e.g. RecR1/Shop-BM25-v0")
    p.add_argument("--env-kwargs", help='env arguments as JSON, e.g. \'{"dataset_kwargs": {"num_products": 400}}\'')
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback: no authentication)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))
    p.add_argument("--openenv", action="store_true",
                   help="serve the env (reset/step, reward) over OpenEnv's protocol instead of its recommender")
    p.add_argument("--max-sessions", type=int, default=16,
                   help="with --openenv: concurrent WebSocket sessions, each its own episode (default 16)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: Any) -> int:
    import gymnasium as gym

    import recgym  # noqa: F401

    def usage(message: str) -> int:
        print(f"recgym serve: error: {message}", file=sys.stderr)
        return 2

    try:
        gym.spec(args.env)
    except gym.error.Error as err:
        return usage(f"unknown env id {args.env!r}: {err}")
    try:
        env_kwargs = json.loads(args.env_kwargs) if args.env_kwargs else {}
    except json.JSONDecodeError as err:
        return usage(f"--env-kwargs is not valid JSON ({err})")
    if not isinstance(env_kwargs, dict):
        return usage("--env-kwargs must be a JSON object")
    if args.max_sessions < 1:
        return usage(f"--max-sessions must be >= 1, got {args.max_sessions}")
    extra, modules = ("openenv", ("openenv", "uvicorn")) if args.openenv else ("serve", ("fastapi", "uvicorn"))
    missing = [m for m in modules if not _importable(m)]
    if missing:
        return usage(f"needs {' and '.join(missing)}: pip install 'recgym[{extra}]'")
    serve(args.env, env_kwargs, args.host, args.port, args.log_level, args.openenv, args.max_sessions)
    return 0


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


__all__: Sequence[str] = ("MAX_K", "MAX_QUERIES", "PROTOCOL", "create_app", "serve")
