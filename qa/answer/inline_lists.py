"""Lists written inside one sentence, without numbers.

"呈现四个管理效应:学校均衡发展,校长激情创业,…" says how many items follow;
"尝试学校管理向现代学校制度转型,课程建设向现代课程体系转型,…" only repeats the
word its items share. An ordinal follow-up ("第三个效应", "第三个转型") is
answered with one such item, as an exact span of the sentence.
"""

from __future__ import annotations

import re

from qa.search.sentences import Span
from qa.text.numbers import CN_TEN as _CN


#: a sentence that names how many items it lists, then lists them inline:
#: "呈现四个管理效应:学校均衡发展,校长激情创业,教师幸福从教,学生健康成长。"
_INLINE_LEAD = re.compile(rf"[{_CN}两几\d]+(?:个|项|条|大|方面)[^:：。；;]{{0,12}}[:：]")
_INLINE_ITEM = re.compile(r"[^，,、；;。]+")


def inline_items(span: Span) -> list[Span]:
    """The items a sentence lists inline after "N个…：" (three at least, each
    short), as exact spans; none for any other sentence.

    >>> from qa.models import Chunk
    >>> text = "呈现四个管理效应:学校均衡发展,校长激情创业,教师幸福从教,学生健康成长。"
    >>> chunk = Chunk("c", "d", "t", "s.txt", [], text, 100, 100 + len(text))
    >>> [s.text for s in inline_items(Span(chunk, 100, 100 + len(text), text))]
    ['学校均衡发展', '校长激情创业', '教师幸福从教', '学生健康成长']
    """
    lead = _INLINE_LEAD.search(span.text)
    if lead is None:
        return []
    items = []
    for part in _INLINE_ITEM.finditer(span.text, lead.end()):
        if not 2 <= len(part.group().strip()) <= 24:
            return []
        items.append(_part(span, part.start(), part.group()))
    return items if len(items) >= 3 else []


def _part(span: Span, offset: int, raw: str) -> Span:
    """The part ``raw`` of ``span``'s text at ``offset``, stripped, as an exact span."""
    text = raw.strip()
    start = span.start + offset + raw.index(text)
    return Span(span.chunk, start, start + len(text), text, span.rank)


#: a part of a sentence that only holds the counted word is an item when it is this short
PARALLEL_CHARS = 12
_SEGMENT = re.compile(r"[^,，、;；:：()（）。]+")


def parallel_items(span: Span, noun: str) -> list[Span]:
    """The items of a list a sentence writes without numbers, each naming
    ``noun`` (what the question counts): "尝试学校管理向现代学校制度转型,课程建设向
    现代课程体系转型,…" for 转型, "“宽带网络校校通”、“优质资源班班通”、…" for 通.
    The longest run (three at least) of consecutive parts that end with it,
    else of short parts that hold it ("学生评议教师,家长评议教师,…" for 评); none
    for a sentence without one.

    >>> from qa.models import Chunk
    >>> text = "推进高中教育转型提质,尝试学校管理向现代学校制度转型,课程建设向现代课程体系转型,课堂教学向激发学生自主学习动力转型。"
    >>> chunk = Chunk("c", "d", "t", "s.txt", [], text, 0, len(text))
    >>> [s.text for s in parallel_items(Span(chunk, 0, len(text), text), "转型")][2]
    '课堂教学向激发学生自主学习动力转型'
    """
    parts = [(m.start(), m.group()) for m in _SEGMENT.finditer(span.text) if m.group().strip()]
    for holds in (lambda t: t.strip("“”\"").endswith(noun), lambda t: noun in t and len(t) <= PARALLEL_CHARS):
        runs: list[list[tuple[int, str]]] = [[]]
        for part in parts:
            if holds(part[1].strip()):
                runs[-1].append(part)
            elif runs[-1]:
                if noun in part[1]:  # "…、“网络学习空间人人通”建设和…": the last item says what follows it
                    runs[-1].append(part)
                runs.append([])
        run = max(runs, key=len)
        if len(run) >= 3:
            return [_part(span, offset, raw) for offset, raw in run]
    return []
