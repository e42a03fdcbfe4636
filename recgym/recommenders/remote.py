"""A search engine that runs elsewhere, as a recgym recommender: ONE HTTP call per ``search`` batch.

The wire protocol (docs/engines.md; ``recgym serve`` speaks it for any recgym recommender)::

    GET  /info     -> {"catalog_size": n, "catalog_hash": "...", ...}          (checked by ``index``)
    POST /search   {"queries": [...], "k": k} -> {"ids": [[item_id, ...], ...], "scores": [[...], ...]}
    POST /retrieve {"queries": [...], "topk": k, "return_scores": true}          (Search-R1's retriever shape)
                   -> {"result": [[{"document": {"id": item_id, ...}, "score": s}, ...], ...]}

The engine answers in item ids; the client maps them to catalog positions. Ids the catalog lacks (and repeats
within a row) are dropped and counted in :attr:`RemoteRecommender.dropped_ids`: an engine whose index has drifted
from the env's catalog costs reward, visibly, never a crash mid-training. A response the client cannot read (not
JSON, wrong row count, a row of ids and scores of different lengths) raises :class:`RemoteProtocolError`. An engine
that stays unreachable past the retry budget raises :class:`RecommenderUnavailable`: a made-up reward (say, zero
for every rollout) would silently poison training, whereas an exception stops the step, and the run resumes from
its last checkpoint (``recgym train --resume``) with nothing lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np

from recgym.data.types import Catalog
from recgym.recommenders.base import check_search_args, empty_results

log = logging.getLogger(__name__)

APIS = ("search", "retrieve")


class RemoteRecommenderError(RuntimeError):
    """A remote engine failed a request; ``url`` names the engine."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class RecommenderUnavailable(RemoteRecommenderError):
    """The engine could not be reached (connection errors, timeouts, HTTP 5xx) within the retry budget."""

    def __init__(self, url: str, attempts: int, last_error: str) -> None:
        super().__init__(
            f"recommender at {url} unavailable after {attempts} attempt(s); last error: {last_error}. No reward was "
            "computed; once the engine is back, resume training from its last checkpoint (recgym train --resume)",
            url,
        )
        self.attempts, self.last_error = attempts, last_error


class RemoteProtocolError(RemoteRecommenderError):
    """The engine answered, but not in the protocol (bad JSON, wrong shapes, an HTTP 4xx, a catalog mismatch)."""


def _http():
    try:
        import httpx
    except ImportError as err:  # an optional extra: say which
        raise ImportError("RemoteRecommender needs httpx: pip install 'recgym[serve]'") from err
    return httpx


