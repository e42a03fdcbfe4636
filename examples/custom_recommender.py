"""Register your own recommender as a recgym env in under 20 lines.

Any object with ``index(catalog)`` and ``search(queries, k) -> (positions, scores)`` is a black-box recommender.
Here: a toy that scores items by the character trigrams their title shares with the query.
Run: python examples/custom_recommender.py
"""

import gymnasium as gym
import numpy as np

import recgym  # noqa: F401  (registers the RecR1/* ids)
from recgym.recommenders.base import top_k


def trigrams(text: str) -> set[str]:
    text = text.lower()
    return {text[i : i + 3] for i in range(len(text) - 2)}


class TrigramRecommender:
    def index(self, catalog):
        self.grams = [trigrams(t) for t in catalog.titles]

    def search(self, queries, k):
        scores = np.array([[len(g & trigrams(q)) for g in self.grams] for q in queries], dtype=np.float32)
        return top_k(scores, k, min_score=0)  # no shared trigram: not a result


gym.register(
    "MyShop/Shop-Trigram-v0",
    entry_point="recgym.envs:make_env",
    vector_entry_point="recgym.envs:make_vector_env",
    kwargs={"task": "shop", "recommender": TrigramRecommender(), "dataset_kwargs": {"num_products": 500}},
)

if __name__ == "__main__":
    env = gym.make("MyShop/Shop-Trigram-v0", reward="plain")
    obs, info = env.reset(seed=0)
    _, reward, _, _, step_info = env.step(info["raw_action"])
    print(f"raw query {step_info['query']!r}: NDCG@100 = {reward:.3f}")
