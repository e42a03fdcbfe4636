"""Registers recgym's env ids with Gymnasium (run on ``import recgym``), one per (task spec, recommender).

Ids are ``RecR1/<Task>-<Recommender>-v<N>`` (single step) and ``RecR1/<Task>-<Recommender>-Agent-v<N>`` (search,
then answer), derived from :data:`recgym.tasks.TASKS`. ``Shop``/``ShopSeq`` run on
the seeded synthetic shop and need no files; ``ESCI``, ``C4`` and ``SeqRec`` use real data only (``data_dir=`` or
the recgym data cache) and raise :class:`~recgym.envs.factory.DatasetNotFoundError` without it.
"""

from __future__ import annotations

import gymnasium as gym

from recgym.tasks import TASKS, TaskSpec, register_builtin_tasks


def registered_ids(agent: bool = False) -> list[str]:
    """The single-step ids, or with ``agent=True`` the multi-turn ``-Agent-`` ids (kept apart: code that iterates
    ids -- the fuzz tests, the paper table -- steps each episode once)."""
    return [env_id for spec in TASKS.values() for env_id in (spec.agent_env_ids() if agent else spec.env_ids())]


def register_spec(spec: TaskSpec) -> None:
    """Register the Gymnasium ids of one task spec, single-step and agent (ids already registered are left as
    they are)."""
    single = [(rec, env_id, {}) for rec, env_id in zip(spec.recommenders, spec.env_ids())]
    agent = [(rec, env_id, {"agent": True}) for rec, env_id in zip(spec.recommenders, spec.agent_env_ids())]
    for rec, env_id, extra in single + agent:
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="recgym.envs.factory:make_env",
            vector_entry_point="recgym.envs.factory:make_vector_env",
            kwargs={"task": spec.name, "recommender": rec.lower(), "env_id": env_id, **extra},
            # Gymnasium's PassiveEnvChecker marks itself done before the first reset runs: when that reset raises
            # (a bad option), it keeps no reset data and every later step dies in its data-reuse check with
            # "cannot unpack non-iterable NoneType", even after a good reset. tests/test_registry.py runs the full
            # check_env on every id instead; gym.make(..., disable_env_checker=False) still adds the wrapper.
            disable_env_checker=True,
        )


def register_envs() -> None:
    """Register every built-in task's ids (and those of tasks registered since)."""
    register_builtin_tasks()
    for spec in TASKS.values():
        register_spec(spec)
