"""Rank fusion of several retrievers' result lists."""

from __future__ import annotations

from typing import Hashable, Sequence, TypeVar

K = TypeVar("K", bound=Hashable)


def rrf(rankings: Sequence[Sequence[tuple[K, float]]], weights: Sequence[float] | None = None,
        k: int = 60) -> list[tuple[K, float]]:
    """Weighted reciprocal-rank fusion: ``sum(w / (k + rank))``.

    Ranks, not raw scores, are fused: BM25 scores are unbounded and cosine
    similarities are not, so rank fusion needs no calibration between them.

    >>> bm25 = [("a", 12.0), ("b", 9.5)]
    >>> dense = [("b", 0.91), ("c", 0.88)]
    >>> [key for key, _ in rrf([bm25, dense], [0.7, 0.3], k=10)]
    ['b', 'a', 'c']
    """
    weights = weights or [1.0] * len(rankings)
    fused: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, (key, _) in enumerate(ranking, 1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])
