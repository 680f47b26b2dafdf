"""Build or update an index from a corpus directory, incrementally.

Only files whose bytes changed are re-read, re-chunked and re-embedded; the
vectors of unchanged documents are kept. A different model or chunking
setting changes every vector, so it needs ``--rebuild``.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from qa.chunking import CHUNKER_VERSION, chunk_documents, chunk_sentences
from qa.embedding import get_embedder
from qa.index.local import LocalIndex, probe_phrases, search_text
from qa.index.storage import IndexMismatch, build_lock, load_index, read_manifest, write_version
from qa.ingest import corpus_files, file_hash, ingest
from qa.settings import Settings

logger = logging.getLogger(__name__)

#: progress callback: (stage, done, total)
Progress = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    index_dir: str = ""

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def to_dict(self) -> dict:
        return asdict(self)


def _chunking_config(settings: Settings) -> dict:
    return {**asdict(settings.chunking), "chunker": CHUNKER_VERSION}


def is_stale(settings: Settings) -> bool:
    """Whether ``qa build`` would change anything: the corpus, model or
    chunking differs from what the index was built from."""
    try:
        manifest = read_manifest(settings.index)
    except Exception:
        return True
    if manifest is None or manifest.get("model") != settings.model or manifest.get("chunking") != _chunking_config(settings):
        return True
    if manifest.get("backend", "local") != settings.backend:
        return True
    current = {p.relative_to(settings.corpus).as_posix(): file_hash(p) for p in corpus_files(settings.corpus)}
    return current != _known_hashes(manifest)


def _known_hashes(manifest: dict | None) -> dict[str, str]:
    """Every file the index has seen: indexed ones and ones that failed (a
    broken file is retried only when its bytes change)."""
    if not manifest:
        return {}
    failed = {s: f["sha256"] for s, f in manifest.get("failed", {}).items()}
    return {**manifest.get("sources", {}), **failed}


def _milvus_prefix(settings: Settings) -> str:
    """Collections of one index directory share a prefix, so a rebuild can drop
    the ones it replaced (and any left by a killed build)."""
    return "qa_" + hashlib.sha1(str(settings.index.resolve()).encode()).hexdigest()[:10] + "_"


def _new_index(settings: Settings, dim: int):
    """An empty index of ``settings.backend``: in memory for local; for milvus
    a fresh collection (the previous one keeps serving until the new manifest
    is written), at ``--milvus-uri`` or by default in ``INDEX/milvus.db``."""
    if settings.backend == "local":
        return LocalIndex(dim)
    if settings.backend == "milvus":
        from qa.index.milvus import MilvusIndex

        uri = settings.milvus_uri or settings.index / "milvus.db"
        return MilvusIndex(uri, dim, collection=_milvus_prefix(settings) + uuid.uuid4().hex[:8])
    raise ValueError(f"unknown index backend {settings.backend!r} (use local or milvus)")


def embed_sentences(embedder, chunks: list, show_progress: bool = False) -> list:
    """Vectors of every sentence of every chunk, for the reranker: a passage
    matches when one of its sentences answers the question, and a whole
    chunk's vector dilutes that sentence among the others."""
    spans = [[chunk.text[a:b] for a, b in chunk_sentences(chunk.text)] for chunk in chunks]
    flat = embedder.encode_documents([s for group in spans for s in group], progress=show_progress)
    out, cursor = [], 0
    for group in spans:
        out.append(flat[cursor:cursor + len(group)])
        cursor += len(group)
    return out


