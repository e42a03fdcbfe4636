"""verifiers (prime-rl's environment format) on recgym envs: ``load_environment(env_id, **kwargs)``.

The result is a ``verifiers.SingleTurnEnv`` (the classic verifiers API, ``import verifiers as vf``) whose dataset
holds one row per example of a split and whose rubric has ONE reward function, a *group* reward function: it takes
the plural ``completions``/``infos`` (verifiers' own test for a group function), so verifiers' ``score_group`` calls
it once per rollout group and it scores the whole group with one ``Task.score`` call -- one recommender search.

Row columns: ``prompt`` (a user message holding the env's observation, optionally after a system turn),
``answer`` (the example id; the labels stay inside the env), ``info`` (``{"split", "index", "example_id"}``, which
the reward function reads back to find the example), ``example_id``.

    import verifiers as vf
    env = vf.load_environment(...)  # or directly:
    from recgym.integrations.verifiers import load_environment
    env = load_environment("RecR1/Shop-BM25-v0", reward="expand")

Install with ``pip install 'recgym[verifiers]'``. Pinned below 0.4: verifiers 0.4 dropped the classic
``SingleTurnEnv``/``Rubric`` stack (only ``verifiers.v1`` remains), 0.2-0.3 ship both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from recgym.integrations import make_env
from recgym.integrations._envs import score_rows, task_for
from recgym.integrations.trl import completion_text, prompt_rows


def _verifiers() -> Any:
    try:
        import verifiers as vf
    except ImportError as err:
        raise ImportError(
            "recgym.integrations.verifiers needs the 'verifiers' package: pip install 'recgym[verifiers]'"
        ) from err
    if not hasattr(vf, "SingleTurnEnv"):
        raise ImportError(
            f"recgym.integrations.verifiers uses the classic verifiers API (SingleTurnEnv, Rubric), which verifiers "
            f"{getattr(vf, '__version__', '?')} no longer has: pip install 'verifiers>=0.2,<0.4'"
        )
    return vf


def message_text(completion: Any) -> str:
    """The text of a verifiers completion: a string, or messages as dicts or as verifiers' pydantic messages."""
    if isinstance(completion, Sequence) and not isinstance(completion, str) and completion:
        last = completion[-1]
        if hasattr(last, "model_dump"):  # verifiers' AssistantMessage
            completion = [last.model_dump()]
    return completion_text(completion)


class GroupReward:
    """A verifiers group reward function: ``reward(completions, infos) -> list[float]``.

    Every completion of the group is scored by ONE ``Task.score`` call on the examples its ``info`` names, so the
    rewards are those ``env.step(text)`` gives. The last call's texts, rewards and step infos are kept in
    :attr:`last`; :attr:`calls` counts the calls (a test checks one call per group).
    """

    def __init__(self, task: Any, name: str = "recgym_reward") -> None:
        self.task = task
        # verifiers logs each reward function's score under its __name__
        self.__name__ = name
        self.last: dict[str, Any] = {}
        self.calls = 0

    # the parameter names ARE the contract: verifiers passes group objects by name and treats a function taking
    # `completions`/`infos` as a group function (Rubric._is_group_func)
    def __call__(self, completions: Sequence[Any], infos: Sequence[Mapping[str, Any]]) -> list[float]:
        texts = [message_text(c) for c in completions]
        rewards, step_infos = score_rows(
            self.task,
            texts,
            [str(info["split"]) for info in infos],
            [int(info["index"]) for info in infos],
            [str(info["example_id"]) for info in infos],
        )
        self.calls += 1
        self.last = {"texts": texts, "rewards": rewards, "infos": step_infos}
        return rewards


def verifiers_rows(
    env: Any,
    split: str = "train",
    *,
    system_prompt: str | None = None,
    max_examples: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The dataset rows of :func:`load_environment`, as plain dicts (same prompts as the TRL adapter's)."""
    rows = prompt_rows(env, split, system_prompt=system_prompt, max_examples=max_examples, env_kwargs=env_kwargs)
    return [
        {
            "prompt": r["prompt"],
            "answer": r["example_id"],
            "info": {"split": r["split"], "index": r["index"], "example_id": r["example_id"]},
            "example_id": r["index"],  # verifiers groups rollouts by an integer example_id
        }
        for r in rows
    ]


def load_environment(
    env_id: str = "RecR1/Shop-BM25-v0",
    *,
    split: str = "train",
    eval_split: str | None = "test",
    system_prompt: str | None = None,
    max_examples: int | None = None,
    reward_name: str = "recgym_reward",
    **env_kwargs: Any,
):
    """A ``verifiers.SingleTurnEnv`` over ``split`` (and ``eval_split``) of ``env_id``, rewarded by the env.

    Args:
        env_id: A registered recgym id; ``env_kwargs`` are its ``gym.make`` keyword arguments (``reward``, ``k``,
            ``dataset_kwargs``, ...). The reward preset also picks the prompt template.
        split: The training dataset's split; ``eval_split`` the eval dataset's (``None``: no eval dataset).
        system_prompt: Optional system turn before each observation.
        max_examples: Keep only the first N examples of each split.
        reward_name: The name verifiers logs the reward under.
    """
    vf = _verifiers()
    from datasets import Dataset

    # one env serves the prompts and the reward, so both come from the same dataset and recommender
    env = make_env(env_id, env_kwargs)

    def dataset(which: str) -> Any:
        return Dataset.from_list(verifiers_rows(env, which, system_prompt=system_prompt, max_examples=max_examples))

    reward = GroupReward(task_for(env), reward_name)
    return vf.SingleTurnEnv(
        dataset=dataset(split),
        eval_dataset=None if eval_split is None else dataset(eval_split),
        rubric=vf.Rubric(funcs=[reward], weights=[1.0]),
        env_id=env_id,
        env_args={"split": split, "eval_split": eval_split, **env_kwargs},
    )
