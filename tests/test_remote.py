"""A search engine elsewhere as the black box: ``recgym serve`` on a free loopback port (a real subprocess, or a real
uvicorn server in a thread where a test injects faults into its answers), ``RemoteRecommender`` against it, and the
env built with ``recommender="remote"``: the same rewards as in process, 2 GRPO steps, and every failure mode
(killed and restarted, too slow, bad JSON, wrong row count, unknown ids, HTTP 500, down for good)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

for _module in ("fastapi", "uvicorn", "httpx"):
    pytest.importorskip(_module, reason=f"{_module} is missing: the serve extra (pip install -e '.[serve]')")

import httpx  # noqa: E402

import recgym  # noqa: E402, F401  (registers the ids)
from recgym.cli import main as recgym_main  # noqa: E402
from recgym.envs import task_of  # noqa: E402
from recgym.recommenders import RecommenderUnavailable, RemoteProtocolError, RemoteRecommender  # noqa: E402
from recgym.serve import create_app, free_port, serving_in_thread  # noqa: E402

SMALL_SHOP = {"num_products": 400, "num_queries": 200}
ENV_ID = "RecR1/Shop-BM25-v0"
FAST = {"retries": 1, "backoff": 0.05, "timeout": 5.0}  # small retry budgets keep the fault tests quick


# ------------------------------------------------------------------------------------------------- servers
class ServeProcess:
    """``recgym serve`` in a subprocess on a fixed loopback port; can be killed (SIGKILL) and started again."""

    def __init__(self, cache: Path) -> None:
        self.port, self.cache, self.proc = free_port(), cache, None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> None:
        argv = ["serve", "--env", ENV_ID, "--env-kwargs", json.dumps({"dataset_kwargs": SMALL_SHOP}),
                "--port", str(self.port)]  # fmt: skip
        env = {**os.environ, "RECGYM_CACHE": str(self.cache), "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "recgym.cli", *argv], env=env, stderr=subprocess.PIPE)
        if wait:
            self.wait_healthy()

    def wait_healthy(self, seconds: float = 90.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise TimeoutError(f"recgym serve did not come up on {self.url}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    server = ServeProcess(tmp_path_factory.mktemp("serve-cache"))
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def local_env():
    # cache=False: a module-scoped env would otherwise index into the cache before the per-test isolation applies
    return gym.make(ENV_ID, split="test", dataset_kwargs=SMALL_SHOP, recommender_kwargs={"cache": False})


def remote_env(url: str, split: str = "test", **options):
    return gym.make(ENV_ID, split=split, dataset_kwargs=SMALL_SHOP, recommender="remote",
                    recommender_kwargs={"url": url, **options})  # fmt: skip


class Faults:
    """ASGI middleware over the real recgym app that breaks its /search and /retrieve answers on demand."""

    def __init__(self, app) -> None:
        self.app, self.mode, self.fail_times, self.delay = app, None, 0, 0.0
        self.in_flight = self.max_in_flight = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] not in ("/search", "/retrieve"):
            return await self.app(scope, receive, send)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            if self.mode == "500" and self.fail_times:
                self.fail_times -= 1
                return await respond(send, 500, b"engine overloaded")
            if self.mode == "malformed":
                return await respond(send, 200, b'{"ids": [["p00001", ')
            body = await self.capture(scope, receive)
            if self.mode == "rows":
                body = {"ids": body["ids"][:-1], "scores": body["scores"][:-1]}
            elif self.mode == "unknown":  # an engine whose index holds items the env's catalog lacks
                body = {"ids": [["gone-1", *r] for r in body["ids"]], "scores": [[9.0, *r] for r in body["scores"]]}
            await respond(send, 200, json.dumps(body).encode())
        finally:
            self.in_flight -= 1

    async def capture(self, scope, receive) -> dict:
        chunks: list[bytes] = []

        async def keep(message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        return json.loads(b"".join(chunks))


async def respond(send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def faulty(local_env):
    task = task_of(local_env)
    faults = Faults(create_app(task.recommender, task.catalog, "faulty"))
    with serving_in_thread(faults) as url:
        yield faults, url


@pytest.fixture
def faults(faulty):
    faults, url = faulty
    while faults.in_flight:  # requests a client gave up on (the timeout test) may still be sleeping in the server
        time.sleep(0.05)
    faults.mode, faults.fail_times, faults.delay, faults.max_in_flight = None, 0, 0.0, 0
    return faults, url


def batch(env, n: int = 40) -> tuple[list[str], list]:
    """Raw queries of the test split plus rewrites (expansions, a truncation, stopwords only, empty)."""
    task = task_of(env)
    examples = list(task.examples("test")[:n])
    raw = [task.raw_action(ex) for ex in examples]
    rewrites = [a + " waterproof mug" for a in raw[:8]] + [a[: len(a) // 2] for a in raw[8:16]] + ["the of", ""]
    return raw + rewrites, examples + examples[: len(rewrites)]


# ------------------------------------------------------------------------------------------- end to end
def test_remote_env_rewards_equal_the_in_process_env(served, local_env):
    env = remote_env(served.url)
    actions, examples = batch(local_env)
    rec = task_of(env).recommender
    sent = rec.requests
    rewards, infos = task_of(env).score(actions, examples)
    assert rec.requests == sent + 1  # ONE HTTP call for the whole batch
    want, want_infos = task_of(local_env).score(actions, examples)
    assert len(rewards) == len(actions) > 40 and np.array_equal(rewards, want)
    for key in ("ndcg@10", "ndcg@100", "recall@100"):
        assert np.array_equal(infos[key], want_infos[key]), key
    assert rewards.std() > 0 and rec.dropped_ids == 0
    for i in (0, 3):  # and through plain reset/step
        env.reset(options={"index": i})
        local_env.reset(options={"index": i})
        assert env.step(actions[i])[1] == local_env.step(actions[i])[1]


def test_search_r1_shape_ranks_the_same(served, local_env):
    catalog, queries = task_of(local_env).catalog, batch(local_env, 10)[0]
    with RemoteRecommender(served.url) as ours, RemoteRecommender(served.url, api="retrieve") as theirs:
        ours.index(catalog), theirs.index(catalog)
        positions, scores = ours.search(queries, 100)
        assert all(np.array_equal(a, b) for a, b in zip(theirs.search(queries, 100), (positions, scores)))
    local = task_of(local_env).recommender.search(queries, 100)
    assert np.array_equal(positions, local[0]) and np.array_equal(scores, local[1])


def tiny_grpo(run: Path, num_steps: int = 2):
    from recgym.agents.grpo import GRPOAgent, GRPOConfig
    from recgym.models import load_policy

    config = GRPOConfig(num_generations=4, prompts_per_step=1, max_new_tokens=5, micro_batch_size=4,
                        num_steps=num_steps, eval_every=0, save_every=1, output_dir=str(run))  # fmt: skip
    return GRPOAgent(config, *load_policy("tiny"))


def remote_venv(url: str, **options):
    return gym.make_vec(ENV_ID, num_envs=4, reward="expand", dataset_kwargs=SMALL_SHOP, recommender="remote",
                        recommender_kwargs={"url": url, **options})  # fmt: skip


def test_grpo_trains_two_steps_against_the_served_env(served, tmp_path):
    venv = remote_venv(served.url)
    history = tiny_grpo(tmp_path / "run").train(venv, progress=False)
    assert [r["step"] for r in history] == [1, 2]
    assert all(np.isfinite(r["reward_mean"]) and "ndcg@100" in r for r in history)
    assert task_of(venv).recommender.stats()["requests"] >= 2  # every step's rollouts were scored remotely


def untimed(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("sec_per_step", "val/sec")}


def test_a_step_the_engine_fails_resumes_from_its_checkpoint(faults, tmp_path):
    faults_, url = faults
    venv = remote_venv(url, **FAST)
    full = tiny_grpo(tmp_path / "full").train(venv, progress=False)
    broken = tiny_grpo(tmp_path / "broken")
    broken.train(venv, num_steps=1, progress=False)
    faults_.mode, faults_.fail_times = "500", 10**6  # the engine goes down during step 2
    with pytest.raises(RecommenderUnavailable):
        broken.train(venv, resume=True, progress=False)
    faults_.mode = None  # back up: a new process resumes from step 1's checkpoint
    again = tiny_grpo(tmp_path / "broken").train(venv, resume=True, progress=False)
    assert [r["step"] for r in again] == [2] and untimed(again[0]) == untimed(full[1])  # nothing lost


def test_catalog_mismatch_is_refused(served):
    other = task_of(gym.make(ENV_ID, dataset_kwargs={**SMALL_SHOP, "num_products": 300}))
    with RemoteRecommender(served.url) as rec, pytest.raises(RemoteProtocolError, match="serves another catalog"):
        rec.index(other.catalog)


def test_lru_cache_answers_repeats_without_a_request(served, local_env):
    catalog, queries = task_of(local_env).catalog, batch(local_env, 6)[0]
    with RemoteRecommender(served.url, cache_size=4) as rec:
        rec.index(catalog)
        first = rec.search(queries[:4], 10)
        sent = rec.requests
        again = rec.search([queries[3], queries[0], queries[3]], 10)  # all cached: no request
        assert rec.requests == sent and np.array_equal(again[0], first[0][[3, 0, 3]])
        rec.search(queries[4:6], 10)  # two new ones push out the two least recently used (1 and 2)
        rec.search(queries[:3], 10)
        stats = rec.stats()
    assert (stats["cache_hits"], stats["cache_misses"]) == (4, 8)  # 0 still cached, 1 and 2 asked again
    assert stats["cache_hit_rate"] == pytest.approx(4 / 12)


# ------------------------------------------------------------------------------------------------- faults
def test_killed_server_restarted_mid_run_loses_and_doubles_no_step(served, local_env):
    env = remote_env(served.url, retries=60, backoff=0.25, max_backoff=0.5)
    actions = batch(local_env, 3)[0][:3]
    rewards = []
    for i, action in enumerate(actions):
        if i == 1:  # killed between steps; back a few seconds later while the client retries
            served.kill()
            served.start(wait=False)
        env.reset(options={"index": i})
        local_env.reset(options={"index": i})
        rewards.append((env.step(action)[1], local_env.step(action)[1]))
    assert len(rewards) == 3 and all(r == want for r, want in rewards)
    assert task_of(env).recommender.stats()["retries"] >= 1


def test_slow_server_timeout_is_honoured(faults, local_env):
    faults_, url = faults
    faults_.delay = 2.0
    with RemoteRecommender(url, timeout=0.3, retries=1, backoff=0.05) as rec:
        rec.index(task_of(local_env).catalog)
        start = time.monotonic()
        with pytest.raises(RecommenderUnavailable, match="ReadTimeout") as err:
            rec.search(["travel mug"], 10)
    assert time.monotonic() - start < 1.5 and err.value.attempts == 2 and err.value.url == url + "/search"


def test_http_500_is_retried_then_answered(faults, local_env):
    faults_, url = faults
    faults_.mode, faults_.fail_times = "500", 2
    with RemoteRecommender(url, retries=2, backoff=0.05) as rec:
        rec.index(task_of(local_env).catalog)
        got = rec.search(["travel mug"], 10)
        assert rec.stats()["retries"] == 2
    assert np.array_equal(got[0], task_of(local_env).recommender.search(["travel mug"], 10)[0])


def test_http_500_for_good_raises_unavailable(faults, local_env):
    faults_, url = faults
    faults_.mode, faults_.fail_times = "500", 100
    env = remote_env(url, **FAST)
    env.reset(options={"index": 0})
    with pytest.raises(RecommenderUnavailable, match="HTTP 500: engine overloaded"):
        env.step("travel mug")


@pytest.mark.parametrize(("mode", "message"), [("malformed", "invalid JSON"), ("rows", "1 rows of 'ids' for 2")])
def test_unreadable_answers_are_clear_errors(faults, local_env, mode, message):
    faults_, url = faults
    faults_.mode = mode
    with RemoteRecommender(url, **FAST) as rec:
        rec.index(task_of(local_env).catalog)
        with pytest.raises(RemoteProtocolError, match=message):
            rec.search(["travel mug", "red kettle"], 10)
        assert rec.stats()["retries"] == 0  # not retried: the same request would get the same answer


def test_unknown_ids_are_dropped_and_counted(faults, local_env):
    faults_, url = faults
    faults_.mode = "unknown"
    queries = ["travel mug", "red kettle", "the"]
    with RemoteRecommender(url, **FAST) as rec:
        rec.index(task_of(local_env).catalog)
        positions, scores = rec.search(queries, 10)
        assert rec.dropped_ids == 3
    want = task_of(local_env).recommender.search(queries, 10)
    assert np.array_equal(positions, want[0]) and np.array_equal(scores, want[1])


def test_unknown_ids_show_in_the_step_info(faults, local_env):
    """The env reports the ids its step's search dropped: one per query here (the engine adds one unknown id to
    each row); a vector step is one search, so each sub-env reports the batch's count; in process, 0."""
    faults_, url = faults
    faults_.mode = "unknown"
    env = remote_env(url, **FAST)
    _, info = env.reset(options={"index": 0})
    assert env.step(info["raw_action"])[4]["dropped_ids"] == 1
    venv = gym.make_vec(ENV_ID, num_envs=3, split="test", dataset_kwargs=SMALL_SHOP, recommender="remote",
                        recommender_kwargs={"url": url, **FAST})  # fmt: skip
    _, infos = venv.reset(options={"indices": [0, 1, 2]})
    assert venv.step(list(infos["raw_action"]))[4]["dropped_ids"].tolist() == [3, 3, 3]
    local_env.reset(options={"index": 0})
    assert local_env.step(info["raw_action"])[4]["dropped_ids"] == 0


