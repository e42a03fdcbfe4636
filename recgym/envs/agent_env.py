"""`SearchAgentEnv`: search the black box a few times, then answer (Search-R1 / DeepRetrieval style, issue #14).

The action protocol lives here too: which turn an action text is (:func:`parse_turn`), how an answer block becomes
the single-turn action the reward preset scores (:func:`answer_action`) and back (:func:`as_answer`), and how a
policy reads its searches back from the observation (:func:`search_turns`).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import gymnasium as gym

from recgym import prompts
from recgym.data.types import Example, TaskDataset
from recgym.envs.episodes import build_task, prompt_length_bound, prompt_texts, select_episode
from recgym.envs.spaces import action_space, observation_space
from recgym.envs.task import row
from recgym.prompts import PromptTemplate
from recgym.recommenders.base import Recommender
from recgym.rewards import (
    MAX_QUERY_CHARS,
    RewardPreset,
    extract_answer_query,
    get_preset,
    last_answer_block,
    valid_unicode,
)

MAX_SEARCHES = 2
"""Default search budget of an episode (Search-R1 allows a few; two lets an agent refine its first query once)."""
RESULTS_PER_SEARCH = 3
"""Default titles shown per search: the black box's first page, as the ``product-type-results`` prompt shows."""

# literal tags, case-insensitive like the presets' <answer>: a tag pattern cannot backtrack, so finding the first
# complete block is linear in the action's length whatever its nesting
_TAGS = {
    kind: (re.compile(f"<{kind}>", re.IGNORECASE), re.compile(f"</{kind}>", re.IGNORECASE))
    for kind in ("search", "answer")
}
# one rendered search turn (prompts.AGENT_SEARCH_TURN); the newlines around the tags keep the prompt's own mention of
# "<search> query </search>" and "<information> and </information>" from matching
_SEARCH_TURN = re.compile(r"\n<search>(.*?)</search>\n<information>\n(.*?)\n</information>\n", re.DOTALL)
_RESULT_LINE = re.compile(r"^\d+\. (.*)$")


def parse_turn(action: str) -> tuple[str, str]:
    """``("search", query)``, ``("answer", block)`` or ``("invalid", "")``: the action's FIRST complete
    ``<search>...</search>`` or ``<answer>...</answer>`` block decides (as Search-R1 reads a generation: what a
    model writes after its first tool call is not acted on). An answer's text is the action's LAST ``<answer>``
    block, the one the single-turn presets read."""
    first: tuple[int, str, str] | None = None
    for kind, (open_tag, close_tag) in _TAGS.items():
        opening = open_tag.search(action)
        closing = None if opening is None else close_tag.search(action, opening.end())
        if closing is not None and (first is None or opening.start() < first[0]):
            first = (opening.start(), kind, action[opening.end() : closing.start()])
    if first is None:
        return "invalid", ""
    _, kind, text = first
    return (kind, text) if kind == "search" else (kind, last_answer_block(action) or "")


def answer_action(block: str) -> str:
    """The single-turn action an ``<answer>`` block is scored as: the paper's JSON (``{"query": ...}``) wrapped back
    in its ``<answer>`` tags, anything else (``expand``'s keywords, ``plain``'s query) as it is. Either way the
    preset sees what a single-turn action of that form gives it."""
    wrapped = f"<answer>{block}</answer>"
    return wrapped if extract_answer_query(wrapped) is not None else block


def as_answer(action: str) -> str:
    """The agent's answer turn for a single-turn ``action`` (inverse of :func:`answer_action`): its ``<answer>``
    block if it has one, else the whole text, in ``<answer>`` tags."""
    block = last_answer_block(action)
    return f"<answer>{action if block is None else block}</answer>"


def search_turns(observation: str) -> list[tuple[str, list[str]]]:
    """``(query, titles)`` of every search turn in an observation, oldest first: what a policy saw, read back."""
    turns = []
    for match in _SEARCH_TURN.finditer(observation):
        lines = (_RESULT_LINE.match(line) for line in match.group(2).split("\n"))
        turns.append((match.group(1), [m.group(1) for m in lines if m is not None]))
    return turns


@dataclass
class _Episode:
    example: Example
    observation: str
    searches: int = 0  # budget spent: searches and invalid turns
    done: bool = False
    reward: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


