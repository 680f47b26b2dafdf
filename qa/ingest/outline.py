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
#: a numbered title of this many clauses is a sentence (``1、加强督查力度,对存在的问题,责任到人,限时整改。``)
MAX_HEADING_COMMAS = 3


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
    items: list[Item] = []  # every numbered 1、/(1) candidate, heading or not, for list_items
    last_number: dict[int, int] = {}
    for match in _MARKER.finditer(text):
        level = next(int(k[1:]) for k, v in match.groupdict().items() if v is not None)
        marker_start = match.start() + len(match.group()) - len(match.group().lstrip())
        if headings and marker_start < headings[-1].end:
            continue
        number = cn_to_int(re.sub(r"[^\d一二三四五六七八九十零〇百]", "", match.group()))
        end, natural = _title_end(text, match.end())
        title = text[match.end():end].strip()
        # "1、…" running on as a long sentence or clause after clause, or a line ending in ";", is body text
        statement = level >= 3 and (not natural or len(title) > MAX_NUMBERED_HEADING
                                    or title.count(",") >= MAX_HEADING_COMMAS or _ends_in_semicolon(text, end))
        if level >= 3 and number is not None and title:
            items.append(Item(marker_start, end, level, number, statement))
        if not title or (level >= 3 and not natural):
            continue
        at_line_start = marker_start == 0 or text[marker_start - 1] == "\n"
        if level >= 1 and number is not None:
            previous = last_number.get(level)
            in_sequence = number <= 2 or (previous is not None and previous < number <= previous + 5)
            if not in_sequence and not (at_line_start and level <= 2):
                continue
            last_number[level] = number
            for deeper in [lvl for lvl in last_number if lvl > level]:
                del last_number[deeper]
        if statement:
            continue
        headings.append(Heading(marker_start, end, level, number, display(text[marker_start:end].strip())))
    listed = list_items(text, items, headings)
    headings = [h for h in headings if h.start not in listed]
    headings.extend(_part_lines(text, headings))
    return sorted(headings, key=lambda h: h.start)


def _ends_in_semicolon(text: str, end: int) -> bool:
    """``1、安全宣传教育情况;`` and nothing more on its line: an item of a list
    (``2、顺利组织…活动;义务教育阶段…`` goes on and may head its paragraph)."""
    return text[end:end + 1] == ";" and text[end + 1:text.find("\n", end) if "\n" in text[end:] else len(text)].strip() == ""


@dataclass
class Item:
    """A numbered ``1、`` / ``(1)`` candidate; ``statement``: its text reads as
    body (a long sentence, one of many clauses, or a line ending in ``;``)."""

    start: int
    end: int
    level: int
    number: int
    statement: bool


def list_items(text: str, items: list[Item], headings: list[Heading]) -> set[int]:
    r"""Starts of numbered headings that are items of a list, hence body text.

    A run of numbered siblings (``1、 2、 3、`` of one level, no higher heading
    between) is a list, not headings, when most of its items are statements
    or one-line items with no text of their own before the next (``6、大多数
    学校的消防器材不全…。`` after five long sentences; ``1、安全管理制度建设
    和责任制落实情况;`` … ``12、安全管理建档情况。``): the measures that
    follow the list belong to the section the list is in, not to its last item.

    >>> text = ("总结\n二、存在问题\n1、还有少数学校主要领导的安全意识不强,对安全工作没有高度重视;不少学校的分管副校长,"
    ...     "习惯坐镇指挥,一问三不知。\n2、由于安全工作事务多,不少学校疲于应付,消极对待,宣传教育讲形式,工作不够深入,"
    ...     "落实不到位。\n3、对承包给私人经营的学校的食堂管理,学校监管不到位,引发了家长、社会各对学校的不满,出现了多起"
    ...     "信访件。\n4、由于我县民办幼儿园点多、面广,办园条件差,管理不规范,难于管理,特别是校车,常超载,存在极大的"
    ...     "安全隐患。\n5、大多数学校的消防器材不全,甚至没有,村小几乎没有。\n1、加强督查力度,对存在的问题,责任到人,限时整改。")
    >>> [h.label for h in find_headings(text)]
    ['二、存在问题']
    """
    higher = sorted(h.start for h in headings if h.level < 3)
    runs: list[list[Item]] = []
    open_runs: dict[int, list[Item]] = {}
    for item in items:
        for level in list(open_runs):  # a higher heading in between ends the deeper runs
            run = open_runs[level]
            if level >= item.level and any(run[-1].start < h < item.start for h in higher):
                del open_runs[level]
        for level in [lvl for lvl in open_runs if lvl > item.level]:
            del open_runs[level]
        run = open_runs.get(item.level)
        if run is None or item.number != run[-1].number + 1:
            run = open_runs[item.level] = []
            runs.append(run)
        run.append(item)
    listed: set[int] = set()
    for run in runs:
        if len(run) < 2:
            continue
        listish = sum(item.statement or _bare(text, item, following)
                      for item, following in zip(run, run[1:] + [None]))
        if listish * 2 > len(run):
            listed.update(item.start for item in run)
    return listed


def _bare(text: str, item: Item, following: Item | None) -> bool:
    """An item that is one line and nothing more: the next item (or a line
    of other text) follows right after its own line."""
    line_end = text.find("\n", item.start)
    line_end = len(text) if line_end < 0 else line_end
    if text[item.end:line_end].strip(" 。.;") or following is None:
        return False
    return following.start == line_end + 1


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
