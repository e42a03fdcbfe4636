"""Recommenders: BM25 parity with raw bm25s, empty queries, caching; dense chunking; RRF fusion by hand."""

import bm25s
import numpy as np
import pytest

from recgym.data import Catalog
from recgym.recommenders import PAD, BM25Recommender, DenseRecommender, HybridRecommender, Recommender

TITLES = [
    "Insulated Stainless Steel Travel Mug 16 oz",
    "French Press Coffee Maker Glass",
    "Wireless Gaming Headset for PS5",
    "Stainless Steel Chef Knife 8 inch",
    "Coffee Grinder Burr Electric",
    "the and of",  # only stopwords: an empty document
]
CATALOG = Catalog(item_ids=tuple(f"i{n}" for n in range(len(TITLES))), fields={"title": tuple(TITLES)})


def test_bm25_matches_raw_bm25s():
    rec = BM25Recommender(cache=False)
    rec.index(CATALOG)
    queries = ["stainless steel mug", "coffee", "gaming headset wireless", "knife"]
    pos, scores = rec.search(queries, k=4)
    raw = bm25s.BM25(k1=1.2, b=0.75)
    raw.index(bm25s.tokenize(TITLES, stopwords="en", show_progress=False), show_progress=False)
    docs, raw_scores = raw.retrieve(
        bm25s.tokenize(queries, stopwords="en", show_progress=False), k=4, show_progress=False
    )
    for i in range(len(queries)):
        n = int((raw_scores[i] > 0).sum())
        assert pos[i, :n].tolist() == docs[i, :n].tolist()
        np.testing.assert_allclose(scores[i, :n], raw_scores[i, :n], rtol=1e-6)
        assert (pos[i, n:] == PAD).all()  # zero-score items are not results
    assert pos[0, 0] == 0 and set(pos[1, :2]) == {1, 4}


@pytest.mark.parametrize("query", ["", "   ", "the of and", "zzzz unknownword", "!!!", "ß☕ 日本"])
def test_bm25_empty_rankings_not_errors(query):
    rec = BM25Recommender(cache=False)
    rec.index(CATALOG)
    pos, scores = rec.search([query, "coffee"], k=10)
    assert (pos[0] == PAD).all() and np.isneginf(scores[0]).all()
    assert pos[1, 0] in (1, 4)
    assert pos.shape == (2, 10)  # k larger than the catalog is padded


def test_bm25_cache_roundtrip(tmp_path, monkeypatch):
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path))
    first = BM25Recommender()
    first.index(CATALOG)
    built = list((tmp_path / "indexes").iterdir())
    assert len(built) == 1
    second = BM25Recommender(mmap=True)
    second.index(CATALOG)  # loads from the cache
    q = ["steel", "coffee press", "the"]
    for a, b in zip(first.search(q, 5), second.search(q, 5)):
        np.testing.assert_array_equal(a, b)
    BM25Recommender(k1=0.9).index(CATALOG)  # other settings -> other index
    assert len(list((tmp_path / "indexes").iterdir())) == 2


def test_bm25_bad_arguments():
    with pytest.raises(ValueError, match="k1"):
        BM25Recommender(b=2.0)
    rec = BM25Recommender(cache=False)
    with pytest.raises(RuntimeError, match="index"):
        rec.search(["x"], 3)
    rec.index(CATALOG)
    with pytest.raises(TypeError, match="not a single str"):
        rec.search("coffee", 3)
    with pytest.raises(ValueError, match="positive"):
        rec.search(["coffee"], 0)


# "red" matches items 0, 1 and 3 with equal scores (same words, same length); ids out of position order
TIED = Catalog(item_ids=("z9", "a1", "m5", "b2"), fields={"title": ("red mug", "red mug", "blue mug", "red mug")})


@pytest.mark.parametrize("tie_order, expected", [("position", [0, 1, 3]), ("item_id", [1, 3, 0])])
def test_bm25_tie_order_is_deterministic_and_decides_the_cut(tie_order, expected):
    rec = BM25Recommender(cache=False, tie_order=tie_order)
    rec.index(TIED)
    pos, scores = rec.search(["red", "red"], k=3)
    assert pos.tolist() == [expected, expected] and len(set(scores[0].tolist())) == 1
    assert rec.search(["red"], k=2)[0][0].tolist() == expected[:2]  # the tie group is cut in that order


