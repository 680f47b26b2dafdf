"""Corpus directory -> cleaned documents, with a report of what was skipped.

A broken file never stops a run: it is logged by name with its reason and
listed in ``IngestResult.errors``, and the rest of the corpus goes on.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from qa.ingest.cleaning import clean, clean_text
from qa.ingest.loading import SUPPORTED_SUFFIXES, LoadError, read_file
from qa.ingest.metadata import describe
from qa.ingest.splitting import Part, split_reports
from qa.models import Document

logger = logging.getLogger(__name__)


@dataclass
class DroppedLine:
    """A line a cleaning rule removed, or a mojibake run it repaired or cut
    out (``qa chunks --dropped`` lists them)."""

    source: str
    rule: str
    line: str
    #: what took its place: a mojibake run's repair ("" when it was cut out); None for a removed line
    replacement: str | None = None


@dataclass
class IngestResult:
    documents: list[Document] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    #: source -> sha256 of the file's bytes, for incremental builds
    hashes: dict[str, str] = field(default_factory=dict)
    dropped: list[DroppedLine] = field(default_factory=list)

    def dropped_by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in self.dropped:
            counts[d.rule] = counts.get(d.rule, 0) + 1
        return counts


def corpus_files(corpus: Path) -> list[Path]:
    """Supported files under ``corpus``, sorted; README files, hidden files and
    links that lead outside the corpus are not documents."""
    root = corpus.resolve()
    files = []
    for path in sorted(corpus.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(corpus).parts):
            continue
        if path.name.lower().startswith("readme") or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            logger.warning("%s: symlink to outside the corpus; not followed", path)
            continue
        if path.is_file():
            files.append(path)
    return files


def file_hash(path: Path) -> str:
    """The sha256 of a file's bytes (read in blocks: a large PDF is never held whole)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def documents_from_file(path: Path, source: str, dropped: list[DroppedLine] | None = None) -> list[Document]:
    """All reports in one file, cleaned; raises LoadError when no text is left.
    Lines the cleaning removed are appended to ``dropped``."""
    documents: list[Document] = []
    raws = read_file(path)
    for raw in raws:
        cleaned = clean(raw.text)
        if dropped is not None:
            dropped.extend(DroppedLine(source, rule, line) for rule, line in cleaned.dropped)
            dropped.extend(DroppedLine(source, rule, run, repair) for rule, run, repair in cleaned.replaced)
        text = cleaned.text
        if not text:
            continue
        title = clean_text(raw.title) if raw.title else None
        if title:
            text = text if text.startswith(title) else f"{title}\n{text}"
        if raw.part is None:
            parts = split_reports(text, title or path.stem, titled_parts=not cleaned.flattened)
        else:  # a line of a .jsonl collection is one report; its links break lines like titles
            parts = [Part(title or f"{path.stem} L{raw.part}", 0, len(text))]
        base_id = source if raw.part is None else f"{source}#L{raw.part}"
        for k, part in enumerate(parts, 1):
            doc_id = base_id if len(parts) == 1 else f"{base_id}#{k}"
            doc_title = title if title and len(parts) == 1 else part.title
            doc_text = text[part.start:part.end].strip()
            # a collection's file name is not its reports' name: only a file of its own is dated by it
            meta = describe(doc_title, doc_text, path.name if raw.part is None else None, raw.meta)
            documents.append(Document(doc_id, doc_title, doc_text, source, meta))
    if not documents:
        raise LoadError(path, "no text left after cleaning: every line was site boilerplate (see qa chunks --dropped)")
    return documents


def ingest(corpus: Path, files: list[Path] | None = None) -> IngestResult:
    """Load, clean and split every file of ``corpus`` (or just ``files``)."""
    result = IngestResult()
    for path in files if files is not None else corpus_files(corpus):
        source = path.relative_to(corpus).as_posix()
        try:
            result.hashes[source] = file_hash(path)
            result.documents.extend(documents_from_file(path, source, result.dropped))
        except LoadError as exc:
            logger.warning("skipped %s", exc)
            result.errors.append(exc)
        except OSError as exc:
            error = LoadError(path, f"cannot read ({exc})")
            logger.warning("skipped %s", error)
            result.errors.append(error)
    return result
