"""recgym envs in TRL's ``GRPOTrainer(environment_factory=...)`` contract (TRL >= 1.16, experimental there).

What TRL does with a factory (read from ``trl/trainer/grpo_trainer.py``): it calls ``factory()`` with no arguments
for one instance per rollout (pooled, reused across batches); before generation it calls ``instance.reset(**row)``
with the dataset row's columns and APPENDS the returned string to the prompt's last user message; every public
method other than ``reset``/``get_reward`` becomes a tool the model may call (schema from its type hints and
Google-style docstring); after the rollout it calls ``get_reward()`` (no arguments) once per instance and logs the
mean as ``rewards/<class name>/mean``.

So here a single-step recgym episode is: ``reset(index=..., split=...)`` returns the env's observation, the model
answers by calling the ``answer(query)`` tool, and ``get_reward()`` is the env's reward for the action
``preset.action_for(query, raw_query)`` -- what ``env.step`` gives for that action. A rollout that never calls
``answer`` is scored as the empty action (``env.step("")``: the format penalty under ``recr1``).

Batching: all instances of one :class:`RecGymEnvFactory` share its env's :class:`~recgym.envs.Task`. The first
``get_reward()`` after a batch scores every answered-but-unscored instance of the factory in ONE ``Task.score``
call (one recommender search); the rest read their reward from it.

    from trl import GRPOConfig, GRPOTrainer
    from recgym.integrations.trl_env import RecGymEnvFactory, make_env_dataset
    factory = RecGymEnvFactory("RecR1/Shop-BM25-v0", reward="plain")
    trainer = GRPOTrainer(model=..., environment_factory=factory, train_dataset=make_env_dataset(factory),
                          args=GRPOConfig(...))      # needs a chat template with tool calling (Qwen2.5/3, Llama 3.1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recgym.envs.agent_env import MAX_SEARCHES, RESULTS_PER_SEARCH, SearchAgentEnv
from recgym.integrations import make_env
from recgym.integrations._envs import score_rows, task_for
from recgym.integrations.trl import require
from recgym.prompts import AGENT_TOOL_CALLS, agent_template


class RecGymEnvFactory:
    """``environment_factory`` for TRL: ``factory()`` -> a new :class:`RecGymToolEnv` bound to this env.

    Args:
        env_id: A registered recgym id, made once with ``env_kwargs`` (its dataset and recommender serve every
            instance).
        split: The split rows without a ``split`` column (or no dataset at all) draw from.
        seed: Seeds the draw of an example when a row names no ``index``.
    """

    multi_turn = False  # the tool env scores one answer per rollout; the search factory below plays the agent env

    def __init__(self, env_id: str, *, split: str = "train", seed: int = 0, **env_kwargs: Any) -> None:
        self.env_id, self.env_kwargs, self.split = env_id, dict(env_kwargs), split
        self.env = make_env(env_id, env_kwargs)
        self.task = task_for(self.env, multi_turn=self.multi_turn)
        self.rng = np.random.default_rng(seed)
        self.instances: list[RecGymToolEnv] = []
        # one record per batched scoring call: texts (the actions), splits, indices, rewards -- for inspection
        self.history: list[dict[str, Any]] = []

    def __call__(self) -> RecGymToolEnv:
        instance = self._new_instance()
        self.instances.append(instance)
        return instance

    def _new_instance(self) -> RecGymToolEnv:
        return RecGymToolEnv(self)

    def score_pending(self) -> None:
        """Score every instance whose episode has no reward yet, in ONE ``Task.score`` call."""
        pending = [e.episode for e in self.instances if e.episode is not None and e.episode.reward is None]
        if not pending:
            return
        texts = [self.action_of(ep) for ep in pending]
        splits = [ep.split for ep in pending]
        indices = [ep.index for ep in pending]
        rewards, infos = score_rows(self.task, texts, splits, indices)
        for episode, reward, info in zip(pending, rewards, infos):
            episode.reward, episode.info = reward, info
        self.history.append({"texts": texts, "splits": splits, "indices": indices, "rewards": rewards})

    def action_of(self, episode: Episode) -> str:
        """The env action of an episode's answer: ``preset.action_for(query, raw_query)``, or "" for no answer."""
        if episode.query is None:
            return ""
        return self.task.preset.action_for(episode.query, self.task.raw_query(episode.example))


