"""`RecTextEnv`: one example per episode, one text action, the recommender's ranking metric as reward."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from recgym.data.types import Example, TaskDataset
from recgym.envs.episodes import build_task, prompt_length_bound, prompt_texts, select_episode
from recgym.envs.spaces import action_space, observation_space
from recgym.envs.task import row
from recgym.prompts import PromptTemplate
from recgym.recommenders.base import Recommender
from recgym.rewards import RewardPreset


class RecTextEnv(gym.Env[str, str]):
    """Text-action recommendation: write a query, a black-box recommender ranks the catalog, its NDCG is the reward.

    ## Description
    The Rec-R1 setting (arXiv 2503.24289). Each episode is one example of a task dataset: a shopper's request
    (product search) or a user's purchase history (sequential recommendation). The agent -- typically an LLM --
    reads the prompt and writes text; the reward preset turns that text into a query; a fixed recommender (BM25,
    dense, anything with ``search``) ranks the catalog; the ranking is scored against the held ground truth.

    ## Action Space
    ``gymnasium.spaces.Text(max_length=8192, min_length=0)`` over every printable BMP character plus newline and
    tab. Every string is accepted by ``step`` (also longer ones or ones outside the charset); its query is cut to
    4,096 characters.

    ## Observation Space
    ``gymnasium.spaces.Text`` holding the prompt (the paper's templates by default, see ``recgym.prompts``);
    ``max_length`` bounds the longest prompt of the dataset, the charset covers the dataset's characters.

    ## Rewards
    From the reward preset (``recgym.rewards``) applied to ``metric@k`` of the ranking (default NDCG@100):
    ``"recr1"``: 0.1 + metric for a well-formed ``<answer>{"query": ...}</answer>``, -2 otherwise; ``"plain"``:
    metric of the whole text as a query; ``"expand"``: metric of the raw query followed by the text.

    ## Starting State
    ``reset(seed, options={"index": i, "split": s})``: example ``i`` of split ``s`` (default: the env's split);
    without ``index``, a uniformly drawn example (seeded by ``seed``).

    ## Episode End
    Single-step episodes: every ``step`` returns ``terminated=True, truncated=False``; call ``reset`` before the next.

    ## Task
    ``env.task`` (:class:`recgym.envs.Task`; ``recgym.envs.task_of(env)`` also behind wrappers and vector envs) is
    the env as a batched API: ``examples(split)``, ``observation``, ``raw_action``, ``score(actions, examples)`` in
    one recommender call, ``feedback(queries, k)`` (top titles), ``preset``, ``catalog`` (docs/api.md).

    ## Info
    ``reset``: ``example_id``, ``split``, ``index``, ``split_size`` (examples in the split: agents size their
    passes over a split with it, through reset alone), ``num_relevant``, ``raw_query`` (the request, or the latest
    history titles), ``raw_action`` (the action that submits the raw query unchanged under this preset).
    ``step``: ``ndcg@10``, ``ndcg@50``, ``ndcg@100``, ``recall@10``, ``recall@50``, ``recall@100`` (and the
    reward's ``metric@k``), ``format_ok``, ``query`` (what was sent to the recommender), ``example_id``,
    ``num_relevant``, ``dropped_ids`` (ids a remote engine ranked that the catalog lacks, dropped from this step's
    search: a vector step's one search, so every sub-env reports the batch's count; 0 in process).

    ## Arguments
    ``dataset`` (TaskDataset), ``recommender`` (indexed Recommender), ``split`` ("train"), ``reward`` ("recr1"),
    ``metric`` ("ndcg"), ``k`` (100), ``prompt`` (PromptTemplate), ``exclude_history`` (False), ``render_mode``
    (None or "ansi").

    ## Version History
    * v0: initial release. 2026-12-01: BM25 (the ``*-BM25-v0`` ids of the synthetic shop) orders items with equal
      scores by catalog position instead of bm25s's arbitrary order, so rewards on tied rankings can differ from
      earlier runs (shop test, raw query: NDCG@100 0.2545 -> 0.2576); ``recommender_kwargs={"tie_order": "bm25s"}``
      restores the old order. The real-data ids (pyserini's order) did not change.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        dataset: TaskDataset,
        recommender: Recommender,
        *,
        split: str = "train",
        reward: str | RewardPreset = "recr1",
        metric: str = "ndcg",
        k: int = 100,
        prompt: PromptTemplate | str | None = None,
        exclude_history: bool = False,
        render_mode: str | None = None,
    ) -> None:
        self.task = build_task(
            dataset,
            recommender,
            split,
            render_mode,
            self.metadata["render_modes"],
            reward=reward,
            metric=metric,
            k=k,
            prompt=prompt,
            exclude_history=exclude_history,
        )
        self.split, self.render_mode = split, render_mode
        self.action_space = action_space()
        self.observation_space = observation_space(
            prompt_texts(dataset, self.task.prompt), prompt_length_bound(self.task)
        )
        self.reward_range = self.task.preset.reward_range
        self._example: Example | None = None
        self._last: tuple[str, float, dict] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        split, index = select_episode(self.task, self.np_random, self.split, options, "RecTextEnv")
        self._example = self.task.dataset.split(split)[index]
        self._last = None
        return self.task.observation(self._example), self.task.reset_info(self._example, split, index)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        if self._example is None:
            raise RuntimeError("call reset() before step(): recgym episodes are one step long")
        example = self._example
        rewards, infos = self.task.score([action], [example])  # a rejected action (TypeError) leaves it open
        self._example = None
        obs, info = self.task.observation(example), row(infos, 0)
        self._last = (obs, float(rewards[0]), info)
        return obs, float(rewards[0]), True, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._last is None:
            return None
        _, reward, info = self._last
        metrics = f"ndcg@10: {info['ndcg@10']:.4f}  recall@100: {info['recall@100']:.4f}"
        return f"query: {info['query']!r}\nreward: {reward:.4f}  {metrics}"
