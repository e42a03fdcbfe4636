"""The public boundary of an env: ``env.task`` / ``task_of`` (batched scoring, feedback, examples), reward presets as
registered strategies, and an AST check that nothing outside the envs reaches into private state."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit

import recgym  # noqa: F401  (registers the ids)
from recgym.agents import RawQueryAgent, evaluate
from recgym.agents.base import split_size
from recgym.envs import Task, task_of
from recgym.data import Catalog, Example, TaskDataset
from recgym.envs.registration import registered_ids
from recgym.rewards import PRESETS, RewardPreset, get_preset, preset_names, register_preset
from recgym.tasks import TASKS, TaskSpec, register_task

ROOT = Path(__file__).resolve().parents[1]
SMALL_SHOP = {"num_products": 400, "num_queries": 200}


def test_task_of_finds_one_task_behind_wrappers_and_vector_envs():
    env = gym.make("RecR1/Shop-BM25-v0", reward="expand", dataset_kwargs=SMALL_SHOP)
    task = task_of(env)
    assert isinstance(task, Task) and task is env.unwrapped.task
    assert task_of(TimeLimit(env, 1)) is task
    venv = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=3, reward="expand", dataset_kwargs=SMALL_SHOP)
    assert task_of(venv).kind == "search" and task_of(venv).preset.name == "expand"
    with pytest.raises(TypeError, match="not a recgym env"):
        task_of(gym.make("CartPole-v1"))


def test_task_score_equals_env_steps_in_one_recommender_call():
    env = gym.make("RecR1/Shop-BM25-v0", reward="plain", split="test", dataset_kwargs=SMALL_SHOP)
    task = task_of(env)
    examples = list(task.examples("test")[:5])
    actions = [task.raw_query(ex) + extra for ex, extra in zip(examples, ["", " mug", " chair", "", " lamp"])]
    stepped = []
    for i, action in enumerate(actions):
        obs, info = env.reset(options={"index": i})
        assert obs == task.observation(examples[i]) and info["raw_action"] == task.raw_action(examples[i])
        assert info["split_size"] == task.num_examples("test") == len(task.examples("test"))
        stepped.append(env.step(action)[1])
    rewards, infos = task.score(actions, examples)
    assert rewards.tolist() == stepped
    assert list(infos["example_id"]) == [ex.example_id for ex in examples]
    assert list(infos["query"]) == actions  # plain: the action is the query


def test_feedback_is_the_black_box_top_titles():
    task = task_of(gym.make("RecR1/Shop-BM25-v0", dataset_kwargs=SMALL_SHOP))
    query = task.catalog.titles[7]
    top = task.feedback([query, ""], 3)
    assert top[0][0] == query and len(top[0]) == 3  # a title is its own best BM25 match
    assert top[1] == []


def test_split_size_comes_through_reset_alone():
    venv = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=2, dataset_kwargs=SMALL_SHOP)
    assert split_size(venv, "val") == task_of(venv).num_examples("val") > 0
    assert split_size(venv, "no-such-split") == 0


@dataclass(frozen=True)
class ShoutPreset(RewardPreset):
    """A custom preset for the test: the query is the action in upper case; reward = 2 x metric."""

    name: ClassVar[str] = "test-shout"

    def query_of(self, action: str, raw_query: str) -> tuple[str, bool]:
        return action.upper(), True

    def action_for(self, query: str, raw_query: str = "") -> str:
        return query.lower()

    def reward(self, format_ok, metric):
        return 2.0 * np.asarray(metric, dtype=np.float64)

    @property
    def reward_range(self) -> tuple[float, float]:
        return (0.0, 2.0)


def test_a_custom_preset_is_one_class_and_one_registration():
    register_preset(ShoutPreset)
    try:
        assert "test-shout" in preset_names() and isinstance(get_preset("test-shout"), ShoutPreset)
        env = gym.make("RecR1/Shop-BM25-v0", reward="test-shout", split="test", dataset_kwargs=SMALL_SHOP)
        plain = gym.make("RecR1/Shop-BM25-v0", reward="plain", split="test", dataset_kwargs=SMALL_SHOP)
        assert env.unwrapped.reward_range == (0.0, 2.0)
        examples = task_of(plain).examples("test")[:20]
        best = int(np.argmax(task_of(plain).score([ex.query for ex in examples], examples)[0]))
        _, info = env.reset(options={"index": best})
        plain.reset(options={"index": best})
        assert info["raw_action"] == info["raw_query"].lower()
        _, reward, _, _, step_info = env.step(info["raw_query"])
        _, plain_reward, *_ = plain.step(info["raw_query"].upper())
        assert step_info["query"] == info["raw_query"].upper()
        assert reward == pytest.approx(2 * plain_reward) and plain_reward > 0
        raw = evaluate(RawQueryAgent(), env, "test", max_examples=10)  # the baseline plays preset.raw_action
        assert raw["reward"] == pytest.approx(2 * raw["ndcg@100"])
    finally:
        PRESETS.pop("test-shout", None)
    with pytest.raises(TypeError, match="RewardPreset subclass"):
        register_preset(dict)  # type: ignore[arg-type]


def test_builtin_presets_action_for_round_trips_through_parse():
    raw = "hot coffee"
    for name in ("recr1", "plain", "expand"):
        preset = get_preset(name)
        for query in ("hot coffee thermos mug", "thermos", raw):
            searched, ok = preset.parse(preset.action_for(query, raw), raw)
            assert ok
            expected = query if name != "expand" or query.startswith(raw) else f"{raw} {query}"
            assert searched == expected, (name, query)


def mugs(num_copies: int = 1) -> TaskDataset:
    """A custom task's loader: three mugs, one query whose relevant items are the two travel mugs."""
    titles = {"a": "steel travel mug", "b": "travel mug with lid", "c": "ceramic coffee mug"}
    catalog = Catalog(item_ids=tuple(titles), fields={"title": tuple(titles.values())})
    examples = (Example("q0", query="travel mug", relevant={"a": 1.0, "b": 1.0}),) * num_copies
    return TaskDataset("mugs", "search", catalog, {"train": examples, "test": examples})


