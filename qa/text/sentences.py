"""Sentences as offsets into a text: what is cited, embedded and compared.

Stored text keeps the source's punctuation, so both widths end a sentence.

>>> text = "一、加强队伍建设。全年培训教师3000人次；新招聘教师120名。"
>>> [text[a:b] for a, b in sentence_spans(text, 0, len(text))]
['一、加强队伍建设。', '全年培训教师3000人次；', '新招聘教师120名。']
>>> vector_sentences("没有句号的标题")
[(0, 7)]
"""

from __future__ import annotations

import re

#: punctuation that can end a paragraph without cutting a sentence (checked on the folded view)
PARAGRAPH_END = "。!?;:…”’」』)》.\"'"
_SENTENCE_END = re.compile(r"[。!?;！？；]+[”’」』\"']*|\n")
_CLAUSE_END = re.compile(r"[,、:，：]")
_NOT_WORD = re.compile(r"\W")


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of ``text[start:end]`` as offsets, ends included; blank ones skipped."""
    spans, cursor = [], start
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.end() > cursor:
            spans.append((cursor, match.end()))
            cursor = match.end()
    if cursor < end:
        spans.append((cursor, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def candidate_spans(text: str) -> list[tuple[int, int, int]]:
    """(position among ``sentence_spans``, start, end) of the sentences a
    passage offers as answers: whitespace trimmed, scraps of fewer than four
    word characters skipped. One rule for the answer layer's candidates
    (``qa.search.sentences``) and the reader's (``qa.reader``), so the reader
    is trained and measured on the sentences the pipeline reads.

    >>> text = "全县新建学校3所。 好。\\n 新招聘教师120名。"
    >>> [(i, text[a:b]) for i, a, b in candidate_spans(text)]
    [(0, '全县新建学校3所。'), (2, '新招聘教师120名。')]
    """
    out = []
    for i, (a, b) in enumerate(sentence_spans(text, 0, len(text))):
        raw = text[a:b]
        trimmed = raw.strip()
        if len(_NOT_WORD.sub("", trimmed)) < 4:
            continue
        start = a + raw.index(trimmed)
        out.append((i, start, start + len(trimmed)))
    return out


def split_long(text: str, a: int, b: int, limit: int) -> list[tuple[int, int]]:
    """A sentence longer than the limit is cut at clause marks, else hard."""
    pieces, cursor = [], a
    while b - cursor > limit:
        window = text[cursor:cursor + limit]
        marks = [m.end() for m in _CLAUSE_END.finditer(window)]
        cut = cursor + (marks[-1] if marks and marks[-1] > limit // 3 else limit)
        pieces.append((cursor, cut))
        cursor = cut
    pieces.append((cursor, b))
    return pieces


def sentence_units(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Sentences of ``text[start:end]``, those longer than ``limit`` cut at clause marks."""
    units: list[tuple[int, int]] = []
    for a, b in sentence_spans(text, start, end):
        units.extend(split_long(text, a, b, limit) if b - a > limit else [(a, b)])
    return units


def vector_sentences(text: str) -> list[tuple[int, int]]:
    """The sentences of a passage that get one vector each (build, second
    stage, drafting): its sentence spans, or the whole passage when it has none."""
    return sentence_spans(text, 0, len(text)) or [(0, len(text))]
