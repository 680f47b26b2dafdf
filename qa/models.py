"""The objects that flow between pipeline stages.

Each stage takes and returns these plain dataclasses, so any stage can be
imported, run and tested on its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class Dated:
    """The document metadata of an object with ``meta`` (``qa.ingest.metadata``): a document and its passages."""

    __slots__ = ()
    meta: dict[str, Any]

    @property
    def year(self) -> int | None:
        """The document's year, as an int (a .jsonl line may give it as text); None when it names none."""
        year = self.meta.get("year")
        try:
            return int(year) if year is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def region(self) -> str | None:
        """The place that issues the document, None when it names none."""
        return self.meta.get("region") or None


@dataclass
class Document(Dated):
    """One report after loading and cleaning.

    ``text`` is the cleaned text; every chunk and citation offset points into it.
    ``source`` is the file path relative to the corpus directory, so citations
    stay valid when the corpus folder moves.
    """

    doc_id: str
    title: str
    text: str
    source: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Chunk(Dated):
    """A citable passage: a slice ``text == document.text[start:end]``."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    section: list[str]
    text: str
    start: int
    end: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def section_path(self) -> str:
        return " > ".join(self.section)

    def section_at(self, offset: int) -> list[str]:
        """The section path of the text at ``offset`` (into the document): a
        chunk packing several short items (``meta["parts"]``: offset into the
        chunk, path) cites each sentence under its own item."""
        path = self.section
        for start, part in self.meta.get("parts") or ():
            if start <= offset - self.start:
                path = part
        return list(path)


@dataclass
class Hit:
    """A retrieved chunk with its fused score and rank (1-based).

    ``also_in`` names the sources of other retrieved documents that publish
    the passage's text too (``qa.retrieval.collapse_copies``): it is shown
    once, and those documents still count."""

    chunk: Chunk
    score: float
    rank: int = 0
    also_in: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of one search result (see README: add fields, never rename)."""
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "title": c.title,
            "section": c.section,
            "source": c.source,
            "start": c.start,
            "end": c.end,
            "text": c.text,
            "also_in": list(self.also_in),
            "year": c.year,
            "region": c.region,
        }


@dataclass
class Citation:
    """The exact quoted span behind one ``[n]`` marker of an answer."""

    n: int
    doc_id: str
    title: str
    section: list[str]
    source: str
    start: int
    end: int
    text: str
    #: the document's year and issuing place, None when it names none
    year: int | None = None
    region: str | None = None

    @classmethod
    def of_passage(cls, n: int, chunk: "Chunk") -> "Citation":
        """Citation ``n`` of a whole passage."""
        return cls(n, chunk.doc_id, chunk.title, list(chunk.section), chunk.source, chunk.start, chunk.end, chunk.text,
                   chunk.year, chunk.region)

    @classmethod
    def of_sentence(cls, n: int, chunk: "Chunk", start: int, end: int, text: str) -> "Citation":
        """Citation ``n`` of ``text == document[start:end]`` within a passage, under its own section path."""
        return cls(n, chunk.doc_id, chunk.title, chunk.section_at(start), chunk.source, start, end, text,
                   chunk.year, chunk.region)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    answer: str
    citations: list[Citation]
    mode: str
    found: bool = True
    hits: list[Hit] = field(default_factory=list)
    #: the question as understood: a chat follow-up written out on its own ("那学校安全呢？" ->
    #: "这个县在学校安全方面采取了哪些措施？"); the question itself when it stands alone
    resolved: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``qa ask --json`` (see README: add fields, never rename)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "mode": self.mode,
            "found": self.found,
            "resolved": self.resolved if self.resolved is not None else self.question,
        }
