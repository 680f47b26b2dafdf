"""A notice reposted by several offices is shown once, and the other
documents that publish a passage's text are named in ``also_in``, even when
each copy is cut into passages differently (real text: a full-width notice of
tests/data/fullwidth)."""

from __future__ import annotations

from pathlib import Path

from qa.ingest.corpus import ingest
from qa.models import Chunk
from qa.search.copies import collapse_copies

DATA = Path(__file__).parent / "data" / "fullwidth"


def _notice() -> str:
    (doc,) = [d for d in ingest(DATA).documents if d.doc_id.startswith("3d7c3d97")]
    return doc.text


def _chunk(doc: str, text: str, start: int, end: int) -> Chunk:
    return Chunk(f"{doc}@{start}", doc, "关于阶段性降低企业用电成本支持企业复工复产的通知", f"{doc}.txt", [],
                 text[start:end], start, end)


def test_a_copy_cut_differently_is_dropped_and_named_in_also_in():
    text = _notice()
    a, b, c = text.index("一、降价范围"), text.index("二、降价措施"), text.index("四、工作要求")
    ours = _chunk("x", text, a, c)  # items 一 to 三 in one passage
    theirs = [_chunk("y", text, a, b), _chunk("y", text, b, c)]  # the same text in two passages
    other = _chunk("z", text, 0, a)  # only the title and lead
    hits = collapse_copies([(ours, 3.0), (theirs[1], 2.0), (other, 1.5), (theirs[0], 1.0)], 10)
    assert [h.chunk.chunk_id for h in hits] == [ours.chunk_id, other.chunk_id]
    assert hits[0].also_in == ["y.txt"]  # y publishes items 一 to 三, over its two passages
    assert hits[1].also_in == []  # neither x's nor y's candidates hold z's lead
    assert [h.rank for h in hits] == [1, 2]


def test_a_passage_sharing_only_part_of_its_text_is_kept_and_not_named():
    text = _notice()
    a, b, c = text.index("一、降价范围"), text.index("二、降价措施"), text.index("四、工作要求")
    whole = _chunk("x", text, a, c)
    part = _chunk("y", text, b, c)  # y publishes items 二 and 三 only
    hits = collapse_copies([(whole, 2.0), (part, 1.0)], 10)
    assert [h.chunk.chunk_id for h in hits] == [whole.chunk_id, part.chunk_id]
    assert hits[0].also_in == []  # x's item 一 is not in y
    assert hits[1].also_in == ["x.txt"]  # y's text is all in x


def test_the_same_text_twice_in_one_document_is_shown_once():
    text = _notice()
    a, b = text.index("一、降价范围"), text.index("二、降价措施")
    first, again = _chunk("x", text, a, b), Chunk("x@9999", "x", "t", "x.txt", [], text[a:b], 9999, 9999 + b - a)
    hits = collapse_copies([(first, 2.0), (again, 1.0)], 10)
    assert [h.chunk.chunk_id for h in hits] == [first.chunk_id] and hits[0].also_in == []
