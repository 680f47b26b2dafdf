"""The common baseline the benchmarks compare against: fixed-size chunks
(400 characters, 80 overlap) over the same cleaned documents, FAISS flat over
the same model's vectors, and BM25 (bm25s over the same jieba tokens) alone."""

from __future__ import annotations

import time

import bm25s
import faiss

from qa.text.tokenize import tokenize

SIZE, OVERLAP = 400, 80


def fixed_chunks(documents, size: int = SIZE, overlap: int = OVERLAP) -> list[str]:
    out = []
    for doc in documents:
        step = size - overlap
        for start in range(0, max(1, len(doc.text) - overlap), step):
            out.append(doc.text[start:start + size])
    return out


class Baseline:
    def __init__(self, texts: list[str], embedder=None):
        self.texts = texts
        self.seconds: dict[str, float] = {}
        t = time.perf_counter()
        self.tokens = [tokenize(x) or ["<empty>"] for x in texts]
        self.bm25 = bm25s.BM25()
        self.bm25.index(self.tokens, show_progress=False)
        self.seconds["bm25_index"] = time.perf_counter() - t
        self.embedder = embedder
        if embedder is not None:
            t = time.perf_counter()
            vectors = embedder.encode_documents(texts)
            self.seconds["embed"] = time.perf_counter() - t
            t = time.perf_counter()
            self.flat = faiss.IndexFlatIP(embedder.dim)
            self.flat.add(vectors)
            self.seconds["faiss_index"] = time.perf_counter() - t

    def search_bm25(self, query: str, k: int = 5) -> list[int]:
        known = [t for t in tokenize(query) if t in self.bm25.vocab_dict]
        if not known:
            return []
        docs, scores = self.bm25.retrieve([known], k=min(k, len(self.texts)), show_progress=False)
        return [int(d) for d, s in zip(docs[0], scores[0]) if s > 0]

    def search_dense(self, query: str, k: int = 5) -> list[int]:
        vector = self.embedder.encode_queries([query])
        _, ids = self.flat.search(vector, k)
        return [int(i) for i in ids[0] if i >= 0]


def evidence_hit(texts: list[str], evidence: list[str]) -> bool:
    """Approximate dev-set hit: some evidence string inside some returned text
    (ignoring whitespace)."""
    norm = ["".join(t.split()) for t in texts]
    return any("".join(e.split()) in t for e in evidence for t in norm)