@dataclass
class Episode:
    """One rollout's state: the example, the answered query (None until ``answer``), the reward and step info
    (None / empty until scored)."""

    split: str
    index: int
    example: Any
    query: str | None = None
    reward: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


class RecGymToolEnv:
    """One rollout's env in TRL's contract; made by :class:`RecGymEnvFactory` (see the module docstring).

    TRL turns public methods into tools, so the only public methods are ``reset``, ``get_reward`` and the tool
    ``answer``; the rollout's state is the :class:`Episode` in :attr:`episode`.
    """

    def __init__(self, factory: RecGymEnvFactory) -> None:
        self.factory = factory
        self.episode: Episode | None = None

    def reset(self, index: int | None = None, split: str | None = None, example_id: str | None = None, **_: Any):
        """Start the episode on example ``index`` of ``split`` (TRL passes the dataset row's columns); returns the
        env's observation, which TRL appends to the prompt."""
        task = self.factory.task
        split = str(split or self.factory.split)
        examples = task.examples(split)
        index = int(self.factory.rng.integers(len(examples))) if index is None else int(index)
        # score_rows checks these too, but only after generation: fail before it
        if not 0 <= index < len(examples):
            raise ValueError(f"index {index} is out of range for split {split!r} with {len(examples)} examples")
        example = examples[index]
        if example_id is not None and str(example.example_id) != str(example_id):
            raise ValueError(
                f"example {split}[{index}] of the env is {example.example_id!r}, but the row says "
                f"{example_id!r}: the dataset was built from a different env"
            )
        self.episode = Episode(split, index, example)
        return task.observation(example)

    def answer(self, query: str) -> str:
        """Submit the final search query for the shopper's request. Call it once; the last call counts.

        Args:
            query: The search query the recommender will run.

        Returns:
            A confirmation.
        """
        if self.episode is None:
            raise RuntimeError("answer before reset")
        self.episode.query = str(query)
        return "Answer recorded."

    def get_reward(self) -> float:
        """The env's reward for the submitted answer (the empty action when there was none)."""
        if self.episode is None:
            raise RuntimeError("get_reward before reset")
        if self.episode.reward is None:
            self.factory.score_pending()
        return float(self.episode.reward)


class RecGymSearchEnvFactory(RecGymEnvFactory):
    """``environment_factory`` for a search-agent id (``RecR1/*-Agent-v0``): each instance has the tools
    ``search(query)`` and ``answer(query)`` (:class:`RecGymSearchToolEnv`).

    The rules are the agent env's (:class:`~recgym.envs.SearchAgentEnv`), played by one fork of it per instance:
    at most ``max_searches`` searches showing ``results_per_search`` titles each, a search past the budget ends the
    rollout with the env's no-answer reward, and so does never answering; an answer is scored as the single-step
    env scores ``preset.action_for(query, raw_query)``, all pending answers of a batch in ONE ``Task.score`` call.
    Without ``prompt=``, the observation is the agent prompt with a paragraph about the tools
    (``recgym.prompts.AGENT_TOOL_CALLS``) instead of the ``<search>``/``<answer>`` tags.
    """

    multi_turn = True

    def __init__(self, env_id: str, *, split: str = "train", seed: int = 0, **env_kwargs: Any) -> None:
        import gymnasium as gym

        import recgym  # noqa: F401  (registers the ids)

        if not gym.spec(env_id).kwargs.get("agent"):
            raise ValueError(f"{env_id} is not a search-agent id (RecR1/<Task>-<Recommender>-Agent-v0)")
        if "prompt" not in env_kwargs:
            budget = (
                env_kwargs.get("max_searches", MAX_SEARCHES),
                env_kwargs.get("results_per_search", RESULTS_PER_SEARCH),
            )
            env_kwargs["prompt"] = agent_template(*budget, ("", ""), tools=AGENT_TOOL_CALLS)
        super().__init__(env_id, split=split, seed=seed, **env_kwargs)
        self.agent_env: SearchAgentEnv = self.env.unwrapped

    def _new_instance(self) -> RecGymSearchToolEnv:
        return RecGymSearchToolEnv(self)

    def score_pending(self) -> None:
        """As :meth:`RecGymEnvFactory.score_pending`; a rollout that never answered gets the agent env's no-answer
        reward (its truncation's), not the empty action's."""
        for instance in self.instances:
            episode = instance.episode
            if episode is not None and episode.reward is None and episode.query is None:
                episode.reward, episode.info = self.agent_env.no_answer_reward, {"format_ok": False}
        super().score_pending()


