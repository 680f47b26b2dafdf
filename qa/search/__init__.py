"""A question -> ranked, cited passages.

``query`` normalises the question, ``searcher`` encodes it once and asks the
index (BM25 and dense, fused), ``second_stage`` ranks the candidates again by
their sentences with a ``SentenceScorer`` it is handed, ``copies`` shows a
reposted notice once.
"""

from qa.search.query import QueryError, normalize_query
from qa.search.searcher import Searcher

__all__ = ["QueryError", "Searcher", "normalize_query"]
