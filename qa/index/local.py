"""The single-machine backend: FAISS for vectors, bm25s over jieba tokens,
SQLite for the chunk table.

Chunks get stable integer ids (FAISS ``IndexIDMap2``), so deleting a document
removes exactly its vectors and an incremental build never re-embeds the rest.
The BM25 matrix is rebuilt from stored tokens whenever the chunk set changes:
bm25s indexes a million chunks' tokens in seconds, far below embedding cost.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any, Iterable

import bm25s
import faiss
import numpy as np

from qa.index.fusion import rrf
from qa.index.protocol import Filter
from qa.models import Chunk
from qa.tokenize import tokenize

logger = logging.getLogger(__name__)

VECTORS_FILE = "vectors.faiss"
CHUNKS_FILE = "chunks.sqlite"


def search_text(chunk: Chunk) -> str:
    """What BM25 and the embedding see: the passage under its title and
    section path, so a passage about "措施" still matches "教师交流" when only
    its heading says so."""
    context = " ".join([chunk.title, *chunk.section])
    return f"{context}\n{chunk.text}"


def make_vector_index(dim: int) -> faiss.Index:
    """Exact inner product (= cosine on normalised vectors) with stable ids.
    Flat is exact and fast below ~100k vectors; larger corpora are the
    performance issue's business (docs/scale.md)."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


