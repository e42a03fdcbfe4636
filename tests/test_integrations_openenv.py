"""OpenEnv adapter: a real server (``recgym serve --openenv``, a subprocess on a free loopback port) driven by
OpenEnv's own WebSocket client. Rewards equal the in-process env's; concurrent sessions are isolated."""

import json
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("openenv.core", reason="the OpenEnv adapter needs the extra: pip install 'recgym[openenv]'")

from recgym.envs import task_of  # noqa: E402
from recgym.integrations import make_env  # noqa: E402
from recgym.integrations.openenv import RecGymAction, RecGymClient  # noqa: E402
from recgym.rewards import format_answer  # noqa: E402
from recgym.serve import free_port  # noqa: E402

ENV_ID = "RecR1/Shop-BM25-v0"
ENV_KWARGS = {"reward": "recr1", "dataset_kwargs": {"num_products": 400, "num_queries": 200}}


@pytest.fixture(scope="module")
def server():
    port = free_port()
    cmd = [sys.executable, "-m", "recgym.cli", "serve", "--openenv", "--env", ENV_ID, "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--env-kwargs", json.dumps(ENV_KWARGS)], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the OpenEnv server exited: {proc.stderr.read()[-2000:]}")
            if time.time() > deadline:
                proc.kill()
                pytest.fail("the OpenEnv server did not answer /health within 120 s")
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def target_title(task, example):
    target = max(example.relevant, key=example.relevant.get)
    return task.catalog.titles[task.catalog.position(target)]


def in_process(index, split, text):
    env = make_env(ENV_ID, ENV_KWARGS)
    obs, info = env.reset(options={"index": index, "split": split})
    _, reward, terminated, truncated, step_info = env.step(text)
    return obs, info, reward, terminated or truncated, step_info


def test_reset_step_equal_the_in_process_env(server):
    env = make_env(ENV_ID, ENV_KWARGS)
    _, info = env.reset(options={"index": 5, "split": "test"})
    texts = [format_answer("wireless gaming mouse"), info["raw_action"], "no answer block"]
    with RecGymClient(base_url=server).sync() as client:
        for text in texts:
            result = client.reset(index=5, split="test")
            obs, info, reward, done, step_info = in_process(5, "test", text)
            assert result.observation.prompt == obs and not result.done and result.reward is None
            assert result.observation.info["example_id"] == info["example_id"]
            assert result.observation.info["raw_action"] == info["raw_action"]
            state = client.state()
            assert (state.split, state.index, state.example_id) == ("test", 5, info["example_id"])
            result = client.step(RecGymAction(text=text))
            assert result.reward == pytest.approx(reward, abs=1e-12) and result.done is done is True
            assert result.observation.info["ndcg@100"] == pytest.approx(step_info["ndcg@100"], abs=1e-12)
            assert result.observation.info["query"] == step_info["query"]
    assert in_process(5, "test", texts[2])[2] == -2.0  # the malformed answer's penalty came through too


def test_concurrent_sessions_are_isolated(server):
    """Two clients reset on different examples, then step at the same time: each gets its own example's reward."""
    task = task_of(make_env(ENV_ID, ENV_KWARGS))
    cases = [(0, "train"), (3, "test")]
    texts = [format_answer(target_title(task, task.examples(s)[i])) for i, s in cases]
    expected = [in_process(i, s, t)[2] for (i, s), t in zip(cases, texts)]
    crossed = [in_process(i, s, t)[2] for (i, s), t in zip(cases, texts[::-1])]
    assert min(expected) > 0.3 and max(crossed) < min(expected)  # a mixed-up session would show
    clients = [RecGymClient(base_url=server).sync() for _ in cases]
    try:
        for client in clients:
            client.connect()
        for client, (index, split) in zip(clients, cases):
            client.reset(index=index, split=split)
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda c, text: c.step(RecGymAction(text=text)), clients, texts))
        assert [r.reward for r in results] == pytest.approx(expected, abs=1e-12)
        assert [c.state().index for c in clients] == [0, 3]
        with pytest.raises(Exception, match="reset"):  # the episode ended: a second step is refused
            clients[0].step(RecGymAction(text="again"))
    finally:
        for client in clients:
            client.close()


def test_the_module_entry_point_is_recgym_serve_openenv():
    """``python -m recgym.integrations.openenv`` parses with ``recgym serve --openenv``'s parser: same checks."""
    cmd = [sys.executable, "-m", "recgym.integrations.openenv", "--env", ENV_ID, "--max-sessions", "0"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--max-sessions must be >= 1, got 0" in done.stderr
