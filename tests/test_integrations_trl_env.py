"""TRL ``environment_factory``: recgym's env class driven by TRL's own GRPOTrainer (reset, the ``answer`` tool,
get_reward, the logged reward), and the contract's pieces on their own."""

import inspect
import json

import numpy as np
import pytest
from test_integrations_trl import ENV_ID, SMALL_SHOP, rescore, two_step_config

from recgym.integrations.trl_env import RecGymEnvFactory, RecGymToolEnv, env_rows, make_env_dataset
from recgym.rewards import format_answer

QUERY_WORDS = ("wireless", "headphones", "lamp", "mug", "shoes", "jacket", "watch", "kettle", "chair", "bag")
# the tool call the tiny model is steered to write, one token at a time (see ToolCallSteer); whitespace is a token
CALL_OPEN = ("<tool_call>", "\n", '{"name":', " ", '"answer",', " ", '"arguments":', " ", '{"query":', " ", '"')
CALL_CLOSE = ('"}}', "\n", "</tool_call>", "<|im_end|>")


def factory(**kwargs):
    return RecGymEnvFactory(ENV_ID, dataset_kwargs=SMALL_SHOP, **kwargs)


# ------------------------------------------------------------------------------------------------ the contract
def test_tools_are_exactly_answer_as_trl_sees_them():
    from transformers.utils import get_json_schema

    # TRL lists public functions of the class (inspect.getmembers(type(env), inspect.isfunction))
    public = [n for n, _ in inspect.getmembers(RecGymToolEnv, inspect.isfunction) if not n.startswith("_")]
    assert sorted(public) == ["answer", "get_reward", "reset"]
    schema = get_json_schema(RecGymToolEnv(factory()).answer)["function"]
    assert schema["name"] == "answer" and schema["parameters"]["required"] == ["query"]


def test_reset_answer_reward_equal_env_step_in_one_search(monkeypatch):
    make = factory(reward="recr1")
    searches = []
    original = make.task.recommender.search
    monkeypatch.setattr(make.task.recommender, "search", lambda q, k: searches.append(len(q)) or original(q, k))
    rows = env_rows(make, "test", max_examples=3)
    envs = [make() for _ in rows]
    observations = [env.reset(**row) for env, row in zip(envs, rows)]
    assert observations[1] == make.task.observation(make.task.examples("test")[1])
    envs[0].answer("wireless headphones")
    envs[2].answer("ceramic coffee mug")  # envs[1] never answers
    rewards = [env.get_reward() for env in envs]
    assert searches == [3]  # all three scored by the first get_reward, in one search
    actions = [format_answer("wireless headphones"), "", format_answer("ceramic coffee mug")]
    assert rewards == rescore(actions, [0, 1, 2], ["test"] * 3, reward="recr1")
    assert rewards[1] == -2.0 and make.history[-1]["texts"] == actions
    with pytest.raises(ValueError, match="different env"):
        make().reset(index=0, split="test", example_id="not-this-one")


def test_dataset_rows_and_no_index_draw():
    pytest.importorskip("datasets", reason="make_env_dataset needs the extra: pip install 'recgym[trl]'")
    make = factory(split="test")
    ds = make_env_dataset(make, max_examples=4, system_prompt="Use the answer tool.")
    assert len(ds) == 4 and ds[2]["prompt"][-1] == {"role": "user", "content": ""} and ds[2]["split"] == "test"
    env = make()
    obs = env.reset()  # no dataset: the env draws an example of its split
    assert obs == make.task.observation(make.task.examples("test")[env.episode.index])


# ------------------------------------------------------------------------------------------------ TRL GRPO
class ToolCallSteer:
    """Logits processor for the tiny random model: it must write ``<tool_call> {"name": "answer", ...}`` token by
    token, the two query words are the MODEL's sampled choice among QUERY_WORDS, and after the tool's response it
    ends the turn. TRL's own code then parses the call, runs the tool and asks the env for the reward."""

    def __init__(self, tokenizer, prompt_len):
        vocab = tokenizer.get_vocab()
        self.prompt_len, self.eos = prompt_len, vocab["<|im_end|>"]
        self.response = vocab["<tool_response>"]
        words = [vocab[w] for w in QUERY_WORDS]
        self.program = [[vocab[t]] for t in (*CALL_OPEN, "*", " ", "*", *CALL_CLOSE)]
        self.program[len(CALL_OPEN)] = self.program[len(CALL_OPEN) + 2] = words  # the model's choice

    def __call__(self, input_ids, scores):
        import torch

        step = input_ids.shape[1] - self.prompt_len
        for row in range(input_ids.shape[0]):
            after_tool = bool((input_ids[row] == self.response).any())
            allowed = [self.eos] if after_tool or step >= len(self.program) else self.program[step]
            mask = torch.full_like(scores[row], float("-inf"))
            mask[allowed] = 0.0
            scores[row] = scores[row] + mask
        return scores


