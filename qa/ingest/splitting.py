"""Split one cleaned file into the reports it holds.

Sites glue reports together: a template page with ``…篇一`` … ``…篇十四``, or
a report followed by differently titled ones. Each becomes its own document
with its own title; a title line with no body (the tail of a related-articles
list) is dropped, but a file with text always yields at least one document,
however short. Patterns are matched on the width-folded view, titles are cut
from the text itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text.fold import fold_width

_PIAN = re.compile(r"^(?P<base>.{2,60}?)[(]?篇(?P<n>[一二三四五六七八九十]{1,3})[)]?$")
_TITLE_WORDS = re.compile(r"(总结|计划|报告|规划|讲话|意见|方案|要点|汇报|纲要|通知)")
_NOT_TITLE = re.compile(r"[。,;!?]|^(\d|[一二三四五六七八九十]+、|\()")

MIN_BODY = 50  # characters a report needs besides its title
MAX_TITLE = 80
#: words that end the title of a notice, measure or Q&A page (通知, 意见, …)
_DOC_TYPE = re.compile(r"(通知|通告|公告|意见|办法|方案|措施|指南|问答|决定|规定|细则|公示|倡议书|告知书|答记者问|说明|解读)"
                       r"(?:[(（][^()（）]{0,12}[)）])?")
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


def infer_title(first_line: str) -> str | None:
    """The title a page opens with: the whole first line when it is short and
    not a sentence, else its lead up to a document-type word
    (``…复工复产服务和多举措加强招商引资工作的通知``); None when neither."""
    line = first_line.strip()
    if line and len(line) <= MAX_TITLE and "。" not in line:
        return line
    match = _DOC_TYPE.search(line, 0, MAX_TITLE)
    if match and "。" not in line[:match.end()] and match.end() >= 6:
        return line[:match.end()]
    return None


def split_reports(text: str, fallback_title: str, titled_parts: bool = True) -> list[Part]:
    """The reports of one file: parts marked 篇一, 篇二, …; with ``titled_parts``
    also parts that start at a title-like line (off for pages restored from
    one line, whose paragraphs often quote the title of another notice)."""
    original = text
    text = fold_width(text)
    lines = _lines(text)
    first = lines[0][1] if lines else ""
    file_title = infer_title(original[:len(first)]) or fallback_title

    pian = [(offset, line.strip()) for offset, line in lines if _PIAN.match(line.strip())]
    bases = {_PIAN.match(line).group("base") for _, line in pian}
    if len(pian) >= 2 and len(bases) == 1:
        starts = pian
        preamble = Part(file_title, 0, pian[0][0])
    else:
        starts = [(offset, line.strip()) for offset, line in lines[1:] if titled_parts and looks_like_title(line)]
        preamble = Part(file_title, 0, starts[0][0] if starts else len(text))

    parts = [preamble] if (preamble.end - len(first)) >= (MIN_PREAMBLE if pian and len(bases) == 1 else 0) else []
    for i, (offset, title) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        at = text.index(title, offset)  # the folded title's place: cut the original there
        parts.append(Part(original[at:at + len(title)], offset, end))
    parts = [p for p in parts if len(text[p.start:p.end].strip()) - len(p.title) >= MIN_BODY]
    return parts or [Part(file_title, 0, len(text))]  # a short file is still a document