class SearchAgentEnv(gym.Env[str, str]):
    """Search before you answer: up to ``max_searches`` searches of the black box, then one scored answer.

    ## Description
    The multi-turn twin of :class:`~recgym.envs.RecTextEnv` (Search-R1, arXiv 2503.09516; DeepRetrieval, arXiv
    2503.00223). Each episode is one example of a task dataset. Every turn the agent either searches the recommender
    -- ``<search>query</search>``: the observation gains the top ``results_per_search`` titles, the reward is 0 --
    or answers -- ``<answer>...</answer>``: the answer is scored exactly as the single-turn env scores that action
    (same :class:`~recgym.envs.Task`, preset, metric and ``k``) and the episode ends. Searches go through the
    task's public ``feedback``: titles only, never the ranking's relevance.

    ## Action Space
    ``gymnasium.spaces.Text(max_length=8192, min_length=0)``, as :class:`RecTextEnv`; every string is accepted.
    The FIRST complete ``<search>`` or ``<answer>`` block of an action decides the turn (:func:`parse_turn`). The
    answer is the last ``<answer>`` block, in the form the preset reads: ``recr1`` ``<answer>{"query": "..."}
    </answer>``, ``expand`` ``<answer>keywords</answer>``, ``plain`` ``<answer>query</answer>``
    (:func:`answer_action`). A search query is cut to 4,096 characters.

    ## Observation Space
    ``gymnasium.spaces.Text``: the agent prompt (``recgym.prompts.AGENT_SEARCH_TEMPLATE`` /
    ``AGENT_SEQUENTIAL_TEMPLATE``: the task, the tools, the budget, an answer in the preset's form) followed by the
    transcript: per search ``<search>query</search>`` and ``<information>`` with one numbered title per line
    (:func:`search_turns` reads them back), per invalid turn a reminder of the protocol, each with the searches left.
    The agent's own text (its ``<think>``) is not echoed: a chat loop keeps its generations itself.

    ## Rewards
    Search and invalid turns: 0. Answer: the single-turn reward of :func:`answer_action` of the answer (preset
    ``recgym.rewards``: ``recr1`` 0.1 + NDCG@k well-formed, -2 malformed; ``plain``/``expand`` NDCG@k). No answer
    within the budget: ``preset.reward(False, 0)``, the reward of a malformed answer that retrieved nothing (-2 under
    ``recr1``, 0 under ``plain``/``expand``).

    ## Starting State
    As :class:`RecTextEnv`: ``reset(seed, options={"index": i, "split": s})``, or a seeded uniform draw.

    ## Episode End
    An answer terminates (``terminated=True``). Each search AND each invalid action (neither block) spends one of
    ``max_searches`` turns, so an episode has at most ``max_searches + 1`` steps: once the budget is spent the
    observation asks for the answer, and a turn that is not one ends the episode truncated (``truncated=True``,
    the no-answer reward above; nothing is searched).

    ## Info
    ``reset``: :class:`RecTextEnv`'s keys (``raw_action`` is the answer turn submitting the raw query) plus
    ``searches_left``. ``step``: ``action_kind`` (``"search"``, ``"answer"`` or ``"invalid"``),
    ``invalid_action``, ``query`` (what was sent to the recommender; ``""`` if nothing), ``searches_used``,
    ``searches_left``, ``example_id``; a search adds ``num_results``; an answer adds every key of
    :class:`RecTextEnv`'s step info (``ndcg@10``... ``format_ok``); a truncated step adds ``format_ok=False``.

    ## Arguments
    ``dataset``, ``recommender``, ``split`` ("train"), ``reward`` ("recr1"), ``metric`` ("ndcg"), ``k`` (100),
    ``prompt`` (default: the agent prompt; a template of your own must explain the tools itself),
    ``exclude_history`` (False) as :class:`RecTextEnv`; ``max_searches`` (2), ``results_per_search`` (3),
    ``render_mode`` (None or "ansi": the transcript and the last reward).

    ## Version History
    * v0: initial release.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        dataset: TaskDataset,
        recommender: Recommender,
        *,
        reward: str | RewardPreset = "recr1",
        prompt: PromptTemplate | str | None = None,
        max_searches: int = MAX_SEARCHES,
        results_per_search: int = RESULTS_PER_SEARCH,
        render_mode: str | None = None,
        **task_options: Any,
    ) -> None:
        # task_options: split, metric, k, exclude_history, exactly as RecTextEnv takes them (checked in build_task)
        for name, value, least in (("max_searches", max_searches, 0), ("results_per_search", results_per_search, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
        preset = get_preset(reward)
        if prompt is None:
            examples = tuple(as_answer(preset.action_for(q)) for q in ("insulated travel mug", "wireless controller"))
            prompt = prompts.agent_template(max_searches, results_per_search, examples)
        self.split, self.render_mode = task_options.pop("split", "train"), render_mode
        self.task = build_task(
            dataset,
            recommender,
            self.split,
            render_mode,
            self.metadata["render_modes"],
            reward=preset,
            prompt=prompt,
            **task_options,
        )
        self.max_searches, self.results_per_search = max_searches, results_per_search
        self.action_space = action_space()
        self.observation_space = observation_space(
            chain(prompt_texts(dataset, self.task.prompt), _TRANSCRIPT_TEXTS), self._observation_bound()
        )
        self._charset = self.observation_space.character_set
        lo, hi = self.task.preset.reward_range
        self.no_answer_reward = float(self.task.preset.reward(False, 0.0))
        self.reward_range = (min(lo, 0.0, self.no_answer_reward), max(hi, 0.0))
        self._episode: _Episode | None = None

    def _observation_bound(self) -> int:
        longest_title = max((len(t) for t in self.task.catalog.titles), default=0)
        budget = max(len(prompts.AGENT_SEARCHES_LEFT) + 20, len(prompts.AGENT_ANSWER_NOW))
        results = self.results_per_search * (len(prompts.AGENT_RESULT_ITEM) + 8 + longest_title)
        search = len(prompts.AGENT_SEARCH_TURN) + MAX_QUERY_CHARS + max(results, len(prompts.AGENT_NO_RESULTS))
        turn = max(search, len(prompts.AGENT_INVALID_TURN)) + budget
        return prompt_length_bound(self.task) + self.max_searches * turn

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        split, index = select_episode(self.task, self.np_random, self.split, options, type(self).__name__)
        example = self.task.dataset.split(split)[index]
        self._episode = _Episode(example, self.task.observation(example))
        info = self.task.reset_info(example, split, index)
        info["raw_action"] = as_answer(info["raw_action"])
        info["searches_left"] = self.max_searches
        return self._episode.observation, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        ep = self._episode
        if ep is None or ep.done:
            raise RuntimeError("call reset() before step(): the episode has ended or not started")
        if not isinstance(action, str):  # before any state changes: a rejected action leaves the turn open
            raise TypeError(f"actions must be str, got {type(action).__name__}")
        kind, text = parse_turn(action)
        if kind == "answer":
            rewards, infos = self.task.score([answer_action(text)], [ep.example])
            return self._end(float(rewards[0]), True, {**self._info(kind, ""), **row(infos, 0)})
        if ep.searches >= self.max_searches:
            return self._end(self.no_answer_reward, False, {**self._info(kind, ""), "format_ok": False})
        ep.searches += 1
        info = self._info(kind, "")
        if kind == "search":
            query = valid_unicode(text[:MAX_QUERY_CHARS])
            titles = self.task.feedback([query], self.results_per_search)[0]
            info.update(query=query, num_results=len(titles))
            ep.observation += self._search_turn(query, titles)
        else:
            ep.observation += prompts.AGENT_INVALID_TURN.format(budget=self._budget())
        ep.reward, ep.info = 0.0, info
        return ep.observation, 0.0, False, False, info

    def _end(self, reward: float, terminated: bool, info: dict) -> tuple[str, float, bool, bool, dict]:
        ep = self._episode
        ep.done, ep.reward, ep.info = True, reward, info
        return ep.observation, reward, terminated, not terminated, info

    def _info(self, kind: str, query: str) -> dict:
        ep = self._episode
        return {
            "action_kind": kind,
            "invalid_action": kind == "invalid",
            "query": query,
            "searches_used": ep.searches,
            "searches_left": self.max_searches - ep.searches,
            "example_id": ep.example.example_id,
        }

    def _budget(self) -> str:
        left = self.max_searches - self._episode.searches
        return prompts.AGENT_SEARCHES_LEFT.format(left=left) if left else prompts.AGENT_ANSWER_NOW

    def _search_turn(self, query: str, titles: list[str]) -> str:
        # one line per title so search_turns can split them back; characters the observation space lacks (a query's
        # emoji) become U+FFFD so every observation stays inside it
        item = prompts.AGENT_RESULT_ITEM
        lines = [item.format(i=i + 1, title=" ".join(t.splitlines())) for i, t in enumerate(titles)]
        shown = "".join(c if c in self._charset else "\ufffd" for c in query)
        results = "\n".join(lines) or prompts.AGENT_NO_RESULTS
        return prompts.AGENT_SEARCH_TURN.format(query=shown, results=results, budget=self._budget())

    def fork(self) -> SearchAgentEnv:
        """A new env on this env's task and spaces, with no episode and its own generator: vector sub-envs share one
        dataset and one indexed recommender."""
        other = copy.copy(self)
        other._episode = None
        other._np_random, other._np_random_seed = None, None
        return other

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._episode is None:
            return None
        return f"{self._episode.observation}\nreward: {self._episode.reward:.4f}"


_TRANSCRIPT_TEXTS = (
    prompts.AGENT_SEARCH_TURN,
    prompts.AGENT_RESULT_ITEM,
    prompts.AGENT_NO_RESULTS,
    prompts.AGENT_INVALID_TURN,
    prompts.AGENT_SEARCHES_LEFT,
    prompts.AGENT_ANSWER_NOW,
    "\ufffd",
)
"""Every fixed text an observation's transcript adds (their characters join the observation space's charset)."""
