"""Every agent kind is made through ``recgym.agents.make_agent`` on the synthetic shop (LLM kinds with the tiny random
model), acts, and round-trips save/load (``load_agent`` and ``KIND:FOLDER``) acting identically; bad specs and
options fail clearly."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
import torch

import recgym  # noqa: F401  (registers the ids)
from recgym.agents import AGENT_KINDS, GRPOConfig, LLMAgent, SFTConfig, load_agent, make_agent
from recgym.agents.registry import AgentSpecError, option_names, options_for, saved_spec, trainable_kinds
from recgym.envs.vector_env import unbatch_infos

ENV = "RecR1/Shop-BM25-v0"
SMALL_SHOP = {"num_products": 300, "num_queries": 120}
NUM_ENVS = 4
# (spec, options to build it, options to load it): every kind at least once, a LoRA agent loaded on its base model
CASES = [
    ("raw", {}, {}),
    ("random", {"seed": 3}, {}),
    ("prf", {"fb_terms": 5}, {}),
    ("prompt", {"model": "tiny", "max_new_tokens": 4, "response_prefix": "shoes"}, {}),
    ("grpo", {"model": "tiny", "config": GRPOConfig(max_new_tokens=4, lora_r=0)}, {}),
    ("grpo", {"model": "tiny", "config": GRPOConfig(max_new_tokens=4, lora_r=4)}, {"model": "tiny"}),
    ("sft", {"model": "tiny", "config": SFTConfig(max_new_tokens=4)}, {}),
]


@pytest.fixture(scope="module")
def venv() -> gym.vector.VectorEnv:
    return gym.make_vec(ENV, num_envs=NUM_ENVS, dataset_kwargs=SMALL_SHOP)


@pytest.fixture(scope="module")
def batch(venv) -> tuple[list[str], list[dict]]:
    observations, infos = venv.reset(options={"indices": list(range(NUM_ENVS)), "split": "test"})
    return list(observations), unbatch_infos(infos, NUM_ENVS)


def perturb(agent: LLMAgent) -> None:
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in agent.policy.model.parameters():
            if param.requires_grad:
                param.add_(0.5 * torch.randn(param.shape, generator=generator))


def test_the_cases_cover_every_kind() -> None:
    assert {spec for spec, _, _ in CASES} == set(AGENT_KINDS)
    assert trainable_kinds() == ("grpo", "sft")


@pytest.mark.parametrize(("spec", "options", "load_options"), CASES,
                         ids=[f"{spec}-{i}" for i, (spec, _, _) in enumerate(CASES)])
def test_every_kind_is_made_acts_and_round_trips(spec, options, load_options, venv, batch, tmp_path: Path) -> None:
    observations, infos = batch
    agent = make_agent(spec, venv, **options)
    assert isinstance(agent, AGENT_KINDS[spec].resolve())
    if isinstance(agent, LLMAgent):
        perturb(agent)  # weights a fresh model (or fresh LoRA adapters) would not have: loading must restore them
    actions = agent.act(observations, infos)
    assert len(actions) == NUM_ENVS and all(isinstance(a, str) for a in actions)
    agent.save(tmp_path / spec)
    assert saved_spec(tmp_path / spec) == f"{spec}:{tmp_path / spec}"
    for loaded in (load_agent(tmp_path / spec, venv, **load_options),
                   make_agent(f"{spec}:{tmp_path / spec}", venv, **load_options)):
        assert type(loaded) is type(agent)
        assert loaded.act(observations, infos) == actions  # a loaded random agent restarts from its seed
    if spec in trainable_kinds():
        assert loaded.config == agent.config


def test_the_llm_agents_share_one_base() -> None:
    classes = [AGENT_KINDS[name].resolve() for name in ("prompt", "grpo", "sft")]
    assert all(issubclass(cls, LLMAgent) for cls in classes)
    for method in ("act", "save", "load"):
        assert {getattr(cls, method).__qualname__ for cls in classes} == {f"LLMAgent.{method}"}


def test_kinds_that_never_read_the_env_need_none(batch) -> None:
    observations, infos = batch
    assert make_agent("raw").act(observations, infos) == [info["raw_action"] for info in infos]
    with pytest.raises(TypeError, match="action space"):
        make_agent("random")


def test_bad_specs_and_options_fail_clearly(venv, tmp_path: Path) -> None:
    with pytest.raises(AgentSpecError, match="unknown agent 'bogus'"):
        make_agent("bogus", venv)
    with pytest.raises(AgentSpecError, match="folder"):
        make_agent("grpo:", venv)
    with pytest.raises(TypeError, match="takes no option seed; its options: fb_docs, fb_terms, original_weight"):
        make_agent("prf", venv, seed=1)
    with pytest.raises(FileNotFoundError, match="not a saved recgym agent"):
        make_agent(f"grpo:{tmp_path / 'missing'}", venv)
    make_agent("raw").save(tmp_path / "raw")
    with pytest.raises(AgentSpecError, match="holds a recgym.agents.baselines.RawQueryAgent"):
        make_agent(f"sft:{tmp_path / 'raw'}", venv)


def test_options_for_picks_what_a_kind_takes() -> None:
    offered = {"model": "tiny", "seed": 1, "max_new_tokens": 8}
    assert options_for("raw", offered) == {}
    assert options_for("random", offered) == {"seed": 1}
    assert options_for("prompt", offered) == {"model": "tiny", "max_new_tokens": 8}
    assert options_for("grpo:some/folder", offered) == {"model": "tiny"}
    assert option_names("sft") == ("config", "model", "tokenizer", "pairs")
