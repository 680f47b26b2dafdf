"""Find the Chinese outline of a report: 第X章 / 一、 / (一) / 1、 1. / (1).

Scraped reports often lose their line breaks, so headings are found both at
line starts and inside a line after a sentence end (``…作用。一、理论联系实际``).
A candidate is rejected when it is really body text: a quantity or a year
(``1.5亿元``, ``20xx年``), a number out of sequence, or a long sentence that
merely starts with ``1、``. The enumerations ``一是…二是…`` are points inside a
passage and never headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text.fold import fold_width
from qa.text.numbers import CN_DIGITS, CN_NUM, cn_to_int
from qa.text.sentences import PARAGRAPH_END

#: level -> marker pattern; a lower level number is a higher heading
MARKERS: list[tuple[int, str]] = [
    (0, rf"第[{CN_DIGITS}十百\d]{{1,4}}[章节部分篇](?:\s|$)?"),
    (1, rf"{CN_NUM}、"),
    (2, rf"\({CN_NUM}\)、?"),
    (3, r"\d{1,2}(?:、|\.(?![\d%]))"),
    (4, r"\(\d{1,2}\)、?"),
]
_MARKER = re.compile(
    r"(?:^|(?<=[。!?;:]))[ ]*(?:" + "|".join(f"(?P<l{lvl}>{p})" for lvl, p in MARKERS) + ")",
    re.M,
)
#: where a heading title stops when the line runs on into body text
_TITLE_STOP = re.compile(rf"[\n。!?;]|(?<!\d)\d{{1,2}}、(?!\d)|\({CN_NUM}\)|\(\d{{1,2}}\)|{CN_NUM}是")
_PART_LINE = re.compile(r"^[\u4e00-\u9fff][^,。:;!?、()“”]{1,18}$")
#: ``一是`` ``二要`` ``三条是`` on a line of their own are enumerators, not parts
_ENUMERATOR = re.compile(rf"^{CN_NUM}条?[是要]")

MAX_TITLE = 40
MAX_NUMBERED_HEADING = 40


@dataclass
class Heading:
    start: int  # offset of the marker in the document text
    end: int  # offset where the heading's title ends
    level: int
    number: int | None
    label: str  # display form, e.g. "（三）开展校长、教师交流工作"


_DISPLAY = str.maketrans({"(": "（", ")": "）", ",": "，", ":": "：", ";": "；"})


def display(label: str) -> str:
    """Headings are shown with Chinese punctuation and without the final 。.

    >>> display("(三)开展校长、教师交流工作。")
    '（三）开展校长、教师交流工作'
    """
    label = re.sub(r"\s+", "", label) if len(label.replace(" ", "")) <= 12 else label
    return label.rstrip("。.:;, ").translate(_DISPLAY)


def _title_end(text: str, start: int) -> tuple[int, bool]:
    """End of a heading's title, and whether it ended naturally (a stop
    character or a child marker) rather than by the length cap."""
    stop = _TITLE_STOP.search(text, start, start + MAX_TITLE + 1)
    if stop:
        end = stop.start() + (1 if stop.group() == "。" else 0)
        return end, True
    comma = text.find(",", start, start + MAX_TITLE)
    return (comma if comma > start else min(len(text), start + MAX_TITLE)), False


def find_headings(text: str) -> list[Heading]:
    """Headings of ``text``, matched on its width-folded view (the stored
    text keeps the source's ``（一）``; offsets are the same in both)."""
    text = fold_width(text)
    headings: list[Heading] = []
    last_number: dict[int, int] = {}
    for match in _MARKER.finditer(text):
        level = next(int(k[1:]) for k, v in match.groupdict().items() if v is not None)
        marker_start = match.start() + len(match.group()) - len(match.group().lstrip())
        if headings and marker_start < headings[-1].end:
            continue
        number = cn_to_int(re.sub(r"[^\d一二三四五六七八九十零〇百]", "", match.group()))
        end, natural = _title_end(text, match.end())
        title = text[match.end():end].strip()
        if not title or (level >= 3 and not natural):
            continue  # "1、…" running on as a long sentence is body text
        at_line_start = marker_start == 0 or text[marker_start - 1] == "\n"
        if level >= 1 and number is not None:
            previous = last_number.get(level)
            in_sequence = number <= 2 or (previous is not None and previous < number <= previous + 5)
            if not in_sequence and not (at_line_start and level <= 2):
                continue
            last_number[level] = number
            for deeper in [lvl for lvl in last_number if lvl > level]:
                del last_number[deeper]
        if level >= 3 and len(title) > MAX_NUMBERED_HEADING:
            continue
        headings.append(Heading(marker_start, end, level, number, display(text[marker_start:end].strip())))
    headings.extend(_part_lines(text, headings))
    return sorted(headings, key=lambda h: h.start)


def _part_lines(text: str, numbered: list[Heading]) -> list[Heading]:
    """Short stand-alone lines without punctuation (``工 作 措 施``) head a part
    of the report when they follow a finished paragraph; the first line is the
    title and is not a part, nor is a line of a title block or byline
    (``国务院总理`` / ``李 强``), nor one of a run of link fragments
    (``党的十八届六中全会`` / ``正式明确`` / ``习近平`` / ``总书记的…``)."""
    taken = {h.start for h in numbered}
    parts = []
    offset = text.find("\n") + 1 if "\n" in text else len(text)
    previous = text[:offset].strip()
    lines = text[offset:].split("\n")
    for i, line in enumerate(lines):
        stripped = line.strip()
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if (stripped and offset not in taken and _PART_LINE.match(stripped) and _MARKER.match(stripped) is None
                and not _ENUMERATOR.match(stripped) and previous.endswith(tuple(PARAGRAPH_END))
                and not (_PART_LINE.match(following) and _MARKER.match(following) is None)):
            parts.append(Heading(offset, offset + len(line), 0, None, display(stripped)))
        previous = stripped or previous
        offset += len(line) + 1
    return parts


@dataclass
class Section:
    """A span of text under one heading path (``path`` may be empty before
    the first heading)."""

    start: int
    end: int
    path: list[str]
    heading_end: int  # where the heading line itself ends (== start if none)


def sections(text: str) -> list[Section]:
    r"""Split a document into consecutive spans, each with its heading path.

    >>> text = "工作总结\n一、队伍建设\n（一）教师交流\n推进轮岗。\n二、学校安全\n开展督查。"
    >>> [s.path for s in sections(text)]
    [[], ['一、队伍建设'], ['一、队伍建设', '（一）教师交流'], ['二、学校安全']]
    """
    stack: list[Heading] = []
    spans: list[Section] = []
    headings = find_headings(text)
    if not headings or headings[0].start > 0:
        first_end = headings[0].start if headings else len(text)
        spans.append(Section(0, first_end, [], 0))
    for i, heading in enumerate(headings):
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        stack.append(heading)
        end = headings[i + 1].start if i + 1 < len(headings) else len(text)
        spans.append(Section(heading.start, end, [h.label for h in stack], heading.end))
    return [s for s in spans if text[s.start:s.end].strip()]
