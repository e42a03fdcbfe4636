"""Agents by name: :func:`make_agent` builds any kind of agent, :func:`load_agent` any saved one. The command line
(``recgym eval / train / bench``) and the examples build their agents here.

One convention for every agent:

- **Build** with ``make_agent(spec, env=None, **options)``. ``spec`` is a kind of :data:`AGENT_KINDS` (``raw``,
  ``random``, ``prf``, ``prompt``, ``grpo``, ``sft``) for a new agent, or ``KIND:FOLDER`` for one of that kind saved
  earlier. ``env`` is the env the agent acts in (single or vector, wrapped or not); kinds that never read it
  (``raw``, the LLM kinds) take ``None``. ``options`` are the kind's keywords, listed in
  ``AGENT_KINDS[kind].options`` (anything else is a ``TypeError``). The LLM kinds' ``model`` is a name as
  ``--model`` takes it (a folder, a Hub id, ``"tiny"``, ``None`` for the default) or a loaded model passed with
  ``tokenizer=``.
- **Act** with ``agent.act(observations, infos)``: the batch's observations (prompt texts) and reset infos -> one
  action text each.
- **Save** with ``agent.save(directory)`` (``agent.json``: the class and its parameters; LLM agents add their
  weights under ``policy/``) and **load** with ``load_agent(directory, env=None, **options)``, whatever the kind,
  or ``Cls.load(directory, env=None, ...)`` on the class itself.
- The classes' own constructors keep working and are what the registry calls:
  ``PseudoRelevanceFeedbackAgent(env, fb_terms=5)``, ``PromptingAgent(model, tokenizer)``,
  ``GRPOAgent(config, model, tokenizer)``, ...

Adding a kind is one entry of :data:`AGENT_KINDS`: the class (imported on first use, so that naming kinds imports no
torch), the function that builds it and the options that function takes. Example::

    agent = make_agent("prf", env, fb_terms=5)
    llm = make_agent("prompt", env, model="tiny", max_new_tokens=16)
    learner = make_agent("grpo", env, config=GRPOConfig.cpu(), model="tiny")   # then learner.train(venv)
    agent.save("runs/prf"); same = load_agent("runs/prf", env)
    trained = make_agent("grpo:runs/shop/final", env)
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from recgym.agents import base
from recgym.agents.base import Agent, read_agent_file


class AgentSpecError(ValueError):
    """An agent spec that names no kind, or a folder that holds another kind of agent."""


@dataclass(frozen=True)
class AgentKind:
    """One kind of agent.

    Attributes:
        agent_class: ``"module.Class"`` of its agents (as their ``agent.json`` records it); imported on first use.
        build: ``build(cls, env, **options) -> agent``: a new agent of class ``cls`` acting in ``env``.
        options: The keywords ``build`` takes.
        title: Its name in result tables.
        help: One line for ``--help``.
        trainable: Trained by ``recgym train --algo KIND`` (the class has ``config_class`` and ``train(venv)``).
        load_options: The keywords a saved agent of the kind loads with (``KIND:FOLDER``).
    """

    agent_class: str
    build: Callable[..., Any]
    options: tuple[str, ...]
    title: str
    help: str
    trainable: bool = False
    load_options: tuple[str, ...] = ()

    def resolve(self) -> type:
        """The agent class (imported now)."""
        module, _, name = self.agent_class.rpartition(".")
        return getattr(importlib.import_module(module), name)


# ------------------------------------------------------------------------------------------------- builders
def _plain(cls: type, env: Any) -> Any:
    return cls()


def _random(cls: type, env: Any, **options: Any) -> Any:
    if env is None:
        raise TypeError("a random agent samples the env's action space: make_agent('random', env)")
    space = env.single_action_space if isinstance(env, gym.vector.VectorEnv) else env.action_space
    return cls(space, **options)


def _in_env(cls: type, env: Any, **options: Any) -> Any:
    return cls(env, **options)


def _prf(cls: type, env: Any, **options: Any) -> Any:
    if base.search_budget(env) is not None:  # the multi-turn agent env: PRF played as its turns
        from recgym.agents.scripted import PRFSearchAgent

        return PRFSearchAgent(env, **options)
    return cls(env, **options)


def _prompting(cls: type, env: Any, model: Any = None, tokenizer: Any = None, max_new_tokens: int | None = None,
               **options: Any) -> Any:
    if max_new_tokens is not None:
        if "sampling" in options:
            raise TypeError("pass max_new_tokens or sampling, not both")
        from recgym.agents.hf_policy import SamplingConfig

        options["sampling"] = SamplingConfig(max_new_tokens=max_new_tokens)
    return cls(*policy_of(model, tokenizer), **options)


def _trainable(cls: type, env: Any, config: Any = None, model: Any = None, tokenizer: Any = None,
               **options: Any) -> Any:
    # no model: the agent loads its config's model_name_or_path
    pair = (None, None) if model is None else policy_of(model, tokenizer)
    return cls(config, *pair, **options)


LLM_LOAD_OPTIONS = ("model", "tokenizer")
"""A saved LLM agent's load options: the base model of a LoRA adapter (self-contained agents ignore it)."""