def test_server_down_for_good_raises_unavailable_quickly(local_env):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    start = time.monotonic()
    with pytest.raises(RecommenderUnavailable, match=r"unavailable after 3 attempt\(s\); last error: ConnectError"):
        remote_env(url, retries=2, backoff=0.05)
    assert time.monotonic() - start < 2.0


def test_concurrency_cap_and_rate_limit(faults, local_env):
    faults_, url = faults
    faults_.delay = 0.1
    catalog = task_of(local_env).catalog
    with RemoteRecommender(url, max_concurrency=1, check_catalog=False) as rec:
        rec.index(catalog)
        threads = [threading.Thread(target=rec.search, args=([f"mug {i}"], 5)) for i in range(4)]
        [t.start() for t in threads], [t.join() for t in threads]
    assert faults_.max_in_flight == 1
    faults_.delay = 0.0
    with RemoteRecommender(url, rate_limit=20.0, check_catalog=False) as rec:
        rec.index(catalog)
        start = time.monotonic()
        for i in range(5):
            rec.search([f"kettle {i}"], 5)
    assert time.monotonic() - start >= 0.2  # 5 requests at 20/s: 4 gaps of 50 ms


def test_serve_rejects_an_unknown_env_id(capsys):
    assert recgym_main(["serve", "--env", "RecR1/NoSuch-BM25-v0"]) == 2
    assert "unknown env id" in capsys.readouterr().err


def test_bad_client_settings_fail_before_any_request():
    with pytest.raises(ValueError, match="http:// or https://"):
        RemoteRecommender("127.0.0.1:8000")
    with pytest.raises(ValueError, match="needs recommender_kwargs"):
        gym.make(ENV_ID, dataset_kwargs=SMALL_SHOP, recommender="remote")
    with pytest.raises(ValueError, match="unknown api"):
        RemoteRecommender("http://127.0.0.1:8000", api="graphql")