def build(settings: Settings, rebuild: bool = False, progress: Progress | None = None,
          show_progress: bool = False) -> BuildReport:
    report = BuildReport(index_dir=str(settings.index))
    timer = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal timer
        now = time.perf_counter()
        report.seconds[stage] = round(report.seconds.get(stage, 0.0) + now - timer, 3)
        timer = now

    with build_lock(settings.index):
        manifest = None if rebuild else read_manifest(settings.index)
        if manifest is not None:
            if manifest.get("model") != settings.model:
                raise IndexMismatch(
                    f"{settings.index} was built with model {manifest.get('model')!r}; "
                    f"rebuild with `python -m qa build --rebuild --model {settings.model}` to change models"
                )
            if manifest.get("backend", "local") != settings.backend:
                raise IndexMismatch(
                    f"{settings.index} is a {manifest.get('backend', 'local')!r} index; build it with "
                    f"`--backend {manifest.get('backend', 'local')}` or switch with `--rebuild --backend {settings.backend}`"
                )
            if manifest.get("chunking") != _chunking_config(settings):
                logger.info("chunking settings changed: rebuilding everything")
                manifest = None
        files = corpus_files(settings.corpus)
        hashes = {p.relative_to(settings.corpus).as_posix(): file_hash(p) for p in files}
        old = _known_hashes(manifest)
        report.added = sorted(s for s in hashes if s not in old)
        report.changed = sorted(s for s in hashes if s in old and old[s] != hashes[s])
        report.removed = sorted(s for s in old if s not in hashes)
        report.unchanged = len(hashes) - len(report.added) - len(report.changed)
        todo = [p for p in files if p.relative_to(settings.corpus).as_posix() in set(report.added + report.changed)]
        lap("scan")

        if manifest is not None and not report.touched:
            report.documents = len(manifest.get("documents", {}))
            report.chunks = int(manifest.get("chunks", 0))
            report.errors = [f["error"] for f in manifest.get("failed", {}).values()]
            return report

        result = ingest(settings.corpus, todo)
        failed = {s: f for s, f in (manifest or {}).get("failed", {}).items() if hashes.get(s) == f["sha256"]}
        for error in result.errors:
            source = Path(error.path).relative_to(settings.corpus).as_posix()
            failed[source] = {"sha256": hashes[source], "error": str(error)}
        report.errors = [f["error"] for f in failed.values()]
        lap("ingest")
        chunks = chunk_documents(result.documents, settings.chunking)
        lap("chunk")

        embedder = get_embedder(settings.model, settings.batch_size, settings.encoder)
        if manifest is not None:
            index, _ = load_index(settings.index, settings.model, milvus_uri=settings.milvus_uri)
            # added files too: a killed build may have stored some of their chunks in Milvus already
            gone = set(report.added + report.changed + report.removed)
            index.delete({c.doc_id for c in index.chunks() if c.source in gone})
        else:
            index = _new_index(settings, embedder.dim)
        lap("load")

        if progress:
            progress("embed", 0, len(chunks))
        vectors = embedder.encode_documents([search_text(c) for c in chunks], progress=show_progress)
        # sentence vectors feed the reranker; backends or sizes that keep none skip their cost
        keeps_sentences = getattr(index, "wants_sentence_vectors", lambda extra: False)(len(chunks))
        sentence_vectors = embed_sentences(embedder, chunks, show_progress) if keeps_sentences else None
        report.embedded = len(chunks)
        if progress:
            progress("embed", len(chunks), len(chunks))
        lap("embed")
        try:
            index.add(chunks, vectors, sentence_vectors=sentence_vectors)
        except BaseException:
            if manifest is None and hasattr(index, "drop"):
                index.drop()  # a fresh Milvus collection nobody points to
            raise
        if getattr(index, "needs_calibration", lambda: False)():
            # an approximate (IVF) index: pick nprobe on real query vectors of phrases from the corpus
            index.calibrate(embedder.encode_queries(probe_phrases(index.chunks())))
        lap("index")

        sources = {s: h for s, h in hashes.items() if s not in failed}
        all_chunks = index.chunks()
        documents: dict[str, dict] = {}
        for chunk in all_chunks:
            entry = documents.setdefault(chunk.doc_id, {"title": chunk.title, "source": chunk.source, "chunks": 0, "chars": 0})
            entry["chunks"] += 1
            entry["chars"] += len(chunk.text)
        extra = {"milvus": {"uri": index.uri, "collection": index.collection}} if settings.backend == "milvus" else {}
        write_version(settings.index, index, {
            "backend": settings.backend,
            **extra,
            "model": settings.model,
            "model_path": embedder.path,
            "dim": embedder.dim,
            "chunking": _chunking_config(settings),
            "sources": sources,
            "documents": documents,
            "chunks": len(all_chunks),
            "failed": failed,
        })
        if manifest is None and hasattr(index, "drop_others"):
            index.drop_others(_milvus_prefix(settings))  # the collection the old manifest named, and orphans
        report.documents = len(documents)
        report.chunks = len(all_chunks)
        lap("save")
    return report
