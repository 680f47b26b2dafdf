"""Build or update an index from a corpus directory, incrementally.

Only files whose bytes changed are re-read, re-chunked and re-embedded; the
vectors of unchanged documents are kept. A different model or chunking
setting changes every vector, so it needs ``--rebuild``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from qa.embedding.embedder import get_embedder
from qa.index.local import LocalIndex
from qa.index.passages import probe_phrases, search_text
from qa.index.storage import IndexMismatch, build_lock, load_index, read_manifest, write_version
from qa.ingest.chunking import CHUNKER_VERSION, chunk_documents
from qa.ingest.corpus import corpus_files, file_hash, ingest
from qa.settings import Settings
from qa.text.glossary import glossary_version, used_phrases
from qa.text.sentences import vector_sentences

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
    #: cleaning rule -> lines it removed from the files read in this build
    dropped: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    index_dir: str = ""

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def to_dict(self) -> dict:
        return asdict(self)


def chunking_config(settings: Settings) -> dict:
    """What the chunks depend on; an index built under another is rebuilt whole."""
    return {**asdict(settings.chunking), "chunker": CHUNKER_VERSION}


def current_manifest(settings: Settings) -> dict | None:
    """The manifest of the index a build of ``settings`` updates: the live
    Milvus version's (stored in Milvus) or ``--index DIR``'s."""
    if settings.backend == "milvus":
        from qa.index.milvus_versions import MilvusVersions

        return MilvusVersions.for_settings(settings).manifest()
    return read_manifest(settings.index)


def known_hashes(manifest: dict | None) -> dict[str, str]:
    """Every file the index has seen: indexed ones and ones that failed (a
    broken file is retried only when its bytes change)."""
    if not manifest:
        return {}
    failed = {s: f["sha256"] for s, f in manifest.get("failed", {}).items()}
    return {**manifest.get("sources", {}), **failed}


def _start_index(settings: Settings, dim: int, manifest: dict | None, gone: set[str]):
    """The index this build writes, holding what it keeps of the current one.
    Local: the loaded index (in memory) minus the documents of ``gone``
    sources. Milvus: a new version behind the alias, filled with a copy of the
    live one minus those documents (the live one keeps serving until
    ``publish``); returns (index, versions or None)."""
    if settings.backend == "milvus":
        from qa.index.milvus_versions import MilvusVersions

        versions = MilvusVersions.for_settings(settings)
        index = versions.create(dim)
        if manifest is not None:
            try:
                live, _ = versions.open(settings.model)
                index.copy_from(live, {d for d, e in manifest.get("documents", {}).items() if e["source"] in gone})
            except BaseException:
                versions.drop(index)
                raise
        return index, versions
    if settings.backend != "local":
        raise ValueError(f"unknown index backend {settings.backend!r} (use local or milvus)")
    if manifest is None:
        return LocalIndex(dim), None
    index, _ = load_index(settings.index, settings.model)
    index.delete({c.doc_id for c in index.chunks() if c.source in gone})
    return index, None


def document_entries(chunks: list) -> dict[str, dict]:
    """The manifest's ``documents``: per document its title, source, year and
    region (None when it names none), the headings of its outline
    (``sections``: distinct headings its passages are filed under, 0 when it
    has none), passages and characters; what the corpus table shows."""
    documents: dict[str, dict] = {}
    headings: dict[str, set[tuple[str, ...]]] = {}
    for chunk in chunks:
        entry = documents.setdefault(chunk.doc_id, {"title": chunk.title, "source": chunk.source, "year": chunk.year,
                                                    "region": chunk.region, "sections": 0, "chunks": 0, "chars": 0})
        entry["chunks"] += 1
        entry["chars"] += len(chunk.text)
        outline = headings.setdefault(chunk.doc_id, set())
        for path in [chunk.section, *(path for _, path in chunk.meta.get("parts") or ())]:
            outline.update(tuple(path[:depth]) for depth in range(1, len(path) + 1))
    for doc_id, outline in headings.items():
        documents[doc_id]["sections"] = len(outline)
    return documents


def embed_sentences(embedder, chunks: list, show_progress: bool = False,
                    report: Callable[[int, int], None] | None = None) -> list:
    """Vectors of every sentence of every chunk, for the reranker: a passage
    matches when one of its sentences answers the question, and a whole
    chunk's vector dilutes that sentence among the others."""
    spans = [[chunk.text[a:b] for a, b in vector_sentences(chunk.text)] for chunk in chunks]
    flat = embedder.encode_documents([s for group in spans for s in group], progress=show_progress,
                                     label="embedding sentences", report=report)
    out, cursor = [], 0
    for group in spans:
        out.append(flat[cursor:cursor + len(group)])
        cursor += len(group)
    return out