AGENT_KINDS: dict[str, AgentKind] = {
    "raw": AgentKind("recgym.agents.baselines.RawQueryAgent", _plain, (), "raw query",
                     "the example's own query, unchanged (the no-rewriting baseline)"),
    "random": AgentKind("recgym.agents.baselines.RandomAgent", _random, ("seed",), "random",
                        "random text from the env's action space (the floor)"),
    "prf": AgentKind("recgym.agents.prf.PseudoRelevanceFeedbackAgent", _prf,
                     ("fb_docs", "fb_terms", "original_weight"), "PRF (RM3)",
                     "RM3 pseudo-relevance feedback from the recommender's first retrieval (on an agent env: "
                     "PRFSearchAgent, its search then its answer)"),
    "prompt": AgentKind("recgym.agents.prompting.PromptingAgent", _prompting,
                        ("model", "tokenizer", "max_new_tokens", "sampling", "system_prompt", "batch_size",
                         "response_prefix"), "zero-shot LLM", "a frozen LLM answers each prompt (zero-shot)",
                        load_options=LLM_LOAD_OPTIONS),
    "grpo": AgentKind("recgym.agents.grpo.trainer.GRPOAgent", _trainable, ("config", "model", "tokenizer"),
                      "GRPO (Rec-R1)", "an LLM trained with GRPO on the env's reward (Rec-R1)", trainable=True,
                      load_options=LLM_LOAD_OPTIONS),
    "sft": AgentKind("recgym.agents.sft.trainer.SFTAgent", _trainable, ("config", "model", "tokenizer", "pairs"),
                     "SFT", "an LLM fine-tuned on (prompt, completion) pairs", trainable=True,
                     load_options=LLM_LOAD_OPTIONS),
}
"""Every agent kind by name; ``make_agent`` reads it, ``recgym eval --agent`` and ``train --algo`` offer it."""


# ---------------------------------------------------------------------------------------------- entry points
def parse_spec(spec: str) -> tuple[str, str | None]:
    """``(kind, folder)`` of ``KIND`` or ``KIND:FOLDER``; :class:`AgentSpecError` for an unknown kind."""
    name, sep, folder = spec.partition(":")
    if name not in AGENT_KINDS:
        raise AgentSpecError(f"unknown agent {spec!r}; kinds: {', '.join(AGENT_KINDS)}")
    if sep and not folder:
        raise AgentSpecError(f"agent {spec!r}: name the saved agent's folder after the ':'")
    return name, folder or None


def option_names(spec: str) -> tuple[str, ...]:
    """The keyword options ``make_agent(spec, ...)`` takes."""
    name, folder = parse_spec(spec)
    kind = AGENT_KINDS[name]
    return kind.load_options if folder else kind.options


