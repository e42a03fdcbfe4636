"""Any recgym env id served as an OpenEnv environment (``openenv-core``): typed action, observation and state,
``reset``/``step`` over OpenEnv's WebSocket protocol, the reward in the observation.

    recgym serve --openenv --env RecR1/Shop-BM25-v0 --port 8000 --env-kwargs '{"reward": "expand"}'
    (or python -m recgym.integrations.openenv with the same arguments)

    from recgym.integrations.openenv import RecGymAction, RecGymClient
    with RecGymClient(base_url="http://127.0.0.1:8000").sync() as client:
        result = client.reset(index=3, split="test")      # result.observation.prompt: the env's observation text
        result = client.step(RecGymAction(text="travel mug"))
        result.reward, result.done, result.observation.info   # the env's reward, True, its step info

Mapping (one episode = one example, as in the Gymnasium env): ``reset(index=None, split=None, seed=None)`` is the
env's ``reset(seed, options={"index", "split"})`` (no index: a seeded draw from the split); ``step(RecGymAction(text))``
is ``env.step(text)``: ``reward`` is the env's reward, ``done`` is True, ``observation.info`` the env's step info.
``state`` names the episode's split, index and example id.

Sessions: every WebSocket client gets its own :class:`RecGymEnvironment` (its own episode), all sharing ONE env's
:class:`~recgym.envs.Task` -- its dataset, recommender index and reward -- so a session costs no index build. Scores
go through ``Task.score`` (the numbers ``env.step`` gives), under a lock because a recommender is not promised to be
thread-safe and OpenEnv runs each session's calls in a thread pool.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

try:
    from openenv.core import EnvClient
    from openenv.core.client_types import StepResult
    from openenv.core.env_server.http_server import create_app
    from openenv.core.env_server.interfaces import Environment
    from openenv.core.env_server.types import Action, Observation, State
    from pydantic import Field
except ImportError as err:  # the module is only importable with the extra
    raise ImportError(
        "recgym.integrations.openenv needs the 'openenv-core' package: pip install 'recgym[openenv]'"
    ) from err

import numpy as np

from recgym.integrations import make_env
from recgym.integrations._envs import score_rows, task_for

DEFAULT_SESSIONS = 16


class RecGymAction(Action):
    """The env's text action: what ``env.step(text)`` takes (the preset's format, e.g. ``<answer>`` JSON for recr1)."""

    text: str = Field(..., description="The action text, exactly what the Gymnasium env's step takes")


class RecGymObservation(Observation):
    """After ``reset``: the prompt (the env's observation) and the reset info. After ``step``: the step info, with
    ``reward`` and ``done`` (True: every recgym episode is one step) set."""

    prompt: str = Field(default="", description="The env's observation text (empty after the final step)")
    info: dict[str, Any] = Field(default_factory=dict, description="The env's reset or step info")


class RecGymState(State):
    env_id: str = ""
    split: str = ""
    index: int = -1
    example_id: str = ""


class RecGymEnvironment(Environment[RecGymAction, RecGymObservation, RecGymState]):
    """One OpenEnv session over a shared recgym :class:`~recgym.envs.Task` (see the module docstring)."""

    # sessions share only the task, and every score holds the lock: instances are isolated
    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, task: Any, env_id: str, default_split: str, lock: threading.Lock) -> None:
        super().__init__()
        self.task, self.env_id, self.default_split, self.lock = task, env_id, default_split, lock
        self._state = RecGymState(env_id=env_id)
        self._example: Any = None
        self._rng = np.random.default_rng()

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        index: int | None = None,
        split: str | None = None,
        **_: Any,
    ) -> RecGymObservation:
        split = split or self.default_split
        examples = self.task.examples(split)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        index = int(self._rng.integers(len(examples))) if index is None else int(index)
        if not 0 <= index < len(examples):
            raise ValueError(f"index {index} is out of range for split {split!r} with {len(examples)} examples")
        self._example = examples[index]
        self._state = RecGymState(
            episode_id=episode_id or uuid.uuid4().hex,
            step_count=0,
            env_id=self.env_id,
            split=split,
            index=index,
            example_id=str(self._example.example_id),
        )
        info = {
            "example_id": str(self._example.example_id),
            "split": split,
            "index": index,
            "split_size": len(examples),
            "raw_query": self.task.raw_query(self._example),
            "raw_action": self.task.raw_action(self._example),
        }
        return RecGymObservation(prompt=self.task.observation(self._example), info=info, done=False, reward=None)

    def step(self, action: RecGymAction, timeout_s: float | None = None, **_: Any) -> RecGymObservation:
        if self._example is None:
            raise RuntimeError("step before reset, or after the episode ended: call reset first")
        with self.lock:
            rewards, infos = score_rows(self.task, [action.text], [self._state.split], [self._state.index])
        self._example = None  # one step per episode, as in the Gymnasium env
        self._state.step_count += 1
        return RecGymObservation(prompt="", info=infos[0], done=True, reward=rewards[0])

    @property
    def state(self) -> RecGymState:
        return self._state


def make_app(env_id: str, *, max_sessions: int = DEFAULT_SESSIONS, **env_kwargs: Any):
    """The OpenEnv FastAPI app serving ``env_id`` (made once with ``env_kwargs``; see the module docstring)."""
    env = make_env(env_id, env_kwargs)
    task = task_for(env)
    split = str(env_kwargs.get("split", "train"))
    lock = threading.Lock()
    return create_app(
        lambda: RecGymEnvironment(task, env_id, split, lock),
        RecGymAction,
        RecGymObservation,
        env_name=env_id,
        max_concurrent_envs=max_sessions,
    )


class RecGymClient(EnvClient[RecGymAction, RecGymObservation, RecGymState]):
    """OpenEnv client of a recgym server: ``RecGymClient(base_url=...)`` (async; ``.sync()`` for blocking calls)."""

    def _step_payload(self, action: RecGymAction) -> dict[str, Any]:
        return {"text": action.text}

    def _parse_result(self, payload: Mapping[str, Any]) -> StepResult[RecGymObservation]:
        obs = payload.get("observation", {})
        observation = RecGymObservation(
            prompt=obs.get("prompt", ""),
            info=obs.get("info", {}),
            done=payload.get("done", False),
            reward=payload.get("reward"),
        )
        return StepResult(observation=observation, reward=payload.get("reward"), done=payload.get("done", False))

    def _parse_state(self, payload: Mapping[str, Any]) -> RecGymState:
        return RecGymState(**payload)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m recgym.integrations.openenv ARGS`` is ``recgym serve --openenv ARGS`` (one parser, one server)."""
    import sys

    from recgym.cli import main as cli_main

    raise SystemExit(cli_main(["serve", "--openenv", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    main()