def build(settings: Settings, rebuild: bool = False, progress: Progress | None = None,
          show_progress: bool = False) -> BuildReport:
    """Bring the index of ``settings`` up to date with its corpus: only files
    whose bytes changed are read and embedded; ``rebuild`` starts afresh.
    A new version is written beside the old one and swapped in atomically, so
    a build killed at any point leaves the previous index serving. Broken
    files are reported in ``BuildReport.errors`` and skipped.
    ``progress(stage, done, total)`` is called as chunks are embedded;
    ``show_progress`` draws tqdm bars.

    >>> from qa import Settings, build                                   # doctest: +SKIP
    >>> report = build(Settings.from_env(corpus="corpus", index="index"))  # doctest: +SKIP
    >>> report.documents, report.chunks, report.errors                   # doctest: +SKIP
    (18, 152, [])
    """
    report = BuildReport(index_dir=str(settings.index))
    timer = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal timer
        now = time.perf_counter()
        report.seconds[stage] = round(report.seconds.get(stage, 0.0) + now - timer, 3)
        timer = now

    with build_lock(settings.index):
        manifest = None if rebuild else current_manifest(settings)
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
            if manifest.get("chunking") != chunking_config(settings):
                logger.info("chunking settings changed: rebuilding everything")
                manifest = None
        files = corpus_files(settings.corpus)
        hashes = {p.relative_to(settings.corpus).as_posix(): file_hash(p) for p in files}
        old = known_hashes(manifest)
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
        report.dropped = result.dropped_by_rule()
        lap("ingest")
        chunks = chunk_documents(result.documents, settings.chunking)
        lap("chunk")

        embedder = get_embedder(settings.model, settings.batch_size, settings.encoder)
        index, versions = _start_index(settings, embedder.dim, manifest,
                                       set(report.added + report.changed + report.removed))
        lap("load")

        def stage(name: str) -> Callable[[int, int], None] | None:
            return (lambda done, total: progress(name, done, total)) if progress else None

        try:
            if progress:
                progress("embedding chunks", 0, len(chunks))
            vectors = embedder.encode_documents([search_text(c) for c in chunks], progress=show_progress,
                                                label="embedding chunks", report=stage("embedding chunks"))
            # sentence vectors feed the reranker; backends or sizes that keep none skip their cost
            keeps_sentences = getattr(index, "wants_sentence_vectors", lambda extra: False)(len(chunks))
            sentence_vectors = (embed_sentences(embedder, chunks, show_progress, stage("embedding sentences"))
                                if keeps_sentences else None)
            report.embedded = len(chunks)
            lap("embed")
            index.add(chunks, vectors, sentence_vectors=sentence_vectors)
            if getattr(index, "needs_calibration", lambda: False)():
                # an approximate (IVF) index: pick nprobe on real query vectors of phrases from the corpus
                index.calibrate(embedder.encode_queries(probe_phrases(index.chunks())))
            lap("index")

            sources = {s: h for s, h in hashes.items() if s not in failed}
            all_chunks = index.chunks()
            documents = document_entries(all_chunks)
            new_manifest = {
                "backend": settings.backend,
                "model": settings.model,
                "model_path": embedder.path,
                "dim": embedder.dim,
                "chunking": chunking_config(settings),
                "sources": sources,
                "documents": documents,
                "chunks": len(all_chunks),
                "failed": failed,
                "colloquial": {"glossary": glossary_version(),
                               "used": used_phrases([chunk.text for chunk in all_chunks])},
            }
            if versions is None:
                write_version(settings.index, index, new_manifest)
            else:
                from qa.index.milvus_versions import reader_facts

                versions.publish(index, {**new_manifest, **reader_facts(getattr(getattr(embedder, "model", None), "prompts", None))})
        except BaseException:
            if versions is not None:
                versions.drop(index)  # a new Milvus version nobody points to
            raise
        report.documents = len(documents)
        report.chunks = len(all_chunks)
        lap("save")
    return report
