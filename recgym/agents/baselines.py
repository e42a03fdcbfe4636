"""Reference points that need no model: submit the original query unchanged, or type random text.

Like every agent, both load with ``load(directory, env=None)``; neither needs the env to act.
"""

from __future__ import annotations

import os
from typing import Any

from gymnasium.spaces import Text

from recgym.agents.base import read_agent_file, write_agent_file


class RawQueryAgent:
    """Submits the example's own query/context unchanged: the env puts that action, already formatted for its reward
    preset, in the reset info as ``raw_action``. This is the "no rewriting" baseline every trained agent must beat.
    """

    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        if infos is None or len(infos) != len(observations):
            raise ValueError("RawQueryAgent needs the reset infos (their 'raw_action') for every observation")
        return [str(info["raw_action"]) for info in infos]

    def save(self, directory: str | os.PathLike[str]) -> None:
        write_agent_file(directory, self)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], env: Any = None) -> RawQueryAgent:
        read_agent_file(directory)
        return cls()


class RandomAgent:
    """Samples the env's action space (a ``gymnasium.spaces.Text``): random strings, the floor of any metric.

    The space is copied and seeded, so the env's own space is left alone and runs repeat exactly.
    """

    def __init__(self, action_space: Text, seed: int = 0) -> None:
        if not isinstance(action_space, Text):
            raise TypeError(f"RandomAgent samples a gymnasium.spaces.Text, got {type(action_space).__name__}")
        self.seed = seed
        self.space = Text(
            max_length=action_space.max_length,
            min_length=action_space.min_length,
            charset=action_space.character_set,
            seed=seed,
        )

    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        return [self.space.sample() for _ in observations]

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Saves the space and seed; a loaded agent restarts its random stream from the seed."""
        write_agent_file(
            directory,
            self,
            seed=self.seed,
            min_length=self.space.min_length,
            max_length=self.space.max_length,
            charset="".join(sorted(self.space.character_set)),
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str], env: Any = None) -> RandomAgent:
        _, params = read_agent_file(directory)
        space = Text(max_length=params["max_length"], min_length=params["min_length"], charset=params["charset"])
        return cls(space, seed=params["seed"])