class LocalIndex:
    def __init__(self, dim: int):
        self.dim = dim
        self._vectors = make_vector_index(dim)
        self._chunks: dict[int, Chunk] = {}
        self._tokens: dict[int, list[str]] = {}
        self._sentences: dict[int, np.ndarray] = {}  # chunk id -> its sentence vectors
        self._next_id = 0
        self._bm25: bm25s.BM25 | None = None
        self._bm25_ids = np.zeros(0, dtype="int64")

    # --- writing ----------------------------------------------------------

    def add(self, chunks: list[Chunk], vectors: np.ndarray, tokens: list[list[str]] | None = None,
            sentence_vectors: list[np.ndarray] | None = None) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if len(chunks) == 0:
            return
        known = {c.chunk_id for c in self._chunks.values()}
        duplicate = next((c.chunk_id for c in chunks if c.chunk_id in known), None)
        if duplicate:
            raise ValueError(f"chunk {duplicate} is already in the index")
        ids = np.arange(self._next_id, self._next_id + len(chunks), dtype="int64")
        self._next_id += len(chunks)
        self._vectors.add_with_ids(np.ascontiguousarray(vectors, dtype="float32"), ids)
        tokens = tokens if tokens is not None else [tokenize(search_text(c)) for c in chunks]
        for n, (i, chunk, toks) in enumerate(zip(ids.tolist(), chunks, tokens)):
            self._chunks[i] = chunk
            self._tokens[i] = toks
            if sentence_vectors is not None:
                self._sentences[i] = np.asarray(sentence_vectors[n], dtype="float32").reshape(-1, self.dim)
        self._bm25 = None

    def delete(self, doc_ids: Iterable[str]) -> int:
        doomed = set(doc_ids)
        ids = [i for i, c in self._chunks.items() if c.doc_id in doomed]
        if ids:
            self._vectors.remove_ids(np.asarray(ids, dtype="int64"))
            for i in ids:
                del self._chunks[i], self._tokens[i]
                self._sentences.pop(i, None)
            self._bm25 = None
        return len(ids)

    # --- reading ----------------------------------------------------------

    def chunks(self) -> list[Chunk]:
        return [self._chunks[i] for i in sorted(self._chunks)]

    def __len__(self) -> int:
        return len(self._chunks)

    def _bm25_index(self) -> bm25s.BM25:
        if self._bm25 is None:
            self._bm25_ids = np.asarray(sorted(self._chunks), dtype="int64")
            bm25 = bm25s.BM25()
            corpus = [self._tokens[i] or ["<empty>"] for i in self._bm25_ids.tolist()]
            if corpus:
                bm25.index(corpus, show_progress=False)
            self._bm25 = bm25
        return self._bm25

    def _allowed(self, where: Filter | None) -> np.ndarray | None:
        if not where:
            return None
        return np.asarray([i for i, c in self._chunks.items() if where.accepts(c)], dtype="int64")

    def search_bm25(self, query: str, k: int, where: Filter | None = None) -> list[tuple[int, float]]:
        tokens = tokenize(query, normalized=True)
        bm25 = self._bm25_index()
        if not tokens or not len(self._bm25_ids):
            return []
        mask = None
        allowed = self._allowed(where)
        if allowed is not None:
            mask = np.isin(self._bm25_ids, allowed).astype("float32")
        known = [t for t in tokens if t in bm25.vocab_dict]
        if not known:
            return []
        k = min(k, len(self._bm25_ids))
        docs, scores = bm25.retrieve([known], k=k, show_progress=False, weight_mask=mask)
        return [(int(self._bm25_ids[d]), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def search_dense(self, vector: np.ndarray, k: int, where: Filter | None = None) -> list[tuple[int, float]]:
        if not self._chunks:
            return []
        query = np.ascontiguousarray(vector, dtype="float32").reshape(1, self.dim)
        params = None
        allowed = self._allowed(where)
        if allowed is not None:
            if not len(allowed):
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = self._vectors.search(query, min(k, len(self._chunks)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def search(self, query: str, vector: np.ndarray | None, k: int, mode: str = "hybrid",
               where: Filter | None = None, dense_weight: float = 0.5, rrf_k: int = 60) -> list[tuple[Chunk, float]]:
        if mode == "bm25":
            ranked = self.search_bm25(query, k, where)
        elif mode == "dense":
            ranked = self.search_dense(vector, k, where)
        elif mode == "hybrid":
            ranked = rrf(
                [self.search_bm25(query, k, where), self.search_dense(vector, k, where)],
                [1 - dense_weight, dense_weight], rrf_k,
            )[:k]
        else:
            raise ValueError(f"unknown search mode {mode!r} (use bm25, dense or hybrid)")
        return [(self._chunks[i], score) for i, score in ranked]

    def sentence_scores(self, chunks: list[Chunk], vector: np.ndarray) -> np.ndarray | None:
        """Best sentence similarity of each chunk to the query, or None when
        the index holds no sentence vectors (built without them)."""
        if not self._sentences:
            return None
        by_chunk_id = {c.chunk_id: i for i, c in self._chunks.items()}
        scores = []
        for chunk in chunks:
            matrix = self._sentences.get(by_chunk_id[chunk.chunk_id])
            scores.append(float(np.max(matrix @ vector)) if matrix is not None and len(matrix) else -1.0)
        return np.asarray(scores, dtype="float32")

    def stats(self) -> dict[str, Any]:
        return {
            "backend": "local",
            "chunks": len(self._chunks),
            "documents": len({c.doc_id for c in self._chunks.values()}),
            "dim": self.dim,
            "vector_index": type(self._vectors.index).__name__ if hasattr(self._vectors, "index") else type(self._vectors).__name__,
            "vector_bytes": len(self._chunks) * self.dim * 4,
        }

    # --- persistence ------------------------------------------------------

    def save(self, path: Path) -> None:
        faiss.write_index(self._vectors, str(path / VECTORS_FILE))
        with sqlite3.connect(path / CHUNKS_FILE) as db:
            db.execute(
                "CREATE TABLE chunks (id INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE, doc_id TEXT, title TEXT,"
                " source TEXT, section TEXT, text TEXT, start INTEGER, end INTEGER, meta TEXT, tokens TEXT)"
            )
            db.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    (i, c.chunk_id, c.doc_id, c.title, c.source, json.dumps(c.section, ensure_ascii=False), c.text,
                     c.start, c.end, json.dumps(c.meta, ensure_ascii=False), "\t".join(self._tokens[i]))
                    for i, c in sorted(self._chunks.items())
                ),
            )
            db.execute("CREATE TABLE sentences (id INTEGER PRIMARY KEY, vectors BLOB)")
            db.executemany("INSERT INTO sentences VALUES (?,?)",
                           ((i, m.astype("float32").tobytes()) for i, m in sorted(self._sentences.items())))
            db.execute("CREATE TABLE state (next_id INTEGER)")
            db.execute("INSERT INTO state VALUES (?)", (self._next_id,))
        db.close()

    @classmethod
    def load(cls, path: Path, dim: int) -> "LocalIndex":
        index = cls(dim)
        index._vectors = faiss.read_index(str(path / VECTORS_FILE))
        db = sqlite3.connect(f"file:{path / CHUNKS_FILE}?mode=ro", uri=True)
        try:
            for row in db.execute("SELECT id, chunk_id, doc_id, title, source, section, text, start, end, meta, tokens FROM chunks"):
                i = int(row[0])
                index._chunks[i] = Chunk(row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7], row[8], json.loads(row[9]))
                index._tokens[i] = row[10].split("\t") if row[10] else []
            for i, blob in db.execute("SELECT id, vectors FROM sentences"):
                index._sentences[int(i)] = np.frombuffer(blob, dtype="float32").reshape(-1, dim)
            index._next_id = int(db.execute("SELECT next_id FROM state").fetchone()[0])
        finally:
            db.close()
        if index._vectors.ntotal != len(index._chunks):
            raise ValueError(f"{path}: {index._vectors.ntotal} vectors but {len(index._chunks)} chunks")
        return index
