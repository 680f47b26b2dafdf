"""The Milvus backend: chunks, BM25 and vectors live in one Milvus collection.

* BM25 is Milvus's own: ``search_text`` (``lexical_text``: title, section path, document lead and passage, the
  text the local backend tokenizes) is a ``VARCHAR`` analyzed by the ``jieba``
  tokenizer (search mode, the project's policy-term dictionary, stopwords and
  punctuation dropped); a ``BM25`` function turns it into the sparse field.
* Dense vectors sit in a ``FLOAT_VECTOR`` field (inner product on normalised
  vectors = cosine) under an HNSW index.
* ``hybrid`` fuses a BM25 and a dense Milvus search client-side with the same
  weighted RRF as the local backend (``dense_weight``, ``rrf_k`` from ``Settings``).
* Filters become Milvus boolean expressions (doc ids, ``title like``, an
  ``INT64`` year column).

* The sentence-level rerank has what the local backend has: every
  sentence's vector, in a second collection ``<collection>_s`` keyed by chunk
  id; ``sentence_similarities`` fetches the candidates' sentences in one query.

``uri`` is a file path ending in ``.db`` (embedded milvus-lite, one process
per data file) or ``http(s)://host:19530`` (a Milvus standalone or cluster).
Every field of a :class:`~qa.models.Chunk` is stored, so chunk ids and
citations are the same as with the local backend. One ``MilvusIndex`` is one
immutable version once published; ``qa/index/milvus_versions.py`` puts
versions behind an alias.
"""

from __future__ import annotations

import json
import logging
import re
import string
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from qa.index.fusion import rrf
from qa.index.protocol import MODES, Filter
from qa.models import Chunk

logger = logging.getLogger(__name__)