class RecGymSearchToolEnv(RecGymToolEnv):
    """One rollout of a search-agent id in TRL's contract: tools ``search`` and ``answer``; made by
    :class:`RecGymSearchEnvFactory`. The searches run in :attr:`env`, this rollout's fork of the agent env."""

    def __init__(self, factory: RecGymSearchEnvFactory) -> None:
        super().__init__(factory)
        self.env = factory.agent_env.fork()
        self._observation = ""

    def reset(self, index: int | None = None, split: str | None = None, example_id: str | None = None, **_: Any):
        super().reset(index, split, example_id)
        self._observation, _ = self.env.reset(options={"index": self.episode.index, "split": self.episode.split})
        return self._observation

    def search(self, query: str) -> str:
        """Search the shop's search engine and read its top product titles. The number of searches is limited.

        Args:
            query: The search query.

        Returns:
            The top product titles, one per line, and the searches left.
        """
        episode = self._open_episode()
        if episode.reward is not None or episode.query is not None:
            return "The episode has ended: no more searches."
        observation, reward, _, truncated, info = self.env.step(f"<search>{query}</search>")
        if truncated:  # past the budget: the agent env's truncation, and its reward, end this rollout
            episode.reward, episode.info = reward, info
            return "No searches left: the episode has ended without an answer."
        new, self._observation = observation[len(self._observation) :], observation
        return new.strip()

    def answer(self, query: str) -> str:
        """Submit the final search query for the request. Call it once, after your searches.

        Args:
            query: The search query the recommender will run.

        Returns:
            A confirmation.
        """
        if self._open_episode().reward is not None:
            return "The episode has ended: the answer was not recorded."
        return super().answer(query)

    def _open_episode(self) -> Episode:
        if self.episode is None:
            raise RuntimeError("a tool call before reset")
        return self.episode


def env_rows(
    factory: RecGymEnvFactory, split: str | None = None, *, system_prompt: str | None = None, max_examples=None
) -> list[dict[str, Any]]:
    """Rows of :func:`make_env_dataset` as plain dicts: an empty user turn (``reset`` appends the observation),
    ``split``, ``index``, ``example_id``."""
    split = split or factory.split
    examples = factory.task.examples(split)
    n = len(examples) if max_examples is None else min(len(examples), max_examples)
    system = [] if system_prompt is None else [{"role": "system", "content": system_prompt}]
    return [
        {
            "prompt": [*system, {"role": "user", "content": ""}],
            "split": split,
            "index": i,
            "example_id": str(examples[i].example_id),
        }
        for i in range(n)
    ]


def make_env_dataset(
    factory: RecGymEnvFactory, split: str | None = None, *, system_prompt: str | None = None, max_examples=None
):
    """A ``datasets.Dataset`` of :func:`env_rows` for ``GRPOTrainer(train_dataset=...)``."""
    datasets = require("datasets", "recgym.integrations.trl_env.make_env_dataset")
    return datasets.Dataset.from_list(env_rows(factory, split, system_prompt=system_prompt, max_examples=max_examples))
