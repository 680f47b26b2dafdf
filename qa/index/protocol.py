"""The contract every index backend keeps (tests/test_index_contract.py).

A backend stores chunks with their vectors and answers three kinds of query:
lexical (``bm25``), vector (``dense``) and both fused (``hybrid``). Fusion may
happen inside the backend (Milvus does it natively), so it is part of the
contract rather than of the retrieval layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Protocol, runtime_checkable

import numpy as np

from qa.models import Chunk

MODES = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class Filter:
    """Restricts a search to some documents; every set field must match."""

    doc_ids: frozenset[str] | None = None
    title_contains: str | None = None
    year: int | None = None
    #: only documents dated before this year (a draft's precedents come from earlier reports)
    before_year: int | None = None
    exclude_doc_ids: frozenset[str] | None = None
    #: with ``before_year``: keep the documents that name no year too (drafting keeps them and
    #: says how many: a template dated "20xx年" may well be earlier); ``year`` never matches them
    undated: bool = False

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.title_contains or self.year or self.before_year or self.exclude_doc_ids)

    def accepts(self, chunk: Chunk) -> bool:
        if self.doc_ids and chunk.doc_id not in self.doc_ids:
            return False
        if self.exclude_doc_ids and chunk.doc_id in self.exclude_doc_ids:
            return False
        if self.title_contains and self.title_contains not in chunk.title:
            return False
        if self.year is not None or self.before_year is not None:
            year = chunk.year
            if year is None:
                return self.undated and self.year is None
            if self.year is not None and year != self.year:
                return False
            if self.before_year is not None and year >= self.before_year:
                return False
        return True


@runtime_checkable
class Index(Protocol):
    dim: int

    def add(self, chunks: list[Chunk], vectors: np.ndarray, *,
            sentence_vectors: list[np.ndarray] | None = None) -> None:
        """Store chunks (ids must be new) with one normalised vector each and,
        when given, one matrix of sentence vectors per chunk (the build passes
        them; ``sentence_similarities`` reads them)."""

    def delete(self, doc_ids: Iterable[str]) -> int:
        """Remove every chunk of these documents; returns how many went."""

    def search(self, query: str, vector: np.ndarray | None, k: int, mode: str, where: Filter | None, *,
               dense_weight: float, rrf_k: int) -> list[tuple[Chunk, float]]:
        """The best ``k`` chunks for a normalised query text and its vector
        (None for ``bm25``), best first, with scores (the backend tokenizes
        for BM25 itself). ``hybrid`` fuses the BM25 and dense rankings by
        reciprocal rank: ``dense_weight`` for the dense list, the rest for
        BM25, constant ``rrf_k`` (``Settings`` holds the defaults)."""

    def chunks(self, where: Filter | None = None) -> list[Chunk]:
        """The stored chunks (those ``where`` accepts) in insertion order."""

    def sentence_similarities(self, chunks: list[Chunk], vector: np.ndarray) -> list[np.ndarray] | None:
        """Similarity to the query of each chunk's sentences in stored order
        (``qa.text.sentences.vector_sentences``; empty for a chunk without any), or
        None when the index keeps no sentence vectors: the second stage and
        the answer layer judge passages by their sentences."""

    def save(self, path: Path) -> None:
        """Write the whole index into the empty directory ``path``."""

    def stats(self) -> dict[str, Any]:
        """Counts and memory figures for reports and the UI."""
