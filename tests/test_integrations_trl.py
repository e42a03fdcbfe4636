"""TRL and verl bridges: prompts as a Dataset, rewards through the (vector) env -- equal to recgym's own rewards."""

import json
import runpy
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import recgym  # noqa: F401  (registers the ids)
from recgym.envs import task_of
from recgym.integrations import verl
from recgym.integrations.trl import RecGymReward, completion_text, make_dataset, prompt_rows
from recgym.rewards import format_answer

ENV_ID = "RecR1/Shop-BM25-v0"
SMALL_SHOP = {"num_products": 400, "num_queries": 200}


def shop(**kwargs) -> gym.Env:
    return gym.make(ENV_ID, dataset_kwargs=SMALL_SHOP, **kwargs)


def rescore(texts, indices, splits, **env_kwargs) -> list[float]:
    """recgym's own reward for each text, one plain reset/step of a fresh single env per example."""
    env = shop(**env_kwargs)
    out = []
    for text, index, split in zip(texts, indices, splits):
        env.reset(options={"index": int(index), "split": split})
        out.append(env.step(text)[1])
    return out


# ------------------------------------------------------------------------------------------------ dataset
def test_dataset_columns_and_formats():
    pytest.importorskip("datasets")
    ds = make_dataset(ENV_ID, "test", dataset_kwargs=SMALL_SHOP)
    env = shop()
    assert ds.column_names == ["prompt", "example_id", "split", "index"]
    assert len(ds) == task_of(env).num_examples("test")
    obs, info = env.reset(options={"index": 4, "split": "test"})
    assert ds[4]["prompt"] == [{"role": "user", "content": obs}]
    assert (ds[4]["example_id"], ds[4]["split"], ds[4]["index"]) == (info["example_id"], "test", 4)
    plain = make_dataset(ENV_ID, "test", conversational=False, max_examples=3, dataset_kwargs=SMALL_SHOP)
    assert len(plain) == 3 and plain[0]["prompt"] == env.reset(options={"index": 0, "split": "test"})[0]
    system = prompt_rows(env, "test", system_prompt="Be brief.", max_examples=1)
    assert system[0]["prompt"][0] == {"role": "system", "content": "Be brief."}


