"""Enumerations in report text (一是…二是…, (一)…(二)…, 1.…2.…) as exact spans.

A list question ("采取了哪些措施") is answered with the items of the
enumeration that best matches it, after the sentence that introduces them.
When the question names a topic the introduction does not (天元区 … 教师交流
against "教师为基,持续激发教师队伍活力"), only the items about that topic are
kept. Markers are matched in half- and full-width forms alike. A list read
across passages is ``qa.answer.sections``'; one written inside a sentence
without numbers, ``qa.answer.inline_lists``'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.answer.frame import topic_terms
from qa.answer.signals import Candidates, Span
from qa.models import Chunk
from qa.text.ngrams import bigrams, coverage
from qa.text.numbers import CN_TEN as _CN, cn_to_int

LIST_QUESTION = re.compile(
    r"哪些|哪几|几项|几个方面|措施|举措|做法|办法|途径|what (measures|steps|actions)|which (measures|steps)|list", re.I)
ITEM_MARKER = re.compile(
    rf"(?:[{_CN}]{{1,2}}是|(?<![\d.．])\d{{1,2}}[、.．](?!\d)|[(（]\d{{1,2}}[)）]|[(（][{_CN}]{{1,2}}[)）]"
    rf"|第[{_CN}]{{1,2}}[,，、:：])")
_SENTENCE_END = re.compile(r"[。!?;！？；\n]")
_ITEM_STOP = re.compile(r"[。;；!?！？]")
#: words of a list question that say "list", not what about
GENERIC = {"采取", "措施", "方面", "工作", "推进", "开展", "主要", "做法", "举措", "哪些", "这个", "具体", "实施",
           "进行", "有关", "相关", "方法", "办法", "内容", "要求"}
#: how much of a list's question coverage its title and section path add
#: count (``best_enumeration``)
HEADING_WEIGHT = 0.5
#: an item is cut at a sentence end after this many characters
MAX_ITEM_CHARS = 240


def _marker_kind_and_number(marker: str) -> tuple[str, int | None]:
    digits = re.sub(rf"[^{_CN}\d]", "", marker)
    kind = marker.replace(digits, "N", 1).translate(str.maketrans("（）．，：", "().,:"))
    return kind, cn_to_int(digits)


def enumeration_runs(text: str) -> list[list[re.Match]]:
    """Runs of consecutively numbered items of one kind (一是, 二是, …)."""
    runs: list[list[re.Match]] = []
    for match in ITEM_MARKER.finditer(text):
        kind, number = _marker_kind_and_number(match.group())
        if number == 1:
            runs.append([match])
            continue
        for run in reversed(runs):  # an inner list may sit inside an outer item
            if _marker_kind_and_number(run[-1].group()) == (kind, (number or 0) - 1):
                run.append(match)
                break
    return [run for run in runs if len(run) >= 2]


@dataclass
class Enumeration:
    intro: Span | None
    #: the items about the question's topic (``topic_items``)
    items: list[Span]
    score: float = 0.0
    #: every item with its number as the report writes it (一是 -> 1), for "二是什么？"
    numbered: list[tuple[int | None, Span]] = field(default_factory=list)

    def item(self, n: int) -> Span | None:
        """The item the report numbers ``n``, else the ``n``-th (a negative
        ``n`` counts from the end: -1 is the last)."""
        for number, span in self.numbered:
            if number == n:
                return span
        found = nth(self.numbered, n)
        return found[1] if found is not None else None


def nth(items: list, n: int):
    """The ``n``-th of ``items`` counted from 1 (a negative ``n`` from the
    end, as Python counts), None when there are not so many."""
    if n > 0:
        return items[n - 1] if n <= len(items) else None
    return items[n] if 0 < -n <= len(items) else None


def _span(chunk: Chunk, a: int, b: int) -> Span | None:
    raw = chunk.text[a:b]
    text = raw.strip().rstrip(";；,，")
    if len(re.sub(r"\W", "", text)) < 2:
        return None
    offset = a + raw.index(text)
    return Span(chunk, chunk.start + offset, chunk.start + offset + len(text), text)


def _intro(chunk: Chunk, first: int) -> Span | None:
    """The text from the last sentence end before the first marker; when the
    marker opens a sentence, the sentence before it (a heading or a lead-in)."""
    text = chunk.text
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, first)]
    start = ends[-1] if ends else 0
    if not text[start:first].strip():
        if not ends:
            return None
        first, start = ends[-1], (ends[-2] if len(ends) >= 2 else 0)
        while start and not text[start:first].strip():  # blank lines between
            start = max((e for e in ends if e < start), default=0)
    return _span(chunk, max(start, first - 120), first)


def _item_end(text: str, start: int, limit: int) -> int:
    end = limit
    if end - start > MAX_ITEM_CHARS:
        stops = [m.end() for m in _ITEM_STOP.finditer(text, start, limit) if m.end() - start <= MAX_ITEM_CHARS]
        end = stops[-1] if stops else start + MAX_ITEM_CHARS
    return end


def enumerations(chunk: Chunk, body: bool = False) -> list[Enumeration]:
    """The chunk's lists. An item runs to the next item's marker; the last
    one to its sentence end (or paragraph end), or with ``body`` on through
    the text after it (up to MAX_ITEM_CHARS): what "最后一项试点选在哪了" asks
    about is in the sentences under the item."""
    text = chunk.text
    out = []
    for run in enumeration_runs(text):
        items = []
        for i, match in enumerate(run):
            if i + 1 < len(run):
                limit = run[i + 1].start()
            elif body:
                limit = len(text)
            else:  # the last item ends at its sentence end (or paragraph end)
                stop = _ITEM_STOP.search(text, match.end())
                para = text.find("\n", match.end())
                limit = min(x for x in (stop.end() if stop else len(text), para if para > 0 else len(text)))
            span = _span(chunk, match.start(), _item_end(text, match.start(), limit))
            if span is not None:
                items.append((_marker_kind_and_number(match.group())[1], span))
        if len(items) >= 2:
            out.append(Enumeration(_intro(chunk, run[0].start()), [span for _, span in items], numbered=items))
    return out


def topic_items(enum: Enumeration, terms: set[str]) -> list[Span]:
    """The items about the question's topic: terms the introduction does not
    already cover, minus list words, must be shared by some items clearly more
    than by others; otherwise every item is about the topic."""
    intro = bigrams(enum.intro.text) if enum.intro else set()
    topic = {t for t in terms - intro if t not in GENERIC}
    scores = [len(topic & bigrams(item.text)) for item in enum.items]
    best = max(scores, default=0)
    if best < 2:
        return enum.items
    return [item for item, s in zip(enum.items, scores) if s >= 0.5 * best]


def best_enumeration(chunks: list[tuple[Chunk, int]], terms: set[str], min_items: int = 2) -> Enumeration | None:
    """The enumeration (of at least ``min_items`` items) whose introduction
    plus best item covers the question most, what its report's title and
    section path add counted at HEADING_WEIGHT (they say what the list is
    about, but every list of a section shares them) (ties to the better-ranked
    passage; a list inside an item of another, which says no less, over
    the outer one: it is the more specific answer), its items filtered by
    topic."""
    best: Enumeration | None = None
    for chunk, rank in chunks:
        for enum in enumerations(chunk):
            if len(enum.numbered) < min_items:
                continue
            intro = enum.intro.text if enum.intro else ""
            heading = chunk.title + "".join(chunk.section)
            own = max(coverage(terms, intro + item.text) for item in enum.items)
            framed = max(coverage(terms, heading + intro + item.text) for item in enum.items)
            enum.score = own + HEADING_WEIGHT * (framed - own) + 0.02 / rank
            if best is None or enum.score > best.score or (enum.score == best.score and _nested(enum, best)):
                best = enum
    if best is not None:
        best.items = topic_items(best, terms)
    return best


def _nested(inner: Enumeration, outer: Enumeration) -> bool:
    """Whether ``inner`` lists the parts of one of ``outer``'s items."""
    first = inner.numbered[0][1]
    return any(item.chunk.doc_id == first.chunk.doc_id and item.start < first.start < item.end
               for _, item in outer.numbered)