def test_a_custom_task_is_one_spec():
    spec = TaskSpec("TestMugs", "testmugs", "search", ("BM25",), loader=mugs)
    register_task(spec)
    try:
        assert "RecR1/TestMugs-BM25-v0" in registered_ids()
        env = gym.make("RecR1/TestMugs-BM25-v0", reward="plain", dataset_kwargs={"num_copies": 2})
        assert task_of(env).num_examples("train") == 2
        env.reset(options={"index": 0})
        _, reward, *_ = env.step("travel mug")
        assert reward == pytest.approx(1.0)  # both travel mugs ranked first: ideal NDCG
        env.reset(options={"index": 0})
        assert env.step("ceramic")[1] == 0.0
        with pytest.raises(ValueError, match="already registered"):
            register_task(TaskSpec("TestMugs", "other", "search", ("BM25",), loader=mugs))
        with pytest.raises(ValueError, match="kind"):
            TaskSpec("X", "x", "ranking", ("BM25",), loader=mugs)
    finally:
        TASKS.pop("testmugs", None)
        gym.registry.pop("RecR1/TestMugs-BM25-v0", None)


# ------------------------------------------------------------------------------------- no reaching into envs
def private_accesses(path: Path) -> list[str]:
    """``x.scorer`` and ``x._name`` (not on ``self``/``cls``, not dunder) and imports of ``_names`` from recgym."""
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute):
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if node.attr == "scorer" or (private and not own):
                found.append(f"{where}:{node.lineno}: .{node.attr} of {ast.unparse(node.value)}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("recgym"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{where}:{node.lineno}: imports {node.module}.{alias.name}")
    return found


def test_private_access_checker_catches_what_it_should(tmp_path):
    probe = tmp_path / "probe.py"
    text = "env.unwrapped.scorer\nrec._retriever\nself._ok\nx.__class__\nfrom recgym.agents.base import _hidden\n"
    probe.write_text(text, encoding="utf-8")
    assert sorted(f.split(": ", 1)[1] for f in private_accesses(probe)) == [
        "._retriever of rec",
        ".scorer of env.unwrapped",
        "imports recgym.agents.base._hidden",
    ]


def test_nothing_outside_envs_and_recommenders_reads_private_state():
    allowed = (ROOT / "recgym" / "envs", ROOT / "recgym" / "recommenders")
    files = [p for d in ("recgym", "examples", "benchmarks") for p in sorted((ROOT / d).rglob("*.py"))]
    found = [hit for p in files if not p.is_relative_to(allowed[0]) and not p.is_relative_to(allowed[1])
             for hit in private_accesses(p)]
    assert found == []
