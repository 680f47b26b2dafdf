"""Documents -> citable chunks that follow the report's sections.

A short section is one chunk; a long one is cut at sentence ends into pieces
of about ``max_chars``, never mid-sentence, and an enumeration
(``主要措施有:一是…二是…五是…``) is kept together when it fits. Runs of
short numbered items (a notice's ``一、…`` ``二、…`` of a line or two each) are
packed into one chunk up to ``max_chars``: an item alone is too little text
to be found by. Each chunk carries its title and section path, so it stands
on its own in a citation; a packed chunk also records where each item starts
(``Chunk.section_at``).
"""

from __future__ import annotations

import re

from qa.ingest.outline import Section, sections
from qa.models import Chunk, Document
from qa.settings import ChunkSettings
from qa.text.sentences import sentence_units

_ENUM_NEXT = re.compile(r"^\s*[二三四五六七八九十]{1,2}是")


#: bump when chunk boundaries change for the same settings: indexes built by
#: an older chunker are then rebuilt instead of silently mixing two schemes
CHUNKER_VERSION = 6


def pack(text: str, start: int, end: int, settings: ChunkSettings) -> list[tuple[int, int]]:
    """Greedy packing of sentences into pieces of at most ``max_chars``."""
    limit = settings.max_chars
    stretched = int(limit * settings.stretch)
    units = sentence_units(text, start, end, stretched)
    pieces: list[list[int]] = []
    for a, b in units:
        if pieces:
            current = pieces[-1]
            size = b - current[0]
            continues_enum = _ENUM_NEXT.match(text[a:b]) is not None and size <= stretched
            if size <= limit or continues_enum:
                current[1] = b
                continue
        pieces.append([a, b])
    if len(pieces) > 1 and pieces[-1][1] - pieces[-1][0] < settings.min_chars and pieces[-1][1] - pieces[-2][0] <= stretched:
        last = pieces.pop()
        pieces[-1][1] = last[1]
    return [(a, b) for a, b in pieces]


def _merge_heading_only(text: str, spans: list[Section]) -> list[Section]:
    """A heading (or a title line) directly followed by a sub-heading has no body of its own:
    it joins the next section, whose (deeper) path already names it. Short
    sibling items (``(2)表彰…;`` ``(3)…``) join the next one too; the merged
    span then carries the path the items share, not the last item's."""
    merged: list[Section] = []
    pending: int | None = None
    paths: list[list[str]] = []
    for span in spans:
        start = span.start if pending is None else pending
        paths.append(span.path)
        whole = text[span.start:span.end].strip()
        bodiless = len(text[span.heading_end:span.end].strip()) < 10 or (len(whole) < 20 and "\n" not in whole)
        if bodiless and span is not spans[-1]:  # e.g. a title line alone before the first heading
            pending = start
            continue
        path = span.path
        if any(p != path[:len(p)] for p in paths):  # not all ancestors of this span
            path = common_path(paths)
        merged.append(Section(start, span.end, list(path), span.heading_end))
        pending = None
        paths = []
    return merged


def common_path(paths: list[list[str]]) -> list[str]:
    """The longest heading path every one of ``paths`` starts with.

    >>> common_path([["一、", "（一）"], ["一、", "（二）"]])
    ['一、']
    """
    path = list(paths[0])
    for other in paths[1:]:
        k = 0
        while k < min(len(path), len(other)) and path[k] == other[k]:
            k += 1
        path = path[:k]
    return path


def pack_short_sections(spans: list[Section], settings: ChunkSettings) -> list[tuple[Section, list[Section]]]:
    """A section of at most ``pack_chars`` joins the run before it while the
    run stays within ``max_chars``: (packed span under the items' common path,
    the items it holds)."""
    runs: list[list[Section]] = []
    for span in spans:
        run = runs[-1] if runs else None
        if run and span.end - span.start <= settings.pack_chars and span.end - run[0].start <= settings.max_chars:
            run.append(span)
        else:
            runs.append([span])
    return [(Section(run[0].start, run[-1].end, common_path([s.path for s in run]), run[0].heading_end), run)
            for run in runs]


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


#: characters of a document's opening (after its title) that every chunk is scored with
LEAD_CHARS = 100


def document_lead(doc: Document) -> str:
    """The opening after the title: who issues the document, for where and
    when (``国家税务总局南阳市税务局…``), which questions name."""
    text = doc.text[len(doc.title):] if doc.text.startswith(doc.title) else doc.text
    return text.strip()[:LEAD_CHARS]


def chunk_document(doc: Document, settings: ChunkSettings = ChunkSettings()) -> list[Chunk]:
    chunks: list[Chunk] = []
    meta = {**doc.meta, "lead": document_lead(doc)}
    for span, items in pack_short_sections(_merge_heading_only(doc.text, sections(doc.text)), settings):
        for a, b in pack(doc.text, span.start, span.end, settings):
            a, b = _trim(doc.text, a, b)
            if a == b:
                continue
            parts = [[max(a, item.start) - a, item.path] for item in items if a < item.end and item.start < b]
            chunks.append(Chunk(
                chunk_id=f"{doc.doc_id}@{a}",
                doc_id=doc.doc_id,
                title=doc.title,
                source=doc.source,
                section=list(span.path),
                text=doc.text[a:b],
                start=a,
                end=b,
                meta={**meta, "parts": parts} if len(parts) > 1 else meta,
            ))
    return chunks


def chunk_documents(docs: list[Document], settings: ChunkSettings = ChunkSettings()) -> list[Chunk]:
    return [chunk for doc in docs for chunk in chunk_document(doc, settings)]
