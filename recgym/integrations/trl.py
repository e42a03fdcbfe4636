"""TRL (and any trainer taking ``(prompts, completions, **columns) -> rewards``) on recgym envs.

Two pieces, both built from an env id (plus its keyword arguments) or an env instance:

- :func:`make_dataset`: a ``datasets.Dataset`` with one row per example of a split. Columns: ``prompt`` -- in TRL's
  **conversational** format by default, ``[{"role": "user", "content": <the env's observation>}]`` (optionally
  after a system turn), or the observation string itself with ``conversational=False`` (TRL's standard/plain
  format, fed to the model without a chat template) -- plus ``example_id``, ``split`` and ``index``.
- :class:`RecGymReward`: a TRL reward function. TRL passes the dataset's extra columns as keyword arguments; the
  reward function resets a :class:`~recgym.envs.RecTextVectorEnv` on the rows' ``index`` (per ``split``), steps it
  with ALL the call's completions at once (one batched recommender search), and returns the env's rewards. The
  ``example_id`` column is checked against the env, so a dataset built from another env fails loudly.

    from trl import GRPOConfig, GRPOTrainer
    dataset = make_dataset("RecR1/Shop-BM25-v0", split="train")
    reward = RecGymReward("RecR1/Shop-BM25-v0")
    GRPOTrainer(model=..., reward_funcs=reward, train_dataset=dataset, args=GRPOConfig(...)).train()

``datasets`` is imported only by :func:`make_dataset` and TRL never by recgym (install both with
``pip install recgym[trl]``). The reward function works with any trainer that calls it the TRL way.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from recgym.integrations._envs import mean_of, score_rows, task_for

EXTRA = "trl"
DEFAULT_LOGGED: tuple[str, ...] = ("ndcg@10", "ndcg@100", "recall@100", "format_ok")


def require(module: str, purpose: str) -> Any:
    """Import ``module`` or raise an ImportError naming the recgym extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{purpose} needs the {module!r} package, which is not installed: pip install 'recgym[{EXTRA}]' "
            f"(or pip install {module})"
        ) from err


def completion_text(completion: Any) -> str:
    """The text of one TRL completion: a string (standard format) or a list of messages (conversational; the last
    message's ``content``, whose text parts are joined when it is a list of content blocks)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    if isinstance(completion, Sequence) and completion:
        content = completion[-1].get("content", "") if isinstance(completion[-1], Mapping) else completion[-1]
        if isinstance(content, str):
            return content
        if isinstance(content, Sequence):
            return "".join(p.get("text", "") if isinstance(p, Mapping) else str(p) for p in content)
    if isinstance(completion, Sequence) and not completion:
        return ""
    raise TypeError(f"cannot read a completion of type {type(completion).__name__}")


def prompt_rows(
    env: Any,
    split: str = "train",
    *,
    conversational: bool = True,
    system_prompt: str | None = None,
    max_examples: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The rows :func:`make_dataset` puts in a Dataset, as plain dicts (for trainers without ``datasets``)."""
    task = task_for(env, env_kwargs)
    examples = task.examples(split)
    n = len(examples) if max_examples is None else min(len(examples), max_examples)
    rows = []
    for index in range(n):
        obs, example_id = task.observation(examples[index]), examples[index].example_id
        if conversational:
            system = [] if system_prompt is None else [{"role": "system", "content": system_prompt}]
            prompt: Any = [*system, {"role": "user", "content": obs}]
        else:
            prompt = obs if system_prompt is None else f"{system_prompt}\n\n{obs}"
        rows.append({"prompt": prompt, "example_id": str(example_id), "split": split, "index": index})
    return rows


def make_dataset(
    env: Any,
    split: str = "train",
    *,
    conversational: bool = True,
    system_prompt: str | None = None,
    max_examples: int | None = None,
    **env_kwargs: Any,
):
    """A ``datasets.Dataset`` of the prompts of ``split`` (see the module docstring for the columns).

    Args:
        env: An env id (made with ``env_kwargs``) or a recgym env instance.
        split: Which split's examples, in index order.
        conversational: TRL's conversational format (a user message; the trainer applies the chat template) or
            the plain prompt string.
        system_prompt: Optional system turn (or, plain format, a paragraph before the prompt).
        max_examples: Keep only the first N examples.
    """
    datasets = require("datasets", "recgym.integrations.trl.make_dataset")
    rows = prompt_rows(
        env,
        split,
        conversational=conversational,
        system_prompt=system_prompt,
        max_examples=max_examples,
        env_kwargs=env_kwargs,
    )
    return datasets.Dataset.from_list(rows)


class RecGymReward:
    """TRL reward function backed by a recgym env: ``reward(prompts, completions, index=..., split=..., ...)``.

    Every completion of the call is scored by ONE ``env.task.score`` call (one recommender search) on the examples
    its ``index``/``split`` columns name: the same numbers ``env.step(text)`` gives for that example.
    When the trainer passes ``log_metric`` (TRL >= 1.0 does), the batch means of ``log_keys`` (``ndcg@10``,
    ``ndcg@100``, ``recall@100``, ``format_ok``) are logged as ``recgym/<key>``. The last call's texts, rewards
    and step infos are kept in :attr:`last` for inspection.

    Args:
        env: An env id (made with ``env_kwargs``, e.g. ``reward="expand"``, ``k=1000``) or a recgym env instance.
        name: Name TRL logs the reward under (``rewards/<name>/mean``); default ``"recgym"``.
        log_keys: Step-info keys whose batch mean is logged through ``log_metric``.
    """

    def __init__(
        self, env: Any, *, name: str = "recgym", log_keys: Sequence[str] = DEFAULT_LOGGED, **env_kwargs: Any
    ) -> None:
        self.task = task_for(env, env_kwargs)
        # rows without a split column answer the env's own split (an id's split= kwarg, else "train")
        self.split = str(env_kwargs.get("split", "train")) if isinstance(env, str) else _env_split(env)
        self.__name__ = name
        self.log_keys = tuple(log_keys)
        self.last: dict[str, Any] = {}

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        *,
        index: Sequence[int] | None = None,
        split: Sequence[str] | None = None,
        example_id: Sequence[str] | None = None,
        log_metric: Any = None,
        **_: Any,
    ) -> list[float]:
        if completions is None or index is None:
            raise ValueError(
                "RecGymReward needs completions and the dataset's 'index' column (build the dataset with "
                "recgym.integrations.trl.make_dataset, and keep its columns: TRL passes them as keyword arguments)"
            )
        texts = [completion_text(c) for c in completions]
        splits = list(split) if split is not None else [self.split] * len(texts)
        rewards, infos = score_rows(self.task, texts, splits, [int(i) for i in index], example_id)
        self.last = {"texts": texts, "rewards": rewards, "infos": infos, "index": list(index), "split": splits}
        if callable(log_metric):
            for key in self.log_keys:
                value = mean_of(infos, key)
                if value is not None:
                    log_metric(f"recgym/{key}", value)
        return rewards


def _env_split(env: Any) -> str:
    base = getattr(env, "unwrapped", env)
    return str(getattr(base, "split", "train"))
