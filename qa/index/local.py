"""The single-machine backend: FAISS for vectors, bm25s over jieba tokens,
SQLite for the chunk table.

Chunks get stable integer ids, so deleting a document removes exactly its
vectors and an incremental build never re-embeds the rest. The FAISS type is
picked by size (``make_vector_index``, docs/scale.md):

* up to ``FLAT_MAX`` vectors: exact ``IndexFlatIP`` in ``IndexIDMap2``;
* above: ``IVF{K},SQfp16`` with K = 4·√N cells trained on a sample, our ids
  stored in the inverted lists themselves (IVF supports ``add_with_ids`` and
  ``remove_ids``), ``nprobe`` calibrated to recall@10 ≥ 0.95 against exact
  search (``calibrate``: on query vectors of phrases from the corpus when the
  caller can encode them, as the build does); retrained when the corpus
  outgrows its cells;
* ``kind="hnsw"`` on request: ``HNSW32`` in ``IndexIDMap2``; HNSW cannot remove
  vectors, so a delete rebuilds the graph from the remaining ones.

Loading memory-maps the vector file (``IO_FLAG_MMAP_IFC``) and the saved BM25
matrix (read by ``qa.index.bm25_scores``: bm25s itself, and the numba and
scipy it imports, load only when a write re-indexes); the first write copies
the vectors into memory (a memory-mapped FAISS index cannot grow). Token lists stay in ``chunks.sqlite`` once saved: as
Python strings they would take ~10 GB at a million chunks. A write reads them
back (interned) to rebuild the BM25 matrix; bm25s indexes a million chunks'
tokens in about a minute, far below embedding cost.

Sentence vectors for the reranker are kept only up to
``SENTENCE_VECTORS_MAX`` chunks: beyond, they would cost ~12 KB a chunk on
disk and in RAM (tens of GB at a million chunks), so they are dropped and the
reranker is skipped (``sentence_similarities`` returns None).
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

import faiss
import numpy as np

from qa.index.bm25_scores import BM25Scores
from qa.index.fusion import rrf
from qa.index.passages import lexical_text
from qa.index.protocol import Filter
from qa.index.vectors import (
    FLAT_MAX,
    calibrate_nprobe,
    ivf_cells,
    kind_of,
    make_vector_index,
    mixture_probes,
    training_sample,
    vector_kind,
)
from qa.models import Chunk
from qa.text.tokenize import tokenize

logger = logging.getLogger(__name__)

VECTORS_FILE = "vectors.faiss"
CHUNKS_FILE = "chunks.sqlite"
#: bm25s's files, saved flat next to the others (so the manifest checksums them)
BM25_FILES = {"data_name": "bm25.data.npy", "indices_name": "bm25.indices.npy", "indptr_name": "bm25.indptr.npy",
              "vocab_name": "bm25.vocab.json", "params_name": "bm25.params.json", "nnoc_name": "bm25.nnoc.npy"}

#: sentence vectors for the reranker are kept up to this many chunks
SENTENCE_VECTORS_MAX = 100_000


#: BM25 saturation and length normalisation, chosen on the NCP, seed and own
#: sets together (docs/retrieval.md): passages carry a long shared context
#: (title, section path, lead), so length matters less than bm25s' defaults (1.5, 0.75) assume
BM25_K1, BM25_B = 0.9, 0.4


class LocalIndex:
    """The ``qa.index.protocol.Index`` of one machine: FAISS vectors, a BM25
    matrix and a SQLite chunk table in one directory.

    >>> import numpy as np
    >>> from qa.models import Chunk
    >>> index = LocalIndex(dim=2)
    >>> chunk = Chunk("d@0", "d", "报告", "d.txt", [], "推进教师交流轮岗。", 0, 9)
    >>> index.add([chunk], np.array([[1.0, 0.0]]))
    >>> [c.chunk_id for c, _ in index.search("教师交流", None, 1, "bm25", None, dense_weight=0.3, rrf_k=10)]
    ['d@0']
    """

    def __init__(self, dim: int, kind: str = "auto", flat_max: int = FLAT_MAX, storage: str = "SQfp16",
                 sentence_limit: int = SENTENCE_VECTORS_MAX):
        vector_kind(0, kind)  # validates
        self.dim = dim
        self.kind = kind
        self.flat_max = flat_max
        self.storage = storage
        self.sentence_limit = sentence_limit
        self._vectors = make_vector_index(dim, 0, "hnsw" if kind == "hnsw" else "flat")
        self._mapped = False  # memory-mapped from disk: copied into memory before the first write
        self._chunks: dict[int, Chunk] = {}
        self._tokens: dict[int, list[str]] = {}
        self._sentences: dict[int, np.ndarray] = {}  # chunk id -> its sentence vectors
        self._sentences_dropped = False
        self._by_chunk_id: dict[str, int] = {}
        self._by_doc: dict[str, list[int]] = {}
        self._allowed_cache: dict[Filter, np.ndarray] = {}
        self._next_id = 0
        self._bm25: BM25Scores | None = None  # what searches read: loaded, or taken from _bm25s
        self._bm25s = None  # the bm25s.BM25 indexed in this process: what save writes
        self._bm25_ids = np.zeros(0, dtype="int64")
        # the chunks.sqlite this index was loaded from: tokens of loaded chunks stay there
        self._source: sqlite3.Connection | None = None
        #: how nprobe was chosen: probes ("queries" or "mixtures"), chunks, nprobe, recall
        self.calibration: dict[str, Any] | None = None

    # --- writing ----------------------------------------------------------

    def wants_sentence_vectors(self, extra: int = 0) -> bool:
        """Whether sentence vectors for ``extra`` more chunks would be kept
        (a build can skip encoding them when not)."""
        return not self._sentences_dropped and len(self._chunks) + extra <= self.sentence_limit

    def _writable(self) -> None:
        if self._mapped:  # a memory-mapped FAISS index cannot grow or shrink: take an in-memory copy
            self._vectors = faiss.deserialize_index(faiss.serialize_index(self._vectors))
            self._mapped = False

    def _changed(self) -> None:
        self._bm25 = self._bm25s = None
        self._allowed_cache.clear()

    def add(self, chunks: list[Chunk], vectors: np.ndarray, tokens: list[list[str]] | None = None,
            sentence_vectors: list[np.ndarray] | None = None) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if len(chunks) == 0:
            return
        fresh: set[str] = set()
        for c in chunks:
            if c.chunk_id in self._by_chunk_id or c.chunk_id in fresh:
                raise ValueError(f"chunk {c.chunk_id} is already in the index")
            fresh.add(c.chunk_id)
        self._writable()
        vectors = np.ascontiguousarray(vectors, dtype="float32").reshape(len(chunks), self.dim)
        ids = np.arange(self._next_id, self._next_id + len(chunks), dtype="int64")
        self._next_id += len(chunks)
        self._add_vectors(ids, vectors)
        tokens = tokens if tokens is not None else [tokenize(lexical_text(c)) for c in chunks]
        if sentence_vectors is not None and not self.wants_sentence_vectors(len(chunks)):
            self._drop_sentences()
            sentence_vectors = None
        for n, (i, chunk, toks) in enumerate(zip(ids.tolist(), chunks, tokens)):
            self._chunks[i] = chunk
            self._tokens[i] = toks
            self._by_chunk_id[chunk.chunk_id] = i
            self._by_doc.setdefault(chunk.doc_id, []).append(i)
            if sentence_vectors is not None:
                self._sentences[i] = np.asarray(sentence_vectors[n], dtype="float32").reshape(-1, self.dim)
        self._changed()

    def _drop_sentences(self) -> None:
        if not self._sentences_dropped:
            logger.warning("more than %d chunks: sentence vectors dropped, the sentence rerank is off "
                           "(docs/scale.md)", self.sentence_limit)
        self._sentences.clear()
        self._sentences_dropped = True

    def _add_vectors(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        total = self._vectors.ntotal + len(ids)
        current = kind_of(self._vectors)
        wanted = vector_kind(total, self.kind, self.flat_max)
        if current == "ivf" and wanted == "ivf":
            cells = faiss.extract_index_ivf(self._vectors).nlist
            if cells >= ivf_cells(total) / 2:  # still within 2–16·√N cells: just add
                self._vectors.add_with_ids(vectors, ids)
                return
        elif current == wanted:
            self._vectors.add_with_ids(vectors, ids)
            return
        old_ids, old = self._all_vectors()
        self._rebuild(np.concatenate([old_ids, ids]), np.concatenate([old, vectors]), wanted)

    def _all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every stored id and vector (decoded; fp16 codes decode losslessly enough)."""
        index = self._vectors
        n = index.ntotal
        if not n:
            return np.zeros(0, dtype="int64"), np.zeros((0, self.dim), dtype="float32")
        if isinstance(index, faiss.IndexIDMap2):
            ids = faiss.vector_to_array(index.id_map).astype("int64")
            return ids, index.index.reconstruct_n(0, n)
        ivf = faiss.extract_index_ivf(index)
        ids = np.concatenate([
            faiss.rev_swig_ptr(ivf.invlists.get_ids(c), ivf.invlists.list_size(c)).copy()
            for c in range(ivf.nlist) if ivf.invlists.list_size(c)
        ]).astype("int64")
        return ids, index.reconstruct_batch(ids)

    def _rebuild(self, ids: np.ndarray, vectors: np.ndarray, kind: str) -> None:
        if kind == "ivf":
            sample = training_sample(vectors, ivf_cells(len(ids)))
            self._vectors = make_vector_index(self.dim, len(ids), "ivf", storage=self.storage, training=sample)
            self._vectors.add_with_ids(vectors, ids)
            self._calibrate(mixture_probes(vectors), "mixtures")
        else:
            self._vectors = make_vector_index(self.dim, len(ids), kind)
            if len(ids):
                self._vectors.add_with_ids(vectors, ids)

    def _calibrate(self, probes: np.ndarray, kind: str) -> None:
        ivf = faiss.extract_index_ivf(self._vectors)
        ivf.nprobe, recall = calibrate_nprobe(self._vectors, probes)
        self.calibration = {"probes": kind, "chunks": self._vectors.ntotal, "nprobe": ivf.nprobe,
                            "recall": round(recall, 4)}
        logger.info("IVF index: %d vectors, %d cells, nprobe %d (recall@10 %.3f vs exact on %d %s)",
                    self._vectors.ntotal, ivf.nlist, ivf.nprobe, recall, len(probes), kind)

    def needs_calibration(self) -> bool:
        """Whether ``calibrate`` with query vectors would change anything: an
        IVF index calibrated on stand-in probes, or on 10 % fewer or more chunks."""
        if kind_of(self._vectors) != "ivf":
            return False
        c = self.calibration
        return not c or c["probes"] != "queries" or abs(c["chunks"] - self._vectors.ntotal) > 0.1 * self._vectors.ntotal

    def calibrate(self, query_vectors: np.ndarray) -> dict[str, Any] | None:
        """Choose ``nprobe`` for recall@10 ≥ 0.95 on these query vectors (the
        build encodes ``probe_phrases`` of the corpus); None unless IVF."""
        if kind_of(self._vectors) != "ivf":
            return None
        self._calibrate(query_vectors, "queries")  # nprobe is a search parameter: a mapped index needs no copy
        return self.calibration

    def delete(self, doc_ids: Iterable[str]) -> int:
        ids = [i for d in set(doc_ids) for i in self._by_doc.get(d, ())]
        if ids:
            self._writable()
            doomed = np.asarray(ids, dtype="int64")
            if kind_of(self._vectors) == "hnsw":  # HNSW cannot remove: rebuild the graph without them
                all_ids, vectors = self._all_vectors()
                keep = ~np.isin(all_ids, doomed)
                self._rebuild(all_ids[keep], vectors[keep], "hnsw")
            else:
                self._vectors.remove_ids(doomed)
            for i in ids:
                chunk = self._chunks.pop(i)
                self._tokens.pop(i, None)
                del self._by_chunk_id[chunk.chunk_id]
                self._sentences.pop(i, None)
                self._by_doc.pop(chunk.doc_id, None)
            self._changed()
        return len(ids)

    # --- reading ----------------------------------------------------------

    def chunks(self, where: Filter | None = None) -> list[Chunk]:
        return [self._chunks[i] for i in sorted(self._chunks) if not where or where.accepts(self._chunks[i])]

    def __len__(self) -> int:
        return len(self._chunks)

    def _token_lists(self) -> Iterator[tuple[int, list[str]]]:
        """(id, tokens) of every chunk in id order: tokens of chunks added in
        this process are in memory, those of loaded ones are read (interned)
        from the loaded ``chunks.sqlite``; both are sorted by id, so a merge."""
        stored = iter(self._source.execute("SELECT id, tokens FROM chunks ORDER BY id")) if self._source else iter(())
        for i in sorted(self._chunks):
            if i in self._tokens:
                yield i, self._tokens[i]
                continue
            for j, text in stored:
                if j == i:
                    yield i, [sys.intern(t) for t in text.split("\t")] if text else []
                    break
            else:
                raise ValueError(f"the tokens of chunk {self._chunks[i].chunk_id} are missing from the loaded index")

    def _indexed_bm25(self):
        """bm25s over every chunk's tokens (a loaded index that is saved
        unchanged re-indexes its stored tokens too)."""
        if self._bm25s is None:
            import bm25s

            self._bm25_ids = np.asarray(sorted(self._chunks), dtype="int64")
            bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
            corpus = [tokens or ["<empty>"] for _, tokens in self._token_lists()]
            if corpus:
                bm25.index(corpus, show_progress=False)
            self._bm25s = bm25
        return self._bm25s

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """Each token's inverse passage frequency, ln((N + 1) / (df + 1)): how
        much sharing it says (教育 little, 溺水 much); drafting weighs shared words by it."""
        if not self._chunks:
            return {t: 0.0 for t in tokens}
        bm25 = self._bm25_index()
        return {t: math.log((bm25.num_docs + 1) / (bm25.document_frequency(t) + 1)) for t in tokens}

    def _bm25_index(self) -> BM25Scores:
        """The BM25 matrix searches read; call only when there are chunks."""
        if self._bm25 is None:
            self._bm25 = BM25Scores.of(self._indexed_bm25())
        return self._bm25

    def _allowed(self, where: Filter | None) -> np.ndarray | None:
        """Ids a filter lets through (cached per filter until the next write);
        None when there is no filter."""
        if not where:
            return None
        allowed = self._allowed_cache.get(where)
        if allowed is None:
            if where.doc_ids:
                candidates = (i for d in where.doc_ids for i in self._by_doc.get(d, ()))
            else:
                candidates = iter(self._chunks)
            allowed = np.sort(np.fromiter((i for i in candidates if where.accepts(self._chunks[i])), dtype="int64"))
            if len(self._allowed_cache) > 64:
                self._allowed_cache.clear()
            self._allowed_cache[where] = allowed
        return allowed

    def allowed_ids(self, where: Filter | None) -> np.ndarray | None:
        """Sorted internal ids of the chunks a filter lets through; None for no filter."""
        return self._allowed(where)

    def chunk_at(self, i: int) -> Chunk:
        return self._chunks[i]

    def sentence_matrices(self) -> Iterator[tuple[int, Chunk, np.ndarray]]:
        """(internal id, chunk, its sentence vectors) in id order; rows follow
        ``qa.text.sentences.candidate_spans(chunk.text)``. Empty when the index keeps none."""
        for i in sorted(self._sentences):
            yield i, self._chunks[i], self._sentences[i]

    def search_bm25(self, query: str, k: int, where: Filter | None = None) -> list[tuple[int, float]]:
        tokens = tokenize(query, normalized=True)
        if not tokens or not self._chunks:
            return []
        bm25 = self._bm25_index()
        mask = None
        allowed = self._allowed(where)
        if allowed is not None:
            mask = np.isin(self._bm25_ids, allowed).astype("float32")
        known = [t for t in tokens if t in bm25.vocab]
        if not known:
            return []
        docs, scores = bm25.top_k(known, min(k, len(self._bm25_ids)), weight_mask=mask)
        return [(int(self._bm25_ids[d]), float(s)) for d, s in zip(docs, scores) if s > 0]

    def search_dense(self, vector: np.ndarray, k: int, where: Filter | None = None) -> list[tuple[int, float]]:
        if not self._chunks:
            return []
        query = np.ascontiguousarray(vector, dtype="float32").reshape(1, self.dim)
        allowed = self._allowed(where)
        if allowed is not None and not len(allowed):
            return []
        sel = faiss.IDSelectorBatch(allowed) if allowed is not None else None
        kind = kind_of(self._vectors)
        if kind == "ivf":
            ivf = faiss.extract_index_ivf(self._vectors)
            nprobe = ivf.nprobe
            if allowed is not None:  # probe enough cells to meet as many allowed vectors as without a filter
                share = len(allowed) / max(1, len(self._chunks))
                nprobe = min(ivf.nlist, int(math.ceil(nprobe / max(share, 1e-9))))
            params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
        elif kind == "hnsw":
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(128, k))
        else:
            params = faiss.SearchParameters(sel=sel) if sel is not None else None
        # one query is one thread's work: an OpenMP team of 2 on a busy 2-core machine
        # costs ~50 ms of spinning and scheduling per search (docs/performance.md)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self._vectors.search(query, min(k, len(self._chunks)), params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def search(self, query: str, vector: np.ndarray | None, k: int, mode: str, where: Filter | None, *,
               dense_weight: float, rrf_k: int) -> list[tuple[Chunk, float]]:
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

    def sentence_similarities(self, chunks: list[Chunk], vector: np.ndarray) -> list[np.ndarray] | None:
        """Similarity to the query of each chunk's sentences, in the order
        stored at build time (``qa.text.sentences.vector_sentences``; empty for a chunk
        without any), or None when the index keeps no sentence vectors (built
        without them, or too big): one matrix product over the candidates'
        stacked sentences. The reranker and the answer layer judge passages by
        their sentences."""
        if not self._sentences:
            return None
        empty = np.zeros((0, self.dim), dtype="float32")
        matrices = [self._sentences.get(self._by_chunk_id.get(c.chunk_id, -1), empty) for c in chunks]
        if not any(len(m) for m in matrices):
            return [np.zeros(0, dtype="float32") for _ in chunks]
        sims = np.concatenate(matrices) @ np.asarray(vector, dtype="float32").reshape(self.dim)
        return np.split(sims, np.cumsum([len(m) for m in matrices])[:-1])

    def stats(self) -> dict[str, Any]:
        kind = kind_of(self._vectors)
        n = len(self._chunks)
        stats = {
            "backend": "local",
            "chunks": n,
            "documents": len(self._by_doc),
            "dim": self.dim,
            "vector_index": type(faiss.downcast_index(self._vectors.index)).__name__
            if isinstance(self._vectors, faiss.IndexIDMap2) else type(self._vectors).__name__,
            "vector_kind": kind,
            "vector_bytes": n * self.dim * 4,
            "memory_mapped": self._mapped,
            "sentence_vectors": len(self._sentences),
        }
        if kind == "ivf":
            ivf = faiss.extract_index_ivf(self._vectors)
            stats.update(cells=ivf.nlist, nprobe=ivf.nprobe, vector_bytes=n * (ivf.code_size + 8),
                         calibration=self.calibration)
        elif kind == "hnsw":
            stats["vector_bytes"] = n * (self.dim * 4 + 32 * 2 * 4 + 8)
        return stats

    # --- persistence ------------------------------------------------------

    def save(self, path: Path) -> None:
        faiss.write_index(self._vectors, str(path / VECTORS_FILE))
        if self._chunks:  # loading maps the matrix instead of re-indexing every token
            self._indexed_bm25().save(str(path), **BM25_FILES, show_progress=False)
        with sqlite3.connect(path / CHUNKS_FILE) as db:
            db.execute(
                "CREATE TABLE chunks (id INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE, doc_id TEXT, title TEXT,"
                " source TEXT, section TEXT, text TEXT, start INTEGER, end INTEGER, meta TEXT, tokens TEXT)"
            )
            db.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    (i, c.chunk_id, c.doc_id, c.title, c.source, json.dumps(c.section, ensure_ascii=False), c.text,
                     c.start, c.end, json.dumps(c.meta, ensure_ascii=False), "\t".join(tokens))
                    for i, tokens in self._token_lists() for c in (self._chunks[i],)
                ),
            )
            db.execute("CREATE TABLE sentences (id INTEGER PRIMARY KEY, vectors BLOB)")
            db.executemany("INSERT INTO sentences VALUES (?,?)",
                           ((i, m.astype("float32").tobytes()) for i, m in sorted(self._sentences.items())))
            db.execute("CREATE TABLE state (next_id INTEGER, calibration TEXT)")
            db.execute("INSERT INTO state VALUES (?, ?)", (self._next_id, json.dumps(self.calibration)))
        db.close()

    @classmethod
    def load(cls, path: Path, dim: int, mmap: bool = True) -> "LocalIndex":
        """Read a saved index; the vector file and the BM25 matrix are
        memory-mapped when ``mmap`` (pages shared between processes, loaded
        on demand). Token lists are not read (see the module docstring)."""
        index = cls(dim)
        vectors_path = str(path / VECTORS_FILE)
        vectors = None
        # flat and HNSW codes map with IO_FLAG_MMAP_IFC, IVF inverted lists with IO_FLAG_MMAP
        for flag in (faiss.IO_FLAG_MMAP_IFC, faiss.IO_FLAG_MMAP) if mmap else ():
            try:
                vectors = faiss.read_index(vectors_path, flag)
                index._mapped = True
                break
            except RuntimeError:  # this index type does not map with this flag
                continue
        index._vectors = vectors if vectors is not None else faiss.read_index(vectors_path)
        if kind_of(index._vectors) == "hnsw":
            index.kind = "hnsw"
        # kept open for the tokens: an open file survives the version directory's removal
        db = sqlite3.connect(f"file:{path / CHUNKS_FILE}?mode=ro", uri=True, check_same_thread=False)
        index._source = db
        shared: dict[str, Any] = {}  # one object per distinct title, section path, meta: chunks of a document share them

        def same(text: str, parse=None) -> Any:
            value = shared.get(text)
            if value is None:
                value = shared[text] = parse(text) if parse else text
            return value

        rows = db.execute("SELECT id, chunk_id, doc_id, title, source, section, text, start, end, meta FROM chunks")
        for i, chunk_id, doc_id, title, source, section, text, start, end, meta in rows:
            chunk = Chunk(chunk_id, same(doc_id), same(title), same(source), same(section, json.loads), text,
                          start, end, same(meta, json.loads))
            index._chunks[i] = chunk
            index._by_chunk_id[chunk_id] = i
            index._by_doc.setdefault(chunk.doc_id, []).append(i)
        for i, blob in db.execute("SELECT id, vectors FROM sentences"):
            index._sentences[int(i)] = np.frombuffer(blob, dtype="float32").reshape(-1, dim)
        state = db.execute("SELECT * FROM state")
        values = dict(zip([d[0] for d in state.description], state.fetchone()))
        index._next_id = int(values["next_id"])
        index.calibration = json.loads(values.get("calibration") or "null")
        if len(index._chunks) > index.sentence_limit and not index._sentences:
            index._sentences_dropped = True
        if index._vectors.ntotal != len(index._chunks):
            raise ValueError(f"{path}: {index._vectors.ntotal} vectors but {len(index._chunks)} chunks")
        if (path / BM25_FILES["params_name"]).is_file():
            index._bm25 = BM25Scores.load(path, BM25_FILES, mmap=mmap)
            index._bm25_ids = np.asarray(sorted(index._chunks), dtype="int64")
        return index
