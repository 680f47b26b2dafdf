"""BM25 retrieval over the score matrix bm25s saved, without importing bm25s.

bm25s computes every (token, passage) score when it indexes and saves them
as a CSC matrix (``data``/``indices``/``indptr`` ``.npy`` files), the
vocabulary as JSON and its parameters. Answering a query is then a sum of
the query tokens' columns and a top-k. Importing bm25s for that costs ~0.3 s
cold, because its ``__init__`` tries to import numba and scipy (neither is
used: the index runs bm25s' numpy backend), which is a third of a one-query
``qa search --mode bm25``. So bm25s builds and saves the matrix and this
module reads it: the same numpy steps as bm25s' numpy backend
(``BM25.get_scores`` then ``selection.topk``), hence the same documents,
scores and tie order (``tests/test_bm25_scores.py`` compares both on real
queries).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: bm25s variants whose saved files hold a non-occurrence array this reader does not add
NONOCCURRENCE_METHODS = ("bm25l", "bm25+")


@dataclass(frozen=True)
class BM25Scores:
    """The saved BM25 matrix: column ``t`` holds token ``t``'s score in
    every passage that contains it (rows are passages in index order)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    num_docs: int
    vocab: dict[str, int]
    dtype: str = "float32"
    int_dtype: str = "int32"

    @classmethod
    def load(cls, folder: Path, files: dict[str, str], mmap: bool = True) -> "BM25Scores":
        """Read what ``bm25s.BM25.save(folder, **files)`` wrote; the arrays
        are memory-mapped when ``mmap``."""
        params = json.loads((folder / files["params_name"]).read_text(encoding="utf-8"))
        _check_method(params.get("method"))
        vocab = json.loads((folder / files["vocab_name"]).read_text(encoding="utf-8"))
        mode = "r" if mmap else None
        data, indices, indptr = (np.load(folder / files[name], allow_pickle=False, mmap_mode=mode)
                                 for name in ("data_name", "indices_name", "indptr_name"))
        return cls(data, indices, indptr, int(params["num_docs"]), vocab,
                   params.get("dtype", "float32"), params.get("int_dtype", "int32"))

    @classmethod
    def of(cls, bm25: Any) -> "BM25Scores":
        """The matrix of a ``bm25s.BM25`` indexed in this process."""
        _check_method(bm25.method)
        scores = bm25.scores
        return cls(scores["data"], scores["indices"], scores["indptr"], int(scores["num_docs"]),
                   bm25.vocab_dict, bm25.dtype, bm25.int_dtype)

    def scores(self, tokens: list[str], weight_mask: np.ndarray | None = None) -> np.ndarray:
        """Every passage's score for these tokens (a repeated token counts
        again, unknown ones not at all), times ``weight_mask`` when given."""
        ids = np.asarray([self.vocab[t] for t in tokens if t in self.vocab], dtype=self.int_dtype)
        scores = np.zeros(self.num_docs, dtype=self.dtype)
        for start, end in zip(self.indptr[ids], self.indptr[ids + 1]):
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        if weight_mask is not None:
            scores *= weight_mask
        return scores

    def document_frequency(self, token: str) -> int:
        """How many passages hold ``token``: its column's entries (0 for an unknown token)."""
        t = self.vocab.get(token)
        return 0 if t is None else int(self.indptr[t + 1] - self.indptr[t])

    def top_k(self, tokens: list[str], k: int, weight_mask: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, scores) of the ``k`` best passages, best first
        (``k`` at most ``num_docs``); ties fall as in bm25s."""
        scores = self.scores(tokens, weight_mask)
        rows = np.argpartition(scores, -k).take(indices=range(-k, 0))
        best = scores.take(rows)
        order = np.flip(np.argsort(best))
        return rows[order], best[order]


def _check_method(method: str | None) -> None:
    if method in NONOCCURRENCE_METHODS:
        raise ValueError(f"BM25 variant {method!r} is not supported by qa's reader; "
                         "rebuild the index with `python -m qa build --rebuild`")
