"""verifiers adapter: verifiers' own rollout-and-score path (``env.run_group``) with a client that answers fixed
texts (no network, no LLM); the rubric's group reward scores each group in ONE recommender search and equals
recgym's own reward."""

import asyncio
import time

import pytest

vf = pytest.importorskip("verifiers", reason="the verifiers adapter needs the extra: pip install 'recgym[verifiers]'")
if not hasattr(vf, "SingleTurnEnv"):
    pytest.skip("recgym's adapter uses the classic verifiers API: pip install 'verifiers<0.4'", allow_module_level=True)

from recgym.envs import task_of  # noqa: E402
from recgym.integrations import make_env  # noqa: E402
from recgym.integrations.verifiers import GroupReward, load_environment  # noqa: E402
from recgym.rewards import format_answer  # noqa: E402

ENV_ID = "RecR1/Shop-BM25-v0"
SMALL_SHOP = {"num_products": 400, "num_queries": 200}


class FixedClient(vf.Client):
    """A verifiers Client whose model answers the next text of a fixed list, in call order."""

    def __init__(self, answers):
        super().__init__(object())
        self.answers = list(answers)

    def setup_client(self, config):
        return object()

    async def to_native_tool(self, tool):
        return tool

    async def to_native_prompt(self, messages):
        return messages, {}

    async def get_native_response(self, prompt, model, sampling_args, tools=None, **kwargs):
        return self.answers.pop(0)

    async def raise_from_native_response(self, response):
        return None

    async def from_native_response(self, response):
        message = vf.types.ResponseMessage(content=response, finish_reason="stop", is_truncated=False)
        return vf.types.Response(id="fixed", created=int(time.time()), model="fixed", message=message)

    async def close(self):
        return None


def rescore(texts, index, split, **env_kwargs):
    env = make_env(ENV_ID, {"dataset_kwargs": SMALL_SHOP, **env_kwargs})
    out = []
    for text in texts:
        env.reset(options={"index": index, "split": split})
        out.append(env.step(text)[1])
    return out


def test_rows_carry_the_envs_prompt_and_example():
    env = load_environment(ENV_ID, dataset_kwargs=SMALL_SHOP, max_examples=3, eval_split="test")
    gym_env = make_env(ENV_ID, {"dataset_kwargs": SMALL_SHOP})
    obs, info = gym_env.reset(options={"index": 2, "split": "train"})
    row = env.dataset[2]
    assert row["prompt"] == [{"role": "user", "content": obs}]
    assert row["info"] == {"split": "train", "index": 2, "example_id": info["example_id"]}
    assert len(env.eval_dataset) == 3 and env.eval_dataset[0]["info"]["split"] == "test"


def test_run_group_scores_fixed_completions_in_one_search(monkeypatch):
    env = load_environment(ENV_ID, reward="recr1", dataset_kwargs=SMALL_SHOP, max_examples=4)
    # SingleTurnEnv groups our rubric with its own monitor rubric
    reward = next(f for r in env.rubric.rubrics for f in r.funcs if isinstance(f, GroupReward))
    searches = []
    rec = reward.task.recommender
    original = rec.search
    monkeypatch.setattr(rec, "search", lambda q, k: searches.append(len(q)) or original(q, k))

    task = task_of(make_env(ENV_ID, {"dataset_kwargs": SMALL_SHOP}))
    example = task.examples("train")[3]
    target = max(example.relevant, key=example.relevant.get)
    title = task.catalog.titles[task.catalog.position(target)]
    answers = [format_answer(title), task.raw_action(example), "no answer block", format_answer("")]
    group = [env.dataset[3]] * len(answers)  # a GRPO group: one prompt, several completions
    outputs = asyncio.run(env.run_group(group, FixedClient(answers), "fixed", {}))

    assert searches == [4] and reward.calls == 1  # ONE batched recommender search for the group
    expected = rescore(answers, 3, "train", reward="recr1")
    assert [o["reward"] for o in outputs] == pytest.approx(expected, abs=1e-12)
    assert reward.last["texts"] == answers
    assert expected[2] == -2.0 and expected[0] > 0.1  # malformed answer penalised; the target's title found
    assert [o["metrics"]["recgym_reward"] for o in outputs] == pytest.approx(expected, abs=1e-12)
