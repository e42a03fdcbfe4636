"""Where supervised (prompt -> completion) pairs come from: a user's JSONL, or the env's own training labels.

Mining pairs from labels reads the env's dataset (``env.task``, :func:`recgym.envs.task_of`), i.e. the ground
truth the reward is computed from: that is what supervision is, and why SFT is a baseline and not a black-box method
like GRPO.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recgym.envs.task import task_of
from recgym.fileio import iter_jsonl, located_error


@dataclass(frozen=True)
class SFTPair:
    """One supervised example: the env observation (user prompt) and the action text to imitate, or, on the
    multi-turn agent env, an episode as ``(text, trained)`` segments: the agent's turns and the env's text between
    them (context only; :func:`recgym.agents.sft.transcripts_from_agent`)."""

    prompt: str
    completion: str | tuple[tuple[str, bool], ...]


def pairs_from_env(env: Any, split: str = "train", target_items: int = 1) -> list[SFTPair]:
    """One pair per example of ``split``: its prompt, and the action that searches for the titles of its
    ``target_items`` most relevant items (highest gain first; ties keep the dataset's order), in the env's
    reward format (``RewardPreset.action_for``). For sequential tasks that is the held-out next item's title."""
    if target_items < 1:
        raise ValueError(f"target_items must be >= 1, got {target_items}")
    task = task_of(env)
    catalog = task.catalog
    pairs = []
    for example in task.examples(split):
        ranked = sorted(example.relevant.items(), key=lambda kv: -kv[1])  # stable: equal gains keep their order
        titles = [catalog.titles[catalog.position(item)] for item, gain in ranked[:target_items] if gain > 0]
        pairs.append(SFTPair(task.observation(example), task.preset.action_for(" ".join(titles))))
    return pairs


def load_pairs_jsonl(path: str | os.PathLike[str], env: Any | None = None, split: str = "train") -> list[SFTPair]:
    """Pairs from a JSONL file of ``{"prompt", "completion"}`` or ``{"example_id", "completion"}`` objects (the
    latter take the prompt of that example of ``split`` in ``env``). Errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SFT pairs file {path} not found")
    prompts: dict[str, str] | None = None
    pairs = []
    for number, row in iter_jsonl(path, error=located_error):
        where = f"{path}:{number}"
        if not isinstance(row.get("completion"), str):
            raise ValueError(f"{where}: expected an object with a string 'completion'")
        if isinstance(row.get("prompt"), str):
            pairs.append(SFTPair(row["prompt"], row["completion"]))
            continue
        if "example_id" not in row:
            raise ValueError(f"{where}: needs a string 'prompt' or an 'example_id' of the env's {split} split")
        if env is None:
            raise ValueError(f"{where}: rows with 'example_id' need the env whose prompts they refer to")
        if prompts is None:
            task = task_of(env)
            prompts = {ex.example_id: task.observation(ex) for ex in task.examples(split)}
        prompt = prompts.get(str(row["example_id"]))
        if prompt is None:
            raise ValueError(f"{where}: example_id {row['example_id']!r} is not in the env's {split} split")
        pairs.append(SFTPair(prompt, row["completion"]))
    if not pairs:
        raise ValueError(f"SFT pairs file {path} holds no pairs")
    return pairs


__all__ = ["SFTPair", "load_pairs_jsonl", "pairs_from_env"]