def question_enumeration(cands: Candidates) -> Enumeration | None:
    """For a list question, the best enumeration among the top three
    passages of its candidates, if it is about the question's topic (``cands.spans``
    ranked by probability); None for any other question."""
    if not LIST_QUESTION.search(cands.question):
        return None
    chunks = {s.chunk.chunk_id: (s.chunk, s.rank) for s in cands.spans if s.rank <= 3}
    listed = best_enumeration(sorted(chunks.values(), key=lambda c: c[1]), cands.terms)
    return listed if listed is not None and on_topic(listed, cands) else None


def on_topic(enum: Enumeration, cands: Candidates) -> bool:
    """Whether the enumeration speaks of the question's topic about as much as
    the most probable sentences do: a list that shares only the question's
    frame ("我们将在以下两方面采取措施：" for 学校安全 …采取了哪些措施) is not its answer."""
    topic = topic_terms(cands.question)
    if not topic or not cands.spans:
        return True
    text = (enum.intro.text if enum.intro else "") + "".join(item.text for item in enum.items)
    return coverage(topic, text) >= 0.8 * max(coverage(topic, s.text) for s in cands.spans[:3])


def numbered_item(cands: Candidates, n: int, documents: set[str] | None = None,
                  sections: dict[str, Chunk] | None = None) -> Span | None:
    """"二是什么？" after a list question: item ``n`` (-1: the last) of the enumeration that
    answers it, among the candidates' passages (those of ``documents`` when
    the question named its reports) that have so many items; read in their
    whole section (``sections``, by chunk id: ``section_passage``) when given,
    since a list runs on into the next passage."""
    sections = sections or {}
    chunks = {s.chunk.chunk_id: (sections.get(s.chunk.chunk_id, s.chunk), s.rank) for s in cands.spans
              if not documents or s.chunk.doc_id in documents}
    listed = best_enumeration(sorted(chunks.values(), key=lambda c: c[1]), cands.terms, min_items=max(n, 2))
    return whole_list(listed, listed.numbered[0][1].chunk).item(n) if listed is not None else None


def whole_list(listed: Enumeration, section: Chunk) -> Enumeration:
    """The list ``listed`` (found in one passage) as its whole section has
    it: items that run on into the next passage included, the last with its
    body."""
    first = listed.numbered[0][1].start
    return next((enum for enum in enumerations(section, body=True) if enum.numbered[0][1].start == first), listed)


def list_match(enum: Enumeration | None) -> float:
    """The found model's list signal: how well the enumeration matches."""
    return enum.score if enum is not None else 0.0
