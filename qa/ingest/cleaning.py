"""Turn scraped report text into clean, simplified, citable text.

The seed reports come from document-sharing sites: upload headers, page
counters, repeated titles, page numbers that cut sentences in half, pinyin
annotations after traditional characters, excerpt stubs of other reports.
Each rule below is a small function tested on the line of a real seed file it
fixes (tests/test_cleaning.py). Rules only remove or normalise; they never
invent text. Mojibake (bytes decoded one off: ``?,F``, ``?;反娣攀?``) is the
one repair: the misread bytes are decoded in step again where they read as the
file's own characters (``?,F`` -> ``現``), else the run is cut out
(``qa.text.mojibake``); every repair and cut is listed with the removed lines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from qa.text.fold import CJK, delete_matches, drop_pinyin, fold_width, normalize_chars
from qa.text.mojibake import fix_mojibake
from qa.text.simplify import to_simplified
from qa.text.sentences import PARAGRAPH_END

# --- site boilerplate -------------------------------------------------------

BOILERPLATE_LINES = [re.compile(p) for p in (
    r"^-?\s*\d{4}-\d{1,2}-\d{1,2}\s*发布\s*\|?$",         # "- 2021-04-13 发布 |"
    r"^-?\s*[\d.]+\s*[KMG]B\s*\|?$",                       # "- 37.5 KB |"
    r"^-?\s*\d+\s*页$",                                     # "- 10页"
    r"^申明敬告:.*",
    r"^文档介绍$",
    r"^上传人:.*",                                          # "上传人:杰猫 文档编号:…"
    r"^第\s*\d+\s*页\s*/\s*共\s*\d+\s*页$",                # "第1页 / 共22页"
    r"^.{1,80}_第\s*\d+\s*页$",                             # "…范文精品_第1页"
    r"^返回\s*下载\s*相关\s*举报$",
    r"^点击查看更多.*",
    r"^资源描述$",
    r"^《.*》由会员分享.*",
    r"^展开阅读全文$",
    r"^相关(资源|搜索|文章|推荐)$",
    r"^当前位置:.*",
    r"^电脑版\s*\|.*",
    r".*ICP备\s*\d+\s*号.*",
    r"^字号:.*",
    r"^发布\s*\d{4}-\d{1,2}-\d{1,2}.*阅读\s*\d+$",          # "发布 2024-03-12 23:45:09 阅读 1749"
    r"^来源:\s*网络整理.*",
    r"^(查看更多|收藏|分享|举报|下载)$",
)]

#: site boilerplate lines are short; longer lines are never dropped whole
MAX_BOILERPLATE_LINE = 300

BOILERPLATE_INLINE = [re.compile(p) for p in (
    r"content_\d+\(\);",
    r"来源:\s*网络整理\s*免责声明.*$",
    r"\s*查看更多\s*$",
    r"^精选公文范文。",
)]


def drop_boilerplate(lines: list[str]) -> list[str]:
    kept = []
    for line in lines:
        original = line
        for pattern in BOILERPLATE_INLINE:
            line = delete_matches(pattern, line)
        if line != original and not re.sub(r"[\W_]", "", line):
            continue  # only punctuation left ("content_2();。" -> "。")
        view = fold_width(line.strip())
        if len(line) <= MAX_BOILERPLATE_LINE and any(p.fullmatch(view) for p in BOILERPLATE_LINES):
            continue  # a long line is text: a file without line breaks must not vanish whole
        kept.append(line)
    return kept


#: a licence notice that ends a page (wikisource); it and all after it is chrome
_FOOTER_START = re.compile(r"^本作品(是|来自).{0,200}(公有领域|著作权法)")


def drop_footer(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if _FOOTER_START.match(fold_width(line.strip())):
            return lines[:i]
    return lines


# --- lines broken around inline links ----------------------------------------

_CONTINUES = tuple(",。、;:!?)》」』”’")
_OPENS = tuple("《(“「『")


def join_broken_lines(lines: list[str]) -> list[str]:
    """Undo the line breaks a site put around inline links (wikisource:
    ``…李强所作的`` / ``政府工作报告`` / ``。会议…``): a line that starts with
    punctuation continuing a sentence, or follows an opening bracket, joins the
    line before; so does a short fragment between an unfinished line and such
    a continuation. Blank lines (paragraph breaks) are never crossed."""
    out: list[str] = []
    for i, line in enumerate(lines):
        text = line.strip()
        previous = out[-1].rstrip() if out else ""
        following = fold_width(lines[i + 1].strip()) if i + 1 < len(lines) else ""
        head, tail = fold_width(text), fold_width(previous)
        if previous and text and (
            head.startswith(_CONTINUES)
            or tail.endswith(_OPENS)
            or (len(text) <= 40 and following.startswith(_CONTINUES)
                and not tail.endswith(tuple(PARAGRAPH_END)))
        ):
            out[-1] = previous + text
        else:
            out.append(line)
    return out


_REPEAT_AT_START = re.compile(r"^(?P<t>\S.{5,79}?)(?:\s*(?P=t))+(?:\s+|$)")


def drop_repeated_titles(lines: list[str]) -> list[str]:
    """A title pasted many times in a row (and equal neighbouring lines) keeps
    one copy, or none when the line before already is that title."""
    kept: list[str] = []
    for line in lines:
        match = _REPEAT_AT_START.match(line)
        if match:
            title = match.group("t").strip()
            rest = line[match.end():]
            previous = next((k for k in reversed(kept) if k.strip()), "")
            head = [] if previous.strip() == title else [title]
            kept.extend(head + ([rest] if rest.strip() else []))
            continue
        previous = next((k for k in reversed(kept) if k.strip()), None)
        if line.strip() and previous is not None and line.strip() == previous.strip() and len(line.strip()) < 80:
            continue
        kept.append(line)
    return kept


# --- page markers -----------------------------------------------------------

def _ends_paragraph(line: str) -> bool:
    return fold_width(line.rstrip()).endswith(tuple(PARAGRAPH_END))


_PAGE_MARKER = re.compile(r"^(\d{1,3})、")


def join_page_markers(lines: list[str]) -> list[str]:
    """Undo page numbers that a site put in front of each page's text.

    Such a page starts with ``N、`` where N counts pages (1, 2, 3, ...), the
    pages are long, and the previous page mostly ends mid-sentence
    (``…提高了幼儿教育普及程度。2`` / ``2、011年``). A genuine numbered list
    (``1、加强…。``) ends its items with punctuation, so it is left alone."""
    paras = [i for i, line in enumerate(lines) if line.strip()]
    numbered = {i: int(m.group(1)) for i in paras if (m := _PAGE_MARKER.match(fold_width(lines[i].strip())))}
    run = []
    for position, i in enumerate(paras):
        if numbered.get(i) == len(run) + 1:
            run.append((position, i))
    if len(run) < 3:
        return lines
    lengths = sorted(len(lines[i]) for _, i in run)
    cut = sum(1 for position, _ in run[1:] if not _ends_paragraph(lines[paras[position - 1]]))
    if lengths[len(lengths) // 2] < 100 or cut < (len(run) - 1) * 2 / 3:
        return lines
    out = list(lines)
    for k, (_, i) in enumerate(run):
        marked = out[i].strip()
        body = marked[_PAGE_MARKER.match(fold_width(marked)).end():]
        previous = next((j for j in range(i - 1, -1, -1) if out[j].strip()), None)
        if k and previous is not None and not _ends_paragraph(out[previous]):
            out[previous] = out[previous].rstrip() + body
            out[i] = ""
        else:
            out[i] = body
    return out


# --- excerpt stubs ----------------------------------------------------------

_STUB_END = re.compile(r"(\.{3,}|…+)$")
#: a line between two teasers of a related-articles list: the next teaser's title
MAX_STUB_TITLE = 60


def _is_stub(line: str) -> bool:
    line = fold_width(line.strip())
    return len(line) >= 60 and _STUB_END.search(line) is not None


def drop_excerpt_stubs(lines: list[str]) -> list[str]:
    """Teasers of related articles: long paragraphs cut off with ``...``, at
    least two of them with nothing but short title lines between. A lone
    paragraph that ends in ``……`` is prose (an open list, a quoted remark) and stays."""
    stubs = [i for i, line in enumerate(lines) if _is_stub(line)]
    chrome: set[int] = set()
    for a, b in zip(stubs, stubs[1:]):
        if all(len(lines[j].strip()) <= MAX_STUB_TITLE for j in range(a + 1, b)):
            chrome.update((a, b))
    return [line for i, line in enumerate(lines) if i not in chrome]


# --- flattened pages ----------------------------------------------------------

#: a space between two pieces of Chinese text in a flattened page: a lost line break
_LOST_BREAK = re.compile(rf"(?<=[{CJK}。!?;:,、)”’》」』])[ ]+(?=[{CJK}(“《「『\d])")
#: a page is flattened when its text sits on this few lines, one of them this long
FLAT_MAX_LINES = 2
FLAT_MIN_CHARS = 120


def restore_line_breaks(lines: list[str]) -> list[str]:
    """Pages scraped into one line keep their paragraph breaks as spaces
    (``…督导检查 2020年2月4日，…``); between Chinese text such a space is a
    line break, which the outline and the title need. Only whitespace changes."""
    filled = [line for line in lines if line.strip()]
    if len(filled) > FLAT_MAX_LINES or not any(len(line) >= FLAT_MIN_CHARS for line in filled):
        return lines
    out: list[str] = []
    for line in lines:
        if len(line) < FLAT_MIN_CHARS:  # a title line keeps its spaces (精心育人谱新篇 与时俱进攀高峰)
            out.append(line)
            continue
        view, last = fold_width(line), 0
        for match in _LOST_BREAK.finditer(view):
            out.append(line[last:match.start()])
            last = match.end()
        out.append(line[last:])
    return out


# --- the pipeline ---------------------------------------------------------------

@dataclass
class Cleaned:
    """A file's clean text and every line a rule removed whole, so a user
    can audit the cleaning (``qa chunks --dropped``)."""

    text: str
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (rule, line)
    #: the page came as one line: its lines are restored paragraphs, not a layout to split reports by
    flattened: bool = False
    #: mojibake runs: (rule, the run as the file has it, what replaced it: "" when cut out)
    replaced: list[tuple[str, str, str]] = field(default_factory=list)


#: in order; the ``drop_*`` rules remove lines, the others only join or re-break them
RULES = (join_broken_lines, drop_footer, drop_boilerplate, drop_excerpt_stubs, drop_repeated_titles,
         restore_line_breaks, join_page_markers)


def clean(raw: str) -> Cleaned:
    """The full cleaning pipeline for one file's text."""
    text = drop_pinyin(normalize_chars(raw))
    text, runs = fix_mojibake(text)  # on the source's own script: its bytes are what got misread
    replaced = [("repair_mojibake" if run.repair else "drop_mojibake", run.text, run.repair) for run in runs]
    lines = [line.strip() for line in to_simplified(text).split("\n")]
    dropped: list[tuple[str, str]] = []
    flattened = False
    for rule in RULES:
        before = lines
        lines = rule(lines)
        flattened = flattened or (rule is restore_line_breaks and lines != before)
        if rule.__name__.startswith("drop_"):
            gone = Counter(line for line in before if line.strip()) - Counter(lines)
            for line in before:
                if gone[line] > 0:  # removed whole, or cut down (inline boilerplate, repeated titles)
                    gone[line] -= 1
                    dropped.append((rule.__name__, line))
    text = "\n".join(line.strip() for line in lines)
    return Cleaned(re.sub(r"\n{2,}", "\n", text).strip(), dropped, flattened, replaced)


def clean_text(raw: str) -> str:
    return clean(raw).text
