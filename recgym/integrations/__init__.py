"""Bridges from recgym envs to other learners: stable-baselines3 (fixed-size spaces), TRL and verl (LLM trainers).

Submodules import their third-party library lazily: ``recgym.integrations.sb3`` needs ``stable-baselines3`` only
for ``check_env``/training (the wrappers are plain Gymnasium), ``recgym.integrations.trl`` needs ``datasets`` (and
TRL to train; ``pip install recgym[trl]``), ``recgym.integrations.verl`` needs nothing beyond recgym.
"""
