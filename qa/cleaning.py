"""Turn scraped report text into clean, simplified, citable text.

The seed reports come from document-sharing sites: upload headers, page
counters, repeated titles, page numbers that cut sentences in half, pinyin
annotations after traditional characters, excerpt stubs of other reports.
Each rule below is a small function tested on the line of a real seed file it
fixes (tests/test_cleaning.py). Rules only remove or normalise; they never
invent text, so characters that cannot be repaired (mojibake) stay as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
#: punctuation that can end a paragraph without cutting a sentence
PARAGRAPH_END = "。!?;:…”’」』)》.\"'"

_PINYIN = re.compile(rf"(?:(?<=[{CJK}?])\([a-z{TONED}]+\)|\([a-z]*[{TONED}][a-z{TONED}]*\))")
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _t2s_tables() -> tuple[dict[int, str], re.Pattern] | None:
    """OpenCC's t2s as a character table plus a pattern of its phrases.

    The pure-Python OpenCC is slow (~4 s per MB). It converts each piece
    between separators on its own: phrases first, then single characters. A
    piece that holds no phrase key therefore converts character by character,
    which ``str.translate`` does at C speed; only lines holding a phrase key
    (反覆, 乾燥, ... ~280 of them) go through OpenCC itself."""
    import opencc

    convert = _t2s().convert
    folder = Path(opencc.__file__).parent / "dictionary"
    try:
        keys = {name: [line.split("\t", 1)[0].strip() for line in
                       (folder / name).read_text(encoding="utf-8").splitlines() if line.strip()]
                for name in ("TSCharacters.txt", "TSPhrases.txt")}
    except OSError:
        return None  # dictionaries not where expected: OpenCC converts everything
    if any(len(k) != 1 for k in keys["TSCharacters.txt"]) or any(len(k) < 2 for k in keys["TSPhrases.txt"]):
        return None
    table = {ord(k): convert(k) for k in keys["TSCharacters.txt"] if convert(k) != k}
    phrases = sorted(keys["TSPhrases.txt"], key=len, reverse=True)
    return table, re.compile("|".join(map(re.escape, phrases)))


def to_simplified(text: str) -> str:
    tables = _t2s_tables()
    if tables is None:
        return _t2s().convert(text)
    table, phrases = tables
    if not phrases.search(text):
        return text.translate(table)
    # phrase keys hold no separator (whitespace included): lines convert on their own
    return "\n".join(_t2s().convert(line) if phrases.search(line) else line.translate(table)
                      for line in text.split("\n"))


def normalize_chars(text: str) -> str:
    """Unify line ends, spaces and full-width ASCII forms (，：（） -> ,:()).

    The reports mostly use half-width ASCII punctuation between Chinese
    characters already, so mapping the rest to it keeps one form throughout;
    Chinese-only marks (。、“”) are left alone."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text).translate(_FULLWIDTH)
    return _SPACES.sub(" ", text)


def drop_pinyin(text: str) -> str:
    """``學(xué)`` -> ``學``: annotations follow a character or carry tone marks."""
    return _PINYIN.sub("", text)


def normalize_text(text: str) -> str:
    """The normalisation shared by documents and queries (no boilerplate rules)."""
    return to_simplified(drop_pinyin(normalize_chars(text)))


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
            line = pattern.sub("", line)
        if line != original and not re.sub(r"[\W_]", "", line):
            continue  # only punctuation left ("content_2();。" -> "。")
        if len(line) <= MAX_BOILERPLATE_LINE and any(p.fullmatch(line.strip()) for p in BOILERPLATE_LINES):
            continue  # a long line is text: a file without line breaks must not vanish whole
        kept.append(line)
    return kept


#: a licence notice that ends a page (wikisource); it and all after it is chrome
_FOOTER_START = re.compile(r"^本作品(是|来自).{0,200}(公有领域|著作权法)")


def drop_footer(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if _FOOTER_START.match(line.strip()):
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
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if previous and text and (
            text.startswith(_CONTINUES)
            or previous.endswith(_OPENS)
            or (len(text) <= 40 and following.startswith(_CONTINUES)
                and not previous.endswith(tuple(PARAGRAPH_END)))
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

_PAGE_MARKER = re.compile(r"^(\d{1,3})、")


def join_page_markers(lines: list[str]) -> list[str]:
    """Undo page numbers that a site put in front of each page's text.

    Such a page starts with ``N、`` where N counts pages (1, 2, 3, ...), the
    pages are long, and the previous page mostly ends mid-sentence
    (``…提高了幼儿教育普及程度。2`` / ``2、011年``). A genuine numbered list
    (``1、加强…。``) ends its items with punctuation, so it is left alone."""
    paras = [i for i, line in enumerate(lines) if line.strip()]
    numbered = {i: int(m.group(1)) for i in paras if (m := _PAGE_MARKER.match(lines[i].strip()))}
    run = []
    for position, i in enumerate(paras):
        if numbered.get(i) == len(run) + 1:
            run.append((position, i))
    if len(run) < 3:
        return lines
    lengths = sorted(len(lines[i]) for _, i in run)
    cut = sum(
        1 for position, _ in run[1:]
        if not lines[paras[position - 1]].rstrip().endswith(tuple(PARAGRAPH_END))
    )
    if lengths[len(lengths) // 2] < 100 or cut < (len(run) - 1) * 2 / 3:
        return lines
    out = list(lines)
    for k, (_, i) in enumerate(run):
        body = _PAGE_MARKER.sub("", out[i].strip(), count=1)
        previous = next((j for j in range(i - 1, -1, -1) if out[j].strip()), None)
        if k and previous is not None and not out[previous].rstrip().endswith(tuple(PARAGRAPH_END)):
            out[previous] = out[previous].rstrip() + body
            out[i] = ""
        else:
            out[i] = body
    return out


# --- excerpt stubs ----------------------------------------------------------

_STUB_END = re.compile(r"(\.{3,}|…+)$")


def drop_excerpt_stubs(lines: list[str]) -> list[str]:
    """Teasers of related articles: a long paragraph cut off with ``...``."""
    return [line for line in lines if not (len(line.strip()) >= 60 and _STUB_END.search(line.strip()))]


def clean_text(raw: str) -> str:
    """The full cleaning pipeline for one file's text."""
    text = normalize_text(raw)
    lines = [line.strip() for line in text.split("\n")]
    for rule in (join_broken_lines, drop_footer, drop_boilerplate, drop_excerpt_stubs, drop_repeated_titles, join_page_markers):
        lines = rule(lines)
    text = "\n".join(line.strip() for line in lines)
    return re.sub(r"\n{2,}", "\n", text).strip()