def tool_policy():
    from tokenizers import Regex, decoders, pre_tokenizers
    from transformers import LogitsProcessorList
    from trl.chat_template_utils import qwen2_5_chat_template

    from recgym.models import TINY_WORDS, tiny_policy

    extra = ("<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "*", *CALL_OPEN, *CALL_CLOSE)
    model, tokenizer = tiny_policy(seed=0, words=(*TINY_WORDS, *QUERY_WORDS, *extra))
    tokenizer.chat_template = qwen2_5_chat_template  # a template TRL knows how to parse tool calls for
    # keep whitespace as tokens and decode by concatenation: transformers' response parser finds the assistant
    # turn by the literal "<|im_start|>assistant\n" in the decoded prompt
    backend = tokenizer.backend_tokenizer
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"\s"), behavior="isolated")
    backend.decoder = decoders.Fuse()
    generate = model.generate

    def steered_generate(*args, **kwargs):
        steer = ToolCallSteer(tokenizer, kwargs["input_ids"].shape[1])
        return generate(*args, logits_processor=LogitsProcessorList([steer]), **kwargs)

    model.generate = steered_generate
    return model, tokenizer


def test_trl_grpo_two_steps_through_the_factory(tmp_path, monkeypatch):
    """Two real GRPO steps with environment_factory: TRL resets the envs from the rows, parses the model's
    ``answer`` tool calls, runs them and logs get_reward's mean. Each step's rewards come from ONE recommender
    search and equal recgym's own reset/step for the same query; the queries are the ones in TRL's completions."""
    trl = pytest.importorskip("trl", reason="TRL's GRPOTrainer needs the extra: pip install 'recgym[trl]'")
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    make = factory(reward="plain")
    searches = []
    original = make.task.recommender.search
    monkeypatch.setattr(make.task.recommender, "search", lambda q, k: searches.append(len(q)) or original(q, k))
    seen = []

    def completions_seen(completions, **_):  # weight 0: only records what TRL decoded
        seen.append([json.dumps(c, default=str) for c in completions])
        return [0.0] * len(completions)

    model, tokenizer = tool_policy()
    # TRL appends get_reward with weight 1
    config = two_step_config(trl, tmp_path, max_completion_length=48, reward_weights=[0.0])
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=completions_seen,
        args=config,
        train_dataset=make_env_dataset(make),
        processing_class=tokenizer,
        environment_factory=make,
    )
    trainer.train()

    assert searches == [8, 8] and len(make.history) == 2  # one batched search per step
    logged = [h["rewards/RecGymToolEnv/mean"] for h in trainer.state.log_history if "rewards/RecGymToolEnv/mean" in h]
    assert len(logged) == 2
    assert [h["tools/call_frequency"] for h in trainer.state.log_history if "tools/call_frequency" in h] == [1.0, 1.0]
    for batch, logged_mean, completions in zip(make.history, logged, seen):
        queries = batch["texts"]  # plain preset: the action is the query itself
        assert all(q.split() and set(q.split()) <= set(QUERY_WORDS) for q in queries)
        assert all(json.dumps(q)[1:-1] in c for q, c in zip(queries, completions))  # TRL parsed these calls
        assert batch["rewards"] == pytest.approx(
            rescore(queries, batch["indices"], batch["splits"], reward="plain"), abs=1e-12
        )
        assert logged_mean == pytest.approx(float(np.mean(batch["rewards"])), abs=1e-6)
        assert len(set(batch["indices"][:4])) == 1 and len(set(batch["indices"][4:])) == 1  # GRPO groups
    assert len({r for b in make.history for r in b["rewards"]}) > 1  # the check is not vacuous
