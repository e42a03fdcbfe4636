"""Black-box recommenders: ``index(catalog)`` once, then ``search(queries, k)`` in batches."""

from recgym.recommenders.base import PAD, Recommender
from recgym.recommenders.bm25 import BM25Recommender
from recgym.recommenders.dense import DenseRecommender, default_embedder_path
from recgym.recommenders.hybrid import HybridRecommender
from recgym.recommenders.postgres import PostgresRecommender  # psycopg is imported only when it connects
from recgym.recommenders.remote import (
    RecommenderUnavailable,
    RemoteProtocolError,
    RemoteRecommender,
    RemoteRecommenderError,
)
from recgym.recommenders.sqlite import SQLiteRecommender

__all__ = [
    "PAD",
    "BM25Recommender",
    "DenseRecommender",
    "HybridRecommender",
    "PostgresRecommender",
    "Recommender",
    "RecommenderUnavailable",
    "RemoteProtocolError",
    "RemoteRecommender",
    "RemoteRecommenderError",
    "SQLiteRecommender",
    "default_embedder_path",
]