def options_for(spec: str, offered: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``offered`` that ``spec`` takes as options: for a caller with one set of settings for agents of
    several kinds (``recgym eval``'s ``--model``, ``--seed``, ...)."""
    names = option_names(spec)
    return {key: value for key, value in offered.items() if key in names}


def make_agent(spec: str, env: Any = None, **options: Any) -> Agent:
    """A new agent of kind ``spec`` acting in ``env``, or (``KIND:FOLDER``) the agent of that kind saved in FOLDER.

    Raises:
        AgentSpecError: ``spec`` names no kind, or FOLDER holds an agent of another kind.
        TypeError: an option the kind does not take (:func:`option_names` lists those it does).
        FileNotFoundError: FOLDER is not a saved agent.
    """
    name, folder = parse_spec(spec)
    allowed = option_names(spec)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"agent {spec!r} takes no option {', '.join(unknown)}; its options: "
                        f"{', '.join(allowed) or 'none'}")
    kind = AGENT_KINDS[name]
    if folder is None:
        return kind.build(kind.resolve(), env, **options)
    class_path, _ = read_agent_file(folder)
    if class_path != kind.agent_class:
        raise AgentSpecError(f"agent {spec!r}: {folder} holds a {class_path}, not a {kind.agent_class}")
    return kind.resolve().load(folder, env=env, **_policy_options(**options))


def load_agent(directory: str | os.PathLike[str], env: Any = None, **options: Any) -> Agent:
    """Whatever agent was saved in ``directory`` (its class is recorded in ``agent.json``), acting in ``env`` (the
    agents that read it, like PRF, need it). ``model`` (a name, or a loaded model with ``tokenizer=``) is the base
    model of an LLM agent saved as a LoRA adapter (default: the one its config names)."""
    return base.load_agent(directory, env=env, **_policy_options(**options))


def saved_spec(folder: str | os.PathLike[str]) -> str:
    """``KIND:FOLDER`` of the agent saved in ``folder``, its kind found from the class its ``agent.json`` records."""
    class_path, _ = read_agent_file(folder)
    name = next((n for n, kind in AGENT_KINDS.items() if kind.agent_class == class_path), None)
    if name is None:
        raise AgentSpecError(f"{folder} holds a {class_path}, which is no kind of recgym.agents.AGENT_KINDS")
    return f"{name}:{folder}"


def trainable_kinds() -> tuple[str, ...]:
    """The kinds ``recgym train --algo`` trains."""
    return tuple(name for name, kind in AGENT_KINDS.items() if kind.trainable)


# ------------------------------------------------------------------------------------------------ policies
def policy_of(model: Any = None, tokenizer: Any = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from a policy name (``recgym.models.load_policy``: a folder, a Hub id, ``"tiny"``,
    ``None`` for the offline default) or from a loaded model and its tokenizer."""
    if model is None or isinstance(model, (str, os.PathLike)):
        if tokenizer is not None:
            raise TypeError("a tokenizer goes with a loaded model, not with a model name")
        from recgym.models import load_policy

        return load_policy(None if model is None else str(model))
    if tokenizer is None:
        raise TypeError("pass the tokenizer together with the model")
    return model, tokenizer


def _policy_options(model: Any = None, tokenizer: Any = None, **options: Any) -> dict[str, Any]:
    """A saved agent's load options, with a model name resolved to ``model`` and ``tokenizer`` objects."""
    if model is not None:
        options["model"], options["tokenizer"] = policy_of(model, tokenizer)
    elif tokenizer is not None:
        raise TypeError("pass the model together with the tokenizer")
    return options


__all__ = ["AGENT_KINDS", "AgentKind", "AgentSpecError", "load_agent", "make_agent", "option_names", "options_for",
           "parse_spec", "policy_of", "saved_spec", "trainable_kinds"]
