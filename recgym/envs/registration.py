"""Registers recgym's env ids with Gymnasium (run on ``import recgym``).

Ids are ``RecR1/<Task>-<Recommender>-v<N>``. ``Shop``/``ShopSeq`` run on the seeded synthetic shop and need no files;
``ESCI``, ``C4`` and ``SeqRec`` use real data only (``data_dir=`` or the recgym data cache) and raise
:class:`~recgym.envs.factory.DatasetNotFoundError` without it.
"""

from __future__ import annotations

import gymnasium as gym

# id task -> (factory task name, which recommenders are registered)
TASKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Shop": ("shop", ("BM25", "Dense", "Hybrid")),
    "ShopSeq": ("shopseq", ("BM25", "Dense")),
    "ESCI": ("esci", ("BM25", "Dense")),
    "C4": ("c4", ("BM25", "Dense")),
    "SeqRec": ("seqrec", ("BM25", "Dense")),
}


def registered_ids() -> list[str]:
    return [f"RecR1/{t}-{r}-v0" for t, (_, recs) in TASKS.items() for r in recs]


def register_envs() -> None:
    for id_task, (task, recommenders) in TASKS.items():
        for rec in recommenders:
            env_id = f"RecR1/{id_task}-{rec}-v0"
            if env_id in gym.registry:
                continue
            gym.register(
                id=env_id,
                entry_point="recgym.envs.factory:make_env",
                vector_entry_point="recgym.envs.factory:make_vector_env",
                kwargs={"task": task, "recommender": rec.lower(), "env_id": env_id},
                # Gymnasium's PassiveEnvChecker marks itself done before the first reset runs: when that reset raises
                # (a bad option), it keeps no reset data and every later step dies in its data-reuse check with
                # "cannot unpack non-iterable NoneType", even after a good reset. tests/test_registry.py runs the full
                # check_env on every id instead; gym.make(..., disable_env_checker=False) still adds the wrapper.
                disable_env_checker=True,
            )
