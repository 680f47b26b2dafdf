"""Split one cleaned file into the reports it holds.

Sites glue reports together: a template page with ``…篇一`` … ``…篇十四``, or
a report followed by differently titled ones. Each becomes its own document
with its own title; a title line with no body (the tail of a related-articles
list) is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PIAN = re.compile(r"^(?P<base>.{2,60}?)[(]?篇(?P<n>[一二三四五六七八九十]{1,3})[)]?$")
_TITLE_WORDS = re.compile(r"(总结|计划|报告|规划|讲话|意见|方案|要点|汇报|纲要|通知)")
_NOT_TITLE = re.compile(r"[。,;!?]|^(\d|[一二三四五六七八九十]+、|\()")

MIN_BODY = 50  # characters a report needs besides its title
MIN_PREAMBLE = 200  # shorter text before 篇一 is a site's blurb


@dataclass
class Part:
    title: str
    start: int
    end: int


def _lines(text: str) -> list[tuple[int, str]]:
    out, offset = [], 0
    for line in text.split("\n"):
        out.append((offset, line))
        offset += len(line) + 1
    return out


def looks_like_title(line: str) -> bool:
    line = line.strip()
    return 6 <= len(line) <= 60 and not _NOT_TITLE.search(line) and bool(_TITLE_WORDS.search(line))


def split_reports(text: str, fallback_title: str) -> list[Part]:
    lines = _lines(text)
    first = lines[0][1].strip() if lines else ""
    file_title = first if first and len(first) <= 80 and "。" not in first else fallback_title

    pian = [(offset, line.strip()) for offset, line in lines if _PIAN.match(line.strip())]
    bases = {_PIAN.match(line).group("base") for _, line in pian}
    if len(pian) >= 2 and len(bases) == 1:
        starts = pian
        preamble = Part(file_title, 0, pian[0][0])
    else:
        starts = [(offset, line.strip()) for offset, line in lines[1:] if looks_like_title(line)]
        preamble = Part(file_title, 0, starts[0][0] if starts else len(text))

    parts = [preamble] if (preamble.end - len(first)) >= (MIN_PREAMBLE if pian and len(bases) == 1 else 0) else []
    for i, (offset, title) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        parts.append(Part(title, offset, end))
    return [p for p in parts if len(text[p.start:p.end].strip()) - len(p.title) >= MIN_BODY]
