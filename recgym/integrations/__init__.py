"""Bridges from recgym envs to other learners: stable-baselines3 (fixed-size spaces), TRL and verl (LLM trainers),
OpenEnv (a server any OpenEnv client can drive) and verifiers (prime-rl's environment format).

Submodules import their third-party library lazily: ``recgym.integrations.sb3`` needs ``stable-baselines3`` only
for ``check_env``/training (the wrappers are plain Gymnasium), ``recgym.integrations.trl`` needs ``datasets`` (and
TRL to train; ``pip install recgym[trl]``), ``recgym.integrations.trl_env`` is TRL's ``environment_factory``
contract and needs nothing to import, ``recgym.integrations.openenv`` needs ``openenv-core`` (``recgym[openenv]``),
``recgym.integrations.verifiers`` needs ``verifiers`` only to build its environment (``recgym[verifiers]``) and
``recgym.integrations.verl`` needs nothing beyond recgym. docs/integrations.md compares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> Any:
    """``gym.make(env_id, **env_kwargs)`` with recgym's ids registered: the one env an adapter builds its prompts
    and its rewards from."""
    import gymnasium as gym

    import recgym  # noqa: F401  (registers the ids)

    return gym.make(env_id, **dict(env_kwargs or {}))