class RemoteRecommender:
    """Ranks by calling a search service over HTTP (see the module docstring for the protocol).

    Args:
        url: Base URL of the service, e.g. ``http://127.0.0.1:8000``.
        api: ``"search"`` (recgym's ``POST /search``) or ``"retrieve"`` (Search-R1's ``POST /retrieve``).
        timeout: Seconds per HTTP call (connect, read and write each).
        retries: Further attempts after a connection error, timeout or HTTP 5xx; then
            :class:`RecommenderUnavailable`. A 4xx or an unreadable answer is not retried (repeating it cannot help).
        backoff: Seconds before the first retry, doubling each time up to ``max_backoff``.
        max_concurrency: At most this many requests in flight from this client (threads sharing it); None: no cap.
        rate_limit: At most this many requests per second from this client; None: no limit. One request is one
            batch of queries.
        cache_size: Keep the rankings of this many ``(query, k)`` pairs (least recently used dropped first); RL
            repeats queries a lot. 0: no cache. :meth:`stats` reports the hit rate.
        check_catalog: ``index`` checks that ``GET /info`` reports the env's catalog (size and
            ``Catalog.fingerprint()``); turn off for an engine without ``/info``.
        id_key: Search-R1 shape only: the document field holding the item id.
        headers: Extra HTTP headers (e.g. an API key).
    """

    def __init__(
        self,
        url: str,
        *,
        api: str = "search",
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_concurrency: int | None = None,
        rate_limit: float | None = None,
        cache_size: int = 0,
        check_catalog: bool = True,
        id_key: str = "id",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if api not in APIS:
            raise ValueError(f"unknown api {api!r}; choose from {APIS}")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {url!r}")
        if timeout <= 0 or retries < 0 or backoff < 0 or cache_size < 0:
            raise ValueError("timeout must be > 0; retries, backoff and cache_size >= 0")
        if (max_concurrency is not None and max_concurrency < 1) or (rate_limit is not None and rate_limit <= 0):
            raise ValueError("max_concurrency must be >= 1 and rate_limit > 0 when given")
        httpx = _http()
        self.url = url.rstrip("/")
        self.api, self.timeout, self.retries = api, float(timeout), int(retries)
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.max_concurrency, self.rate_limit, self.cache_size = max_concurrency, rate_limit, int(cache_size)
        self.check_catalog, self.id_key = check_catalog, id_key
        # one pooled keep-alive client for the recommender's life; httpx's Client is thread-safe
        pool = max_concurrency or 100  # httpx's default pool size unless capped
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=min(pool, 20))
        self._client = httpx.Client(timeout=self.timeout, limits=limits, headers=dict(headers or {}))
        self._slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
        self._lock = threading.Lock()  # guards the counters, the cache and the rate limiter's clock
        self._next_send = 0.0
        self._cache: OrderedDict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._position: dict[str, int] = {}
        self.requests = self.retried = self.dropped_ids = self.cache_hits = self.cache_misses = 0
        self.info: dict[str, Any] = {}

    # ----------------------------------------------------------------------------------------------- protocol
    def index(self, catalog: Catalog) -> None:
        """Map the catalog's item ids to positions and (``check_catalog``) check the service serves this catalog."""
        self._position = {item_id: i for i, item_id in enumerate(catalog.item_ids)}
        self._cache.clear()
        if not self.check_catalog:
            return
        self.info = self._call("GET", "/info")
        if not isinstance(self.info, dict):
            raise RemoteProtocolError(f"{self.url}/info answered {type(self.info).__name__}, not an object", self.url)
        want = {"catalog_size": len(catalog), "catalog_hash": catalog.fingerprint()}
        got = {key: self.info.get(key) for key in want}
        if got != want:
            raise RemoteProtocolError(
                f"{self.url} serves another catalog: /info says {got}, the env's catalog is {want}. Serve the env's "
                "catalog (recgym serve --env ID with the same --env-kwargs), or pass check_catalog=False to rank "
                "with this engine anyway (ids the catalog lacks are dropped and counted)",
                self.url,
            )

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, scores)`` of ``(len(queries), k)``; the queries not in the cache go out in ONE request
        (each distinct query once)."""
        check_search_args(queries, k)
        k = int(k)
        positions, scores = empty_results(len(queries), k)
        rows: dict[str, list[int]] = {}
        for i, query in enumerate(queries):
            cached = self._cache_get(query, k)
            if cached is None:
                rows.setdefault(query, []).append(i)
            else:
                positions[i], scores[i] = cached
        if rows:
            misses = list(rows)
            for query, (pos, score) in zip(misses, self._fetch(misses, k)):
                positions[rows[query]], scores[rows[query]] = pos, score
                self._cache_put(query, k, pos, score)
        return positions, scores

    # ------------------------------------------------------------------------------------------------ options
    def settings(self) -> dict[str, Any]:
        return {
            "url": self.url, "api": self.api, "timeout": self.timeout, "retries": self.retries,
            "max_concurrency": self.max_concurrency, "rate_limit": self.rate_limit, "cache_size": self.cache_size,
        }  # fmt: skip

    def stats(self) -> dict[str, float]:
        """Counters since creation: HTTP requests sent (retries included), retries, dropped ids, cache hits and
        misses (per query) and the hit rate (NaN before the first lookup)."""
        with self._lock:
            looked_up = self.cache_hits + self.cache_misses
            return {
                "requests": self.requests, "retries": self.retried, "dropped_ids": self.dropped_ids,
                "cache_hits": self.cache_hits, "cache_misses": self.cache_misses,
                "cache_hit_rate": self.cache_hits / looked_up if looked_up else float("nan"),
            }  # fmt: skip

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteRecommender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------------- internals
    def _cache_get(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        if not self.cache_size:
            return None
        with self._lock:
            hit = self._cache.get((query, k))
            if hit is None:
                self.cache_misses += 1
            else:
                self.cache_hits += 1
                self._cache.move_to_end((query, k))
            return hit

    def _cache_put(self, query: str, k: int, positions: np.ndarray, scores: np.ndarray) -> None:
        if not self.cache_size:
            return
        with self._lock:
            self._cache[(query, k)] = (positions.copy(), scores.copy())
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _fetch(self, queries: list[str], k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        if self.api == "search":
            body = self._call("POST", "/search", {"queries": queries, "k": k})
            ids = self._field(body, "ids", len(queries))
            scores = self._field(body, "scores", len(queries)) if body.get("scores") is not None else None
        else:
            body = self._call("POST", "/retrieve", {"queries": queries, "topk": k, "return_scores": True})
            ids, scores = self._retrieve_rows(self._field(body, "result", len(queries)))
        return [self._row(r, row_ids, None if scores is None else scores[r], k) for r, row_ids in enumerate(ids)]

    def _field(self, body: Any, key: str, n: int) -> list:
        value = body.get(key) if isinstance(body, dict) else None
        if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
            raise RemoteProtocolError(f"{self.url} answered without a list of rows under {key!r}", self.url)
        if len(value) != n:
            raise RemoteProtocolError(f"{self.url} answered {len(value)} rows of {key!r} for {n} queries", self.url)
        return value

    def _retrieve_rows(self, result: list[list]) -> tuple[list[list], list[list] | None]:
        """Search-R1 rows: ``{"document": {id_key: ...}, "score": s}`` entries (or bare documents, no scores)."""
        try:
            docs = [[hit.get("document", hit) for hit in row] for row in result]
            ids = [[doc[self.id_key] for doc in row] for row in docs]
            scored = all("score" in hit for row in result for hit in row)
            return ids, [[hit["score"] for hit in row] for row in result] if scored else None
        except (AttributeError, KeyError, TypeError) as err:
            raise RemoteProtocolError(
                f"{self.url}/retrieve rows must hold documents with an {self.id_key!r} field: {err!r}", self.url
            ) from None

    def _row(self, r: int, ids: list, scores: list | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        if scores is not None and len(scores) != len(ids):
            raise RemoteProtocolError(f"{self.url}: row {r} has {len(ids)} ids but {len(scores)} scores", self.url)
        positions, out = empty_results(1, k)
        kept, dropped, seen = 0, 0, set()
        for rank, item_id in enumerate(ids):
            if kept == k:
                break
            position = self._position.get(str(item_id))
            if position is None or position in seen:
                dropped += 1
                continue
            seen.add(position)
            positions[0, kept] = position
            # an engine may send no scores (the env ranks by order alone): then a score that falls with rank
            out[0, kept] = float(scores[rank]) if scores is not None else float(len(ids) - rank)
            kept += 1
        if dropped:
            with self._lock:
                self.dropped_ids += dropped
        return positions[0], out[0]

    def _call(self, method: str, path: str, payload: dict | None = None) -> Any:
        """One request with the retry budget; the decoded JSON body."""
        httpx = _http()
        url, attempts, last = self.url + path, self.retries + 1, ""
        for attempt in range(attempts):
            if attempt:
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                log.warning("retrying %s in %.2fs (attempt %d/%d): %s", url, delay, attempt + 1, attempts, last)
                time.sleep(delay)
            self._wait_for_rate()
            try:
                with self._slots or nullcontext():
                    with self._lock:
                        self.requests += 1
                        self.retried += bool(attempt)
                    response = self._client.request(method, url, json=payload)
            except httpx.TransportError as err:  # refused, reset, timed out: the engine may come back
                last = f"{type(err).__name__}: {err}"
                continue
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}: {response.text[:200]}"
                continue
            if response.status_code >= 400:
                raise RemoteProtocolError(f"{url} answered HTTP {response.status_code}: {response.text[:300]}", url)
            try:
                return response.json()
            except ValueError:
                raise RemoteProtocolError(f"{url} answered invalid JSON: {response.text[:200]!r}", url) from None
        raise RecommenderUnavailable(url, attempts, last)

    def _wait_for_rate(self) -> None:
        if self.rate_limit is None:
            return
        with self._lock:  # reserve the next send slot, then sleep outside the lock
            now = time.monotonic()
            send_at = max(now, self._next_send)
            self._next_send = send_at + 1.0 / self.rate_limit
        if send_at > now:
            time.sleep(send_at - now)