def test_missing_datasets_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` raise ImportError
    with pytest.raises(ImportError, match=r"recgym\[trl\]"):
        make_dataset(ENV_ID, "test", dataset_kwargs=SMALL_SHOP)


# ------------------------------------------------------------------------------------------------ reward function
def test_reward_function_scores_a_batch_in_one_search(monkeypatch):
    reward = RecGymReward(ENV_ID, reward="recr1", dataset_kwargs=SMALL_SHOP)
    searches = []
    rec = reward.task.recommender
    original = rec.search
    monkeypatch.setattr(rec, "search", lambda q, k: searches.append(len(q)) or original(q, k))
    env = shop(reward="recr1")
    infos = [env.reset(options={"index": i, "split": s})[1] for i, s in [(0, "test"), (1, "test"), (2, "train")]]
    completions = [
        [{"role": "assistant", "content": infos[0]["raw_action"]}],  # conversational
        "no answer block",  # malformed under recr1
        [{"role": "assistant", "content": infos[2]["raw_action"]}],
    ]
    logged = {}
    rewards = reward(
        prompts=["p"] * 3,
        completions=completions,
        index=[0, 1, 2],
        split=["test", "test", "train"],
        example_id=[i["example_id"] for i in infos],
        log_metric=logged.__setitem__,
        trainer_state=None,
    )
    assert searches == [3]  # one batched search for the whole batch, whatever its splits
    texts = [completion_text(c) for c in completions]
    assert rewards == rescore(texts, [0, 1, 2], ["test", "test", "train"], reward="recr1")
    assert rewards[1] == -2.0 and logged["recgym/format_ok"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="different env"):
        reward(completions=["x"], index=[0], split=["test"], example_id=["not-this-one"])


def test_completion_text_formats():
    assert completion_text("abc") == "abc"
    assert completion_text([{"role": "assistant", "content": "q"}]) == "q"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"text": "b"}]}]) == "ab"


def two_step_config(trl, output_dir, **overrides):
    """TRL GRPOConfig for a 2-step CPU run of a tiny model: 8 completions a step in groups of 4, logged each step."""
    settings = dict(output_dir=str(output_dir), max_steps=2, per_device_train_batch_size=8, num_generations=4,
                    learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to="none", use_cpu=True,
                    bf16=False, seed=0)
    return trl.GRPOConfig(**{**settings, **overrides})


# ------------------------------------------------------------------------------------------------ TRL GRPO
def test_trl_grpo_two_steps_rewards_equal_recgyms(tmp_path):
    """Two real TRL GRPO steps on the tiny model: every reward TRL received, and the per-step mean it logged, equal
    recgym's own reward for the same completion (re-scored through a fresh env's reset/step)."""
    trl = pytest.importorskip("trl")
    from recgym.models import tiny_policy

    env_kwargs = {"reward": "plain", "dataset_kwargs": SMALL_SHOP}
    dataset = make_dataset(ENV_ID, "train", **env_kwargs)
    reward = RecGymReward(ENV_ID, **env_kwargs)
    calls = []

    def recgym_reward(prompts, completions, **columns):
        rewards = reward(prompts, completions, **columns)
        calls.append({"completions": list(completions), **reward.last})
        return rewards

    model, tokenizer = tiny_policy(seed=0)
    config = two_step_config(trl, tmp_path, max_completion_length=8)
    trainer = trl.GRPOTrainer(
        model=model, reward_funcs=recgym_reward, args=config, train_dataset=dataset, processing_class=tokenizer
    )
    trainer.train()
    assert len(calls) == 2 and all(len(c["rewards"]) == 8 for c in calls)
    logged = [h["rewards/recgym_reward/mean"] for h in trainer.state.log_history if "rewards/recgym_reward/mean" in h]
    assert len(logged) == 2
    for call, logged_mean in zip(calls, logged):
        texts = [completion_text(c) for c in call["completions"]]
        assert texts == call["texts"]
        assert call["rewards"] == pytest.approx(rescore(texts, call["index"], call["split"], reward="plain"), abs=1e-12)
        assert logged_mean == pytest.approx(float(np.mean(call["rewards"])), abs=1e-6)
        # each GRPO group is one prompt repeated num_generations times
        assert len(set(call["index"][:4])) == 1 and len(set(call["index"][4:])) == 1
    assert any(r > 0 for c in calls for r in c["rewards"])  # the check is not vacuous


def test_trl_example_smoke(tmp_path, capsys):
    pytest.importorskip("trl")
    argv = [
        "--model",
        "tiny",
        "--steps",
        "2",
        "--prompts",
        "1",
        "--group",
        "4",
        "--max-new-tokens",
        "6",
        "--max-eval",
        "4",
        "--dataset-kwargs",
        json.dumps(SMALL_SHOP),
        "--out",
        str(tmp_path),
    ]
    namespace = runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / "trl_grpo.py"))
    results = namespace["main"](argv)
    assert len(results["curve"]) == 2 and (tmp_path / "results.json").is_file()
    assert "after 2 TRL GRPO steps" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------ verl
def test_verl_compute_score_on_known_answers():
    verl.clear_cache()
    env_kwargs = {"reward": "plain", "dataset_kwargs": SMALL_SHOP}
    env = shop(reward="plain")
    task = task_of(env)
    example = task.examples("test")[2]
    target = max(example.relevant, key=example.relevant.get)
    title = task.catalog.titles[task.catalog.position(target)]
    _, info = env.reset(options={"index": 2, "split": "test"})
    extra = {"env_id": ENV_ID, "env_kwargs": env_kwargs, "split": "test", "index": 2}

    raw_score = verl.compute_score(ENV_ID, info["raw_action"], example.example_id, extra)
    assert raw_score == pytest.approx(env.step(info["raw_action"])[4]["ndcg@100"])
    assert verl.compute_score(ENV_ID, title, example.example_id, extra) > 0.3  # the target's own title
    assert verl.compute_score(ENV_ID, "", "", extra) == 0.0  # empty query retrieves nothing
    # JSON env_kwargs and a dict give the same cached env; data_source stands in for a missing env_id
    extra_json = {**extra, "env_kwargs": json.dumps(env_kwargs)}
    assert verl.task_for_id(ENV_ID, env_kwargs) is verl.task_for_id(ENV_ID, json.dumps(env_kwargs))
    no_id = {k: v for k, v in extra_json.items() if k != "env_id"}
    assert verl.compute_score(ENV_ID, title, None, no_id) == verl.compute_score(ENV_ID, title, None, extra)
    # recr1: a malformed answer gets the format penalty, a formatted one 0.1 + NDCG
    recr1 = {**extra, "env_kwargs": {"dataset_kwargs": SMALL_SHOP}}
    assert verl.compute_score(ENV_ID, title, None, recr1) == -2.0
    assert verl.compute_score(ENV_ID, format_answer(title), None, recr1) == pytest.approx(
        0.1 + verl.compute_score(ENV_ID, title, None, extra)
    )
    with pytest.raises(ValueError, match="different env"):
        verl.compute_score(ENV_ID, title, "wrong-id", extra)
    with pytest.raises(KeyError):
        verl.compute_score(ENV_ID, title, None, {"env_id": ENV_ID})


def test_verl_rows_and_batch_scoring():
    rows = verl.make_verl_rows(ENV_ID, "test", env_kwargs={"dataset_kwargs": SMALL_SHOP}, max_examples=4)
    assert set(rows[0]) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
    assert json.loads(rows[0]["extra_info"]["env_kwargs"]) == {"dataset_kwargs": SMALL_SHOP}
    answers = [format_answer("wireless gaming mouse"), "broken", format_answer(""), format_answer("yoga mat")]
    args = (
        [r["data_source"] for r in rows],
        answers,
        [r["reward_model"]["ground_truth"] for r in rows],
        [r["extra_info"] for r in rows],
    )
    batch = verl.compute_score_batch(*args)
    single = [verl.compute_score(*one) for one in zip(*args)]
    assert batch == single == rescore(answers, range(4), ["test"] * 4)
    assert batch[1] == -2.0