class _QuietIterator(logging.Filter):
    """pymilvus warns on every query_iterator against milvus-lite that it
    falls back to a client-side timestamp; that is expected there."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "mvccTs" not in record.getMessage()


logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_QuietIterator())

POINTER_FILE = "milvus.json"
DEFAULT_COLLECTION = "policy_qa"
MAX_TEXT_BYTES = 65535
MAX_LIMIT = 16384  # Milvus's topk / offset+limit ceiling
BATCH = 500
OUTPUT_FIELDS = ["chunk_id", "doc_id", "title", "source", "section", "text", "start", "end", "meta", "seq"]
#: what a copy into a new version carries (``sparse`` is recomputed by the BM25 function)
COPY_FIELDS = [*OUTPUT_FIELDS, "year", "search_text", "dense"]
SENTENCES = "_s"  # suffix of the sentence-vector collection
_SCHEMES = ("http://", "https://", "tcp://", "unix:", "grpc://")
PUNCTUATION = set(string.punctuation) | set("，。、；：？！“”‘’（）《》〈〉【】「」『』…—～·－．／％＋＝﹑") | {"……", "——"}


def normalize_uri(uri: str | Path) -> str:
    """Server URIs as given; a local milvus-lite file as an absolute path
    (pymilvus only runs milvus-lite for paths ending in ``.db``)."""
    text = str(uri).strip()
    if text.startswith(_SCHEMES):
        return text
    if not text.endswith(".db"):
        raise ValueError(f"milvus URI {text!r}: use http://host:19530 for a server or a file path ending in .db "
                         "for embedded milvus-lite")
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def connect(uri: str, token: str = "") -> Any:
    """A client for ``uri``; a server's credentials come from the settings
    (``QA_MILVUS_TOKEN``), never from a manifest."""
    from pymilvus import MilvusClient

    return MilvusClient(uri=uri, token=token)


def _policy_terms() -> list[str]:
    text = (resources.files("qa.data") / "policy_terms.txt").read_text(encoding="utf-8")
    return [line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")]


def analyzer_params() -> dict[str, Any]:
    """jieba in search mode (words plus sub-words, like ``qa.tokenize``) with
    the policy-term dictionary on top of jieba's own; the same stopwords as
    the local BM25, plus punctuation (the local tokenizer drops it too)."""
    from qa.text.tokenize import STOPWORDS

    return {
        "tokenizer": {"type": "jieba", "dict": ["_default_", *_policy_terms()], "mode": "search", "hmm": True},
        "filter": ["lowercase", {"type": "stop", "stop_words": sorted(STOPWORDS | PUNCTUATION)}],
    }


def index_build_params(**params: Any) -> dict[str, Any]:
    """Index build parameters in both wire forms: pymilvus 3 sends each key
    flat, which Milvus reads, while ``milvus-lite server`` 3.2 reads only the
    legacy JSON ``params`` key and silently built with its defaults (BM25 k1
    1.5, b 0.75 instead of the local backend's 0.9 / 0.4: a different BM25
    ranking). Milvus merges a ``params`` key into the flat ones, so both
    servers build the same index."""
    return {**params, "params": dict(params)}


def quote(value: str) -> str:
    """A Milvus string literal: double quotes, backslash and quote escaped,
    control characters dropped (they cannot appear in a filter)."""
    value = re.sub(r"[\x00-\x1f\x7f]", " ", str(value))
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def filter_expr(where: Filter | None) -> str:
    """A Filter as a Milvus boolean expression ("" for none). ``title like``
    treats ``%``/``_`` in the wanted text as wildcards (escapes differ between
    Milvus versions), so results are re-checked with ``Filter.accepts``."""
    if not where:
        return ""
    parts = []
    if where.doc_ids:
        parts.append(f"doc_id in [{', '.join(quote(d) for d in sorted(where.doc_ids))}]")
    if where.title_contains:
        parts.append(f"title like {quote('%' + where.title_contains + '%')}")
    if where.year is not None:
        parts.append(f"year == {int(where.year)}")
    if where.before_year is not None:  # undated documents are stored with year -1
        parts.append(f"year < {int(where.before_year)}" if where.undated and where.year is None
                     else f"year >= 0 and year < {int(where.before_year)}")
    if where.exclude_doc_ids:
        parts.append(f"doc_id not in [{', '.join(quote(d) for d in sorted(where.exclude_doc_ids))}]")
    return " and ".join(parts)


def _year(chunk: Chunk) -> int:
    return -1 if chunk.year is None else chunk.year


def _row_chunk(row: dict[str, Any]) -> Chunk:
    return Chunk(row["chunk_id"], row["doc_id"], row["title"], row["source"], json.loads(row["section"]),
                 row["text"], int(row["start"]), int(row["end"]), json.loads(row["meta"]))


def _flat(hit: Any) -> dict[str, Any]:
    """pymilvus hits carry the primary key and distance at the top and the
    output fields under ``entity``."""
    row = dict(hit)
    row.update(row.pop("entity", None) or {})
    return row


class MilvusIndex:
    def __init__(self, uri: str | Path, dim: int, collection: str = DEFAULT_COLLECTION, create: bool = True,
                 index_type: str = "HNSW", client: Any = None, token: str = ""):
        self.uri = normalize_uri(uri)
        self.dim = int(dim)
        self.collection = collection
        self.index_type = index_type
        self._owns_client = client is None  # versions of one alias share their client (one gRPC channel)
        self._client = client or connect(self.uri, token)
        self._next_seq: int | None = None
        self.sentences = collection + SENTENCES
        if self._client.has_collection(collection):
            stored = next((f for f in self._client.describe_collection(collection)["fields"] if f["name"] == "dense"), None)
            stored_dim = int((stored or {}).get("params", {}).get("dim", -1))
            if stored_dim != self.dim:
                raise ValueError(f"Milvus collection {collection!r} at {self.uri} holds {stored_dim}-dim vectors, "
                                 f"not {self.dim}; rebuild with `python -m qa build --rebuild --backend milvus`")
        elif create:
            self._create()
        else:
            raise ValueError(f"no Milvus collection {collection!r} at {self.uri}; "
                             f"rebuild with `python -m qa build --rebuild --backend milvus`")
        self._client.load_collection(collection)
        self._has_sentences = self._client.has_collection(self.sentences)
        if self._has_sentences:
            self._client.load_collection(self.sentences)

    # --- schema -----------------------------------------------------------

    def _create(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=512)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
        schema.add_field("title", DataType.VARCHAR, max_length=4096)
        schema.add_field("source", DataType.VARCHAR, max_length=4096)
        schema.add_field("section", DataType.VARCHAR, max_length=16384)  # JSON list of headings
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("meta", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)  # JSON object
        schema.add_field("year", DataType.INT64)  # meta["year"] or -1, for filters
        schema.add_field("seq", DataType.INT64)  # insertion order for chunks()
        schema.add_field("search_text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True,
                         analyzer_params=analyzer_params())
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["search_text"], output_field_names=["sparse"]))
        params = self._client.prepare_index_params()
        if self.index_type == "HNSW":
            params.add_index("dense", index_type="HNSW", metric_type="IP",
                             params=index_build_params(M=16, efConstruction=200))
        else:
            params.add_index("dense", index_type=self.index_type, metric_type="IP")
        from qa.index.local import BM25_B, BM25_K1  # the local backend's k1 and b (docs/retrieval.md)

        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params=index_build_params(bm25_k1=BM25_K1, bm25_b=BM25_B))
        self._client.create_collection(self.collection, schema=schema, index_params=params,
                                       consistency_level="Strong")
        self._create_sentences()

    def _create_sentences(self) -> None:
        """One row per sentence: only fetched by chunk id (never searched),
        so a FLAT index, which costs nothing to build."""
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("sid", DataType.VARCHAR, is_primary=True, max_length=600)  # chunk_id#n
        schema.add_field("chunk_id", DataType.VARCHAR, max_length=512)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=self.dim)
        params = self._client.prepare_index_params()
        params.add_index("vec", index_type="FLAT", metric_type="IP")
        self._client.create_collection(self.sentences, schema=schema, index_params=params,
                                       consistency_level="Strong")

    # --- writing ----------------------------------------------------------

    def _seq_start(self) -> int:
        if self._next_seq is None:
            self._next_seq = max((int(r["seq"]) for r in self._rows(["seq"])), default=-1) + 1
        return self._next_seq

    def wants_sentence_vectors(self, extra: int = 0) -> bool:
        """Sentence vectors live in Milvus next to the chunks, at any size."""
        return self._has_sentences

    def add(self, chunks: list[Chunk], vectors: np.ndarray, sentence_vectors: list[np.ndarray] | None = None,
            **_: Any) -> None:
        """Insert chunks with their vectors, then their sentence vectors (one
        matrix per chunk, for the rerank); other keyword arguments of the
        local backend are ignored."""
        from qa.index.passages import lexical_text

        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if not len(chunks):
            return
        ids = [c.chunk_id for c in chunks]
        if len(set(ids)) != len(ids):
            duplicate = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"chunk {duplicate} is already in the index (twice in one batch)")
        for start in range(0, len(ids), BATCH):
            batch = ids[start:start + BATCH]
            found = self._client.query(self.collection, filter=f"chunk_id in [{', '.join(map(quote, batch))}]",
                                       output_fields=["chunk_id"], limit=len(batch))
            if found:
                raise ValueError(f"chunk {found[0]['chunk_id']} is already in the index")
        vectors = np.asarray(vectors, dtype="float32").reshape(len(chunks), self.dim)
        seq = self._seq_start()
        rows = []
        for n, (chunk, vector) in enumerate(zip(chunks, vectors)):
            text = lexical_text(chunk)
            for name, value in (("text", chunk.text), ("search_text", text)):
                if len(value.encode("utf-8")) > MAX_TEXT_BYTES:
                    raise ValueError(f"chunk {chunk.chunk_id}: {name} exceeds Milvus's {MAX_TEXT_BYTES}-byte VARCHAR; "
                                     "use a smaller --chunk-chars")
            rows.append({
                "chunk_id": chunk.chunk_id, "doc_id": chunk.doc_id, "title": chunk.title, "source": chunk.source,
                "section": json.dumps(chunk.section, ensure_ascii=False), "text": chunk.text,
                "start": int(chunk.start), "end": int(chunk.end), "meta": json.dumps(chunk.meta, ensure_ascii=False),
                "year": _year(chunk), "seq": seq + n, "search_text": text, "dense": vector.tolist(),
            })
        self._insert(self.collection, rows)
        self._next_seq = seq + len(rows)
        if sentence_vectors is not None and self._has_sentences:
            self._insert(self.sentences, [
                {"sid": f"{chunk.chunk_id}#{n}", "chunk_id": chunk.chunk_id, "doc_id": chunk.doc_id, "vec": v.tolist()}
                for chunk, matrix in zip(chunks, sentence_vectors)
                for n, v in enumerate(np.asarray(matrix, dtype="float32").reshape(-1, self.dim))])

    def _insert(self, collection: str, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), BATCH):
            self._client.insert(collection, rows[start:start + BATCH])

    def copy_from(self, other: "MilvusIndex", skip_doc_ids: Iterable[str] = ()) -> int:
        """Fill this (new, empty) version with every chunk of ``other`` except
        those of ``skip_doc_ids``, vectors and sentence vectors included, so an
        incremental build embeds only what changed and still writes a complete
        new version (readers keep the old one until the switch). Returns the
        number of chunks copied."""
        skip = set(skip_doc_ids)
        copied = 0
        batch: list[dict[str, Any]] = []
        for row in other._rows(COPY_FIELDS):
            if row["doc_id"] in skip:
                continue
            batch.append({k: (np.asarray(v, dtype="float32").tolist() if k == "dense" else v) for k, v in row.items()
                          if k in COPY_FIELDS})
            if len(batch) == BATCH:
                copied += self._flush_copy(self.collection, batch)
        copied += self._flush_copy(self.collection, batch)
        self._next_seq = None
        if other._has_sentences and self._has_sentences:
            for row in other._rows(["sid", "chunk_id", "doc_id", "vec"], collection=other.sentences):
                if row["doc_id"] not in skip:
                    batch.append({**row, "vec": np.asarray(row["vec"], dtype="float32").tolist()})
                if len(batch) == BATCH:
                    self._flush_copy(self.sentences, batch)
            self._flush_copy(self.sentences, batch)
        return copied

    def _flush_copy(self, collection: str, batch: list[dict[str, Any]]) -> int:
        """Insert and empty ``batch``; returns how many rows went in."""
        n = len(batch)
        if batch:
            self._client.insert(collection, list(batch))
            batch.clear()
        return n

    def delete(self, doc_ids: Iterable[str]) -> int:
        doomed = sorted(set(doc_ids))
        ids: list[str] = []
        for start in range(0, len(doomed), BATCH):
            expr = f"doc_id in [{', '.join(map(quote, doomed[start:start + BATCH]))}]"
            ids += [r["chunk_id"] for r in self._rows(["chunk_id"], expr)]
        for start in range(0, len(ids), BATCH):
            self._client.delete(self.collection, ids=ids[start:start + BATCH])
        if self._has_sentences:
            for start in range(0, len(doomed), BATCH):
                expr = f"doc_id in [{', '.join(map(quote, doomed[start:start + BATCH]))}]"
                self._client.delete(self.sentences, filter=expr)
        return len(ids)

    # --- reading ----------------------------------------------------------

    def _rows(self, fields: list[str], expr: str = "", collection: str | None = None) -> Iterator[dict[str, Any]]:
        iterator = self._client.query_iterator(collection or self.collection, batch_size=1000, filter=expr,
                                               output_fields=fields)
        try:
            while True:
                batch = iterator.next()
                if not batch:
                    return
                yield from batch
        finally:
            iterator.close()

    def chunks(self, where: Filter | None = None) -> list[Chunk]:
        rows = sorted(self._rows(OUTPUT_FIELDS, filter_expr(where)), key=lambda r: int(r["seq"]))
        return [c for c in map(_row_chunk, rows) if not where or where.accepts(c)]

    def __len__(self) -> int:
        return self._count(self.collection)

    def _count(self, collection: str) -> int:
        result = self._client.query(collection, filter="", output_fields=["count(*)"])
        return int(result[0]["count(*)"]) if result else 0

    def _hits(self, result: Any) -> list[tuple[Chunk, float]]:
        return [(_row_chunk(row), float(row["distance"])) for row in map(_flat, result[0] if result else [])]

    def _search_bm25(self, query: str, k: int, expr: str) -> list[tuple[Chunk, float]]:
        if not query.strip():
            return []
        result = self._client.search(self.collection, data=[query], anns_field="sparse", limit=k, filter=expr,
                                     output_fields=OUTPUT_FIELDS, search_params={"metric_type": "BM25"})
        # milvus-lite reports BM25 as a negated distance, a server as a score
        return [(c, abs(s)) for c, s in self._hits(result) if s != 0]

    def _search_dense(self, vector: np.ndarray, k: int, expr: str) -> list[tuple[Chunk, float]]:
        result = self._client.search(self.collection, data=[self._vector(vector)], anns_field="dense", limit=k,
                                     filter=expr, output_fields=OUTPUT_FIELDS, search_params=self._dense_params(k))
        return self._hits(result)

    def _vector(self, vector: np.ndarray) -> list[float]:
        return np.asarray(vector, dtype="float32").reshape(self.dim).tolist()

    def _dense_params(self, k: int) -> dict[str, Any]:
        return {"metric_type": "IP", "params": {"ef": max(64, k)} if self.index_type == "HNSW" else {}}

    def search(self, query: str, vector: np.ndarray | None, k: int, mode: str, where: Filter | None, *,
               dense_weight: float, rrf_k: int) -> list[tuple[Chunk, float]]:
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r} (use bm25, dense or hybrid)")
        k = min(int(k), MAX_LIMIT)
        if k <= 0:
            return []
        expr = filter_expr(where)
        if mode == "bm25":
            ranked = self._search_bm25(query, k, expr)
        elif mode == "dense":
            ranked = self._search_dense(vector, k, expr)
        else:
            lists = [self._search_bm25(query, k, expr), self._search_dense(vector, k, expr) if vector is not None else []]
            by_id = {c.chunk_id: c for ranking in lists for c, _ in ranking}
            fused = rrf([[(c.chunk_id, s) for c, s in ranking] for ranking in lists],
                        [1 - dense_weight, dense_weight], rrf_k)[:k]
            ranked = [(by_id[i], s) for i, s in fused]
        if where:
            ranked = [(c, s) for c, s in ranked if where.accepts(c)]
        return ranked

    def sentence_similarities(self, chunks: list[Chunk], vector: np.ndarray) -> list[np.ndarray] | None:
        """Similarity to the query of each chunk's sentences in stored order
        (empty for a chunk without any), as the local backend computes it; None
        when this version has no sentence collection (built before it existed)."""
        if not self._has_sentences:
            return None
        ids = list(dict.fromkeys(c.chunk_id for c in chunks))
        stored: dict[str, dict[int, list[float]]] = {}
        for start in range(0, len(ids), BATCH):
            rows = self._client.query(self.sentences, filter=f"chunk_id in [{', '.join(map(quote, ids[start:start + BATCH]))}]",
                                      output_fields=["sid", "chunk_id", "vec"], limit=MAX_LIMIT)
            for row in rows or []:
                stored.setdefault(row["chunk_id"], {})[int(row["sid"].rpartition("#")[2])] = row["vec"]
        query = np.asarray(vector, dtype="float32").reshape(self.dim)
        out = []
        for chunk in chunks:
            rows = stored.get(chunk.chunk_id, {})
            matrix = np.asarray([rows[n] for n in sorted(rows)], dtype="float32").reshape(len(rows), self.dim)
            out.append(matrix @ query)
        return out

    def stats(self) -> dict[str, Any]:
        n = len(self)
        return {
            "backend": "milvus",
            "uri": self.uri,
            "collection": self.collection,
            "chunks": n,
            "documents": len({r["doc_id"] for r in self._rows(["doc_id"])}),
            "dim": self.dim,
            "vector_index": self.index_type,
            "vector_bytes": n * self.dim * 4,
            "sentence_vectors": self._count(self.sentences) if self._has_sentences else 0,
        }

    # --- persistence ------------------------------------------------------

    def flush(self) -> None:
        self._client.flush(self.collection)
        if self._has_sentences:
            self._client.flush(self.sentences)

    def save(self, path: Path) -> None:
        """Flush the collection and write a pointer to it into ``path``: the
        data stays in Milvus, so this is a reference, not a snapshot."""
        self.flush()
        (Path(path) / POINTER_FILE).write_text(json.dumps(
            {"uri": self.uri, "collection": self.collection, "dim": self.dim, "index_type": self.index_type},
            ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path, dim: int, uri: str | None = None, token: str = "") -> "MilvusIndex":
        """Reconnect to the collection a saved pointer names (``uri`` overrides
        the recorded one, e.g. a service name seen from another host)."""
        pointer = json.loads((Path(path) / POINTER_FILE).read_text(encoding="utf-8"))
        return cls(uri or pointer["uri"], dim, pointer["collection"], create=False,
                   index_type=pointer.get("index_type", "HNSW"), token=token)

    def drop(self) -> None:
        for name in (self.collection, self.sentences):
            self._client.drop_collection(name)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
