"""A passage read in its whole section.

Retrieval returns passages of a few hundred characters, and a report's list
often runs on past one ("一是…二是…" in one passage, "三是…四是…" in the next).
The passages of one section are contiguous slices of their document, so they
join into one passage whose offsets still index the document; a span found
in it is cut back to one passage before it is quoted, since a citation quotes
one passage.
"""

from __future__ import annotations

from dataclasses import replace

from qa.models import Chunk
from qa.search.sentences import Span


def within_passage(span: Span, document: list[Chunk]) -> Span:
    """``span`` cut to the passage of ``document`` its start is in: a
    citation quotes one passage, and an item read in a section passage
    (``section_passage``) may run on into the next."""
    chunk = next((c for c in document if c.start <= span.start < c.end), None)
    if chunk is None or (span.chunk is chunk and span.end <= chunk.end):
        return span
    text = chunk.text[span.start - chunk.start:min(span.end, chunk.end) - chunk.start].rstrip().rstrip(";；,，")
    return Span(chunk, span.start, span.start + len(text), text, span.rank)


#: a section passage is at most this long: a long section's lists are read near the passage asked about
SECTION_CHARS = 3000


def section_passage(chunk: Chunk, document: list[Chunk]) -> Chunk:
    """``chunk`` joined with the passages before and after it in its section
    (``document``: the document's passages in order) that continue its text
    without a gap: one passage whose offsets still index the document, so
    spans found in it are exact quotes. Packed passages (``meta["parts"]``)
    are left alone: their parts have sections of their own."""
    def joins(a: Chunk, b: Chunk) -> bool:
        return a.end == b.start and a.section == b.section and not (a.meta.get("parts") or b.meta.get("parts"))

    at = next((i for i, c in enumerate(document) if c.chunk_id == chunk.chunk_id), None)
    if at is None or chunk.meta.get("parts"):
        return chunk
    first = last = at
    while first > 0 and joins(document[first - 1], document[first]) \
            and document[last].end - document[first - 1].start <= SECTION_CHARS:
        first -= 1
    while last + 1 < len(document) and joins(document[last], document[last + 1]) \
            and document[last + 1].end - document[first].start <= SECTION_CHARS:
        last += 1
    if first == last:
        return chunk
    text = "".join(c.text for c in document[first:last + 1])
    return replace(chunk, text=text, start=document[first].start, end=document[last].end)
