"""The examples users copy from must run."""

import runpy
from pathlib import Path

import gymnasium as gym
import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_custom_recommender_example_registers_a_working_env(capsys):
    runpy.run_path(str(EXAMPLES / "custom_recommender.py"), run_name="__main__")
    assert "NDCG@100" in capsys.readouterr().out
    venv = gym.make_vec("MyShop/Shop-Trigram-v0", num_envs=3, reward="plain")
    _, infos = venv.reset(seed=0, options={"index": 0, "split": "test"})
    env = venv.unwrapped
    target = next(iter(env.scorer.dataset.split("test")[0].relevant))
    title = env.scorer.dataset.catalog.titles[env.scorer.dataset.catalog.position(target)]
    _, rewards, *_ = venv.step([title, "", infos["raw_action"][0]])
    assert rewards[0] > 0.3 and rewards[1] == 0.0 and np.isfinite(rewards).all()