def test_bm25_tie_orders_rank_the_same_scores():
    """Every tie order returns bm25s's scores; only the order among equal ones differs."""
    queries = ["stainless steel mug", "coffee", "gaming headset wireless", "knife steel", "red", "mug"]
    results = {}
    for order in ("position", "item_id", "bm25s"):
        rec = BM25Recommender(cache=False, tie_order=order)
        rec.index(CATALOG)
        results[order] = rec.search(queries, k=6)
    for order in ("position", "item_id"):
        np.testing.assert_array_equal(results[order][1], results["bm25s"][1])
        for a, b in zip(results[order][0], results["bm25s"][0]):
            assert sorted(a.tolist()) == sorted(b.tolist())


def test_bm25_tie_order_arguments():
    with pytest.raises(ValueError, match="tie_order"):
        BM25Recommender(tie_order="random")
    with pytest.warns(DeprecationWarning, match="tie_order='item_id'"):
        assert BM25Recommender(pyserini_order=True).tie_order == "item_id"


class BagOfWordsEncoder:
    """A deterministic stand-in for a sentence-transformers model: normalised hashed word counts."""

    def encode(self, texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False):
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, sum(map(ord, w)) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def test_dense_exact_and_chunked_agree():
    queries = ["stainless steel travel mug", "coffee grinder", "", "headset"]
    whole = DenseRecommender(model=BagOfWordsEncoder(), cache=False)
    whole.index(CATALOG)
    chunked = DenseRecommender(model=BagOfWordsEncoder(), cache=False, chunk_size=2)
    chunked.index(CATALOG)
    a_pos, a_scores = whole.search(queries, 4)
    b_pos, b_scores = chunked.search(queries, 4)
    np.testing.assert_array_equal(a_pos, b_pos)
    np.testing.assert_allclose(a_scores, b_scores, rtol=1e-6)
    assert a_pos[0, 0] == 0 and a_pos[1, 0] == 4
    assert (a_pos[2] == PAD).all()  # empty query -> empty ranking
    brute = BagOfWordsEncoder().encode(queries[:1]) @ BagOfWordsEncoder().encode(TITLES).T
    assert a_pos[0].tolist() == np.lexsort((np.arange(len(TITLES)), -brute[0]))[:4].tolist()


class FixedRanker:
    """A recommender returning a fixed ranking, to check fusion by hand."""

    def __init__(self, ranking):
        self.ranking = ranking

    def index(self, catalog):
        pass

    def search(self, queries, k):
        row = (self.ranking + [PAD] * k)[:k]
        return np.array([row] * len(queries)), np.zeros((len(queries), k), dtype=np.float32)


def test_rrf_hand_computed():
    a, b = FixedRanker([0, 1, 2]), FixedRanker([2, 0])
    assert isinstance(a, Recommender)
    hybrid = HybridRecommender([a, b], rrf_k=60, depth=3)
    hybrid.index(CATALOG)
    pos, scores = hybrid.search(["q"], k=4)
    # item 0: 1/61 + 1/62; item 2: 1/63 + 1/61; item 1: 1/62
    assert pos[0].tolist() == [0, 2, 1, PAD]
    assert scores[0, 0] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[0, 1] == pytest.approx(1 / 63 + 1 / 61)
    with pytest.raises(ValueError, match="at least two"):
        HybridRecommender([a])


@pytest.mark.slow
def test_dense_with_offline_minilm(tmp_path, monkeypatch):
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path))
    rec = DenseRecommender()
    rec.index(CATALOG)
    pos, scores = rec.search(["something to keep my coffee hot on the commute", "headphones for playstation"], 3)
    # no shared words, yet the embedder finds the mug near the top and the PS5 headset first (BM25 finds nothing)
    assert 0 in pos[0, :2].tolist() and pos[1, 0] == 2 and scores[1, 0] > 0.5
    again = DenseRecommender()
    again.index(CATALOG)  # memory-mapped from the cache
    assert isinstance(again._emb, np.memmap)
    np.testing.assert_array_equal(again.search(["coffee maker"], 3)[0], rec.search(["coffee maker"], 3)[0])


@pytest.mark.parametrize("analyzer", ["bm25s", "lucene"])
@pytest.mark.parametrize("cache", [False, True])
def test_bm25_first_title_without_words(analyzer, cache, tmp_path, monkeypatch):
    # bm25s guesses whether token lists are ids or words from the first document; an empty (all-stopword) first
    # title used to make it renumber the ids, so "mug" found "blue cup". Each query must find its own title.
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path))
    catalog = Catalog(("a", "b", "c"), {"title": ("the", "red mug", "blue cup")})
    rec = BM25Recommender(analyzer=analyzer, cache=cache)
    rec.index(catalog)
    positions, scores = rec.search(["mug", "cup", "the"], 3)
    assert positions[:, 0].tolist() == [1, 2, PAD]
    assert np.isfinite(scores[:2, 0]).all() and (positions[:2, 1:] == PAD).all()
