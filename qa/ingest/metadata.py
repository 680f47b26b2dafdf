"""What a report says about itself: the year it reports on and the place that issues it.

A research office filters by year ("reports before 2024" for a draft's
precedents, ``qa search --year``) and compares places, so every document gets
``meta["year"]`` and, where the text names one, ``meta["region"]``, each with
where it came from (``year_source`` / ``region_source``), so a wrong value can
be traced to the line that gave it.

**Year**, first found of: the collection's own ``year`` field (a .jsonl line),
the title, the file name, the first dated line of the text. A year is
``2024年`` (also ``2024年度``), ``二〇二四年`` / ``二0一一年`` (digit by digit),
a date ``2024-03-12`` / ``2024.3.12`` / ``2024/03/12``, or the first year of a
range (``2015-2017年``). Not a year: placeholders (``20xx年``, ``20__年``,
``**年``), a number without 年 (``2019装备标准``), a target (``到2035年``), a
look back (``1958年以来``), and any year inside a cited title (``《…规划(2015-2020年)》``). A title naming two
years (``2023年工作总结和2024年工作计划``) is dated by the first: the year it
reports on.

**Region**: the issuer's place, a name ending in 省/市/县/区/旗/盟 or 自治区/自治州/自治县 (``青禾县``,
``榆阳区``, ``南阳市``), first found of: the collection's ``region`` field, the
title, the file name, an issuer line (``XX县教育局``, ``XX市人民政府``) among
the opening or closing lines, or a place the opening names when the report
speaks of itself at that level (``我市`` … ``促进当阳经济社会发展`` with
``当阳市`` in the text). A report of the State Council or the National People's
Congress is ``全国``. Places merely mentioned in the body (a partner county,
the parent city, a district in a cited plan) are not the issuer, so nothing
else is guessed: an anonymised template (``**县教育局``, ``xx市``) has no region.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePath
from typing import Any

from qa.text.fold import fold_width
from qa.text.numbers import year_digits

YEAR_MIN, YEAR_MAX = 1900, 2100

# --- years ----------------------------------------------------------------------

_YEAR = re.compile(
    r"(?<![\d.])(?P<y>(?:19|20)\d{2})(?:\s*[-—–~～至到]\s*(?:(?:19|20)\d{2}|\d{2}))?\s*年(?!代)"  # 2024年, 2015-2017年
    r"|(?P<c>[一二][〇○零0O一二三四五六七八九]{3})\s*年"  # 二〇二四年 (二ＯＯ五年 is 二OO五年 once widths are folded)
    r"|(?<![\d.])(?P<d>(?:19|20)\d{2})[-/.](?:0?[1-9]|1[0-2])[-/.](?:[12]\d|3[01]|0?[1-9])(?!\d)"  # 2024-03-12
)
#: a year in a file name needs no 年 but must stand alone (hash names hold digits: 8088773ffad2292a)
_NAME_YEAR = re.compile(r"(?<![0-9A-Za-z])(?P<y>(?:19|20)\d{2})(?![0-9A-Za-z])")
_CITED = re.compile(r"《[^《》\n]{0,80}》")
_TARGET = ("到", "至")


def years_in(text: str) -> list[int]:
    """The years ``text`` is dated by, in order of appearance (see the module doc).

    >>> years_in("2024年教育局上半年教育工作总结及下半年工作计划")
    [2024]
    >>> years_in("领导在教育质量工作会的报告同志们:二0一一年工作回顾2011年是开局之年")
    [2011, 2011]
    >>> years_in("20xx年是我市灾后重建的决胜年，全市教学设施均达到xx省2019装备标准")
    []
    >>> years_in("印发《株洲市职业教育发展三年攻坚计划(2015-2017年)》，到2035年基本实现，发布于2024-03-12")
    [2024]
    >>> years_in("1958年以来，国民经济……（1962年4月16日通过）")
    [1962]
    """
    view = fold_width(text)
    cited = [m.span() for m in _CITED.finditer(view)]
    found = []
    for match in _YEAR.finditer(view):
        if any(a <= match.start() < b for a, b in cited):
            continue
        before = view[max(0, match.start() - 2):match.start()]
        if before.endswith(_TARGET) and not before.endswith(("截至", "截止")) or view.startswith("以来", match.end()):
            continue
        year = year_digits(match.group("c")) if match.group("c") else int(match.group("y") or match.group("d"))
        if year is not None and YEAR_MIN <= year <= YEAR_MAX:
            found.append(year)
    return found


def _given_year(value: Any) -> int | None:
    try:
        year = int(str(value).strip()[:4]) if value not in (None, "") else None
    except ValueError:
        return None
    return year if year is not None and YEAR_MIN <= year <= YEAR_MAX else None


def document_year(title: str, text: str, file_name: str | None = None, given: Any = None) -> tuple[int | None, str | None]:
    """(year, where it came from: ``field`` / ``title`` / ``file`` / ``text``), or (None, None).

    >>> document_year("2024年上半年工作总结及下半年工作计划", "2015年上半年，全市教育系统……")
    (2024, 'title')
    >>> document_year("课后服务工作总结", "一、基本情况", "青禾县教育局2025年课后服务工作总结.docx")
    (2025, 'file')
    >>> document_year("决议", "决议\\n(2025年3月11日第十四届全国人民代表大会第三次会议通过)", given=None)
    (2025, 'text')
    """
    year = _given_year(given)
    if year is not None:
        return year, "field"
    for source, value in (("title", title), ("file", _file_stem(file_name))):
        years = years_in(value) if value else []
        if not years and source == "file" and value:
            years = [int(m.group("y")) for m in _NAME_YEAR.finditer(value)]
        if years:
            return years[0], source
    years = years_in(text)
    return (years[0], "text") if years else (None, None)


def _file_stem(file_name: str | None) -> str:
    return PurePath(file_name).stem if file_name else ""


# --- regions --------------------------------------------------------------------

_LEVELS = "省市县区旗盟"
#: characters that never belong to a place name: pronouns, prepositions, particles
#: (``为我县`` ``关于加强全市`` ``充分发挥县教育局``) and placeholders (``**县`` ``xx市``)
_NOT_NAME = (set("我全本该各每此其这那在对和与从由向于把被将到及或了的是有为以之所而并也又就都即等第年月日级如据")
             | set(_LEVELS) | set("*＊xXｘＸ_＿○某×□"))
#: the verbs and adverbs that most often stand before 县/市/区 in these reports (``加强县级``,
#: ``建设市``): a name never starts with them
_VERBS = set("""加强 推进 建设 实施 完成 落实 开展 组织 参加 按照 提高 促进 完善 深化 推动 实现 做好 抓好 确保 健全
    发挥 贯彻 坚持 围绕 培训 带动 巩固 创建 争创 打造 办好 服务 管理 支持 全面 积极 认真 结合 转发 迎接 上报 报送
    通过 获得 荣获 评为 列为 成为 承办 举办 召开 参与 代表 受到 得到 争取 对接 覆盖 扩大 新增 优质 教育 学校
    会同 联合 自治 直辖""".split())
#: place + these words: the place is a word's first half (城区, 超市, 社区, 市级, 省委)
_GENERIC_BEFORE = {"区": set("城社园校学新片辖山灾地景街小老点验范任发能护矿林牧边经开高险郊民"),
                   "市": set("城超都股夜集门楼上"), "县": set("郡"), "省": set("反内自")}
_GENERIC_AFTER = set("级委府政直属长里场内外域划界民立")
_BOUNDARY = set(" \n\t,，。.;；:：、!！?？()（）《》“”\"'[]【】—-年度") | set("局委会厅府部社办")
#: who issues a report: an office of the place
_ISSUER = re.compile(r"(教育局|教育体育局|教体局|教育和体育局|教育委员会|教委|教育厅|人民政府|政府|委员会|党委|税务局|卫生健康委员会|卫健委)")
_NATIONAL = re.compile(r"国务院|全国人民代表大会|全国人大|中华人民共和国|党中央|中共中央")
#: the report speaks of itself at a level: 我市, 全县, 本区
_SELF = re.compile(rf"[我全本]([{_LEVELS}])")
LEAD_CHARS = 200


#: an autonomous region, prefecture or county: a longer name before 自治区/自治州/自治县
_AUTONOMOUS = re.compile(r"[\u4e00-\u9fff]{2,8}?自治[区州县]")


def places_in(text: str) -> list[tuple[str, int, int]]:
    """Place names of ``text`` with their offsets: 2 or 3 characters and a
    level (省/市/县/区/…), starting at a boundary (the start, punctuation, a
    year, another place, an office: ``国家税务总局南阳市``), not a pronoun or a
    placeholder (``我县``, ``**县``, ``xx市``), not half of a common word
    (``城区``, ``市级``).

    >>> [p for p, _, _ in places_in("青禾县教育局2025年课后服务工作总结")]
    ['青禾县']
    >>> [p for p, _, _ in places_in("湖北省武汉市教育局关于做好全市中小学城区学校招生的通知")]
    ['湖北省', '武汉市']
    >>> [p for p, _, _ in places_in("充分发挥县教育局作用，**县教育局、xx市教育局")]
    []
    >>> [p for p, _, _ in places_in("广西壮族自治区教育厅，各省、自治区、直辖市")]
    ['广西壮族自治区']
    """
    view = fold_width(text)
    found: list[tuple[str, int, int]] = []
    for match in _AUTONOMOUS.finditer(view):
        start = match.start()
        while start < match.end() - 5 and not (start == 0 or view[start - 1] in _BOUNDARY):
            start += 1  # the shortest name that starts at a boundary
        name = view[start:match.end() - 3]
        if (start == 0 or view[start - 1] in _BOUNDARY) and len(name) >= 2 and not _NOT_NAME & set(name):
            found.append((text[start:match.end()], start, match.end()))
    taken = [(a, b) for _, a, b in found]
    for match in re.finditer(f"[{_LEVELS}]", view):
        if any(a <= match.start() < b for a, b in taken):
            continue
        end = match.end()
        level = match.group()
        if end < len(view) and view[end] in _GENERIC_AFTER:
            continue
        for size in (2, 3):
            start = match.start() - size
            if start < 0:
                break
            name = view[start:match.start()]
            if _NOT_NAME & set(name) or not all("\u4e00" <= ch <= "\u9fff" for ch in name):
                break
            if name[-1] in _GENERIC_BEFORE.get(level, ()) or name[:2] in _VERBS:
                break
            if start == 0 or view[start - 1] in _BOUNDARY or view[start - 1] in _LEVELS or view[start - 1].isdigit():
                found.append((text[start:end], start, end))
                break
    return sorted(found, key=lambda place: place[1])


def _from_heading(text: str) -> str | None:
    """The place a title or file name names: the one its office follows
    (``湖北省武汉市教育局`` -> 武汉市), else the last one."""
    found = places_in(text)
    if not found:
        return None
    for name, _, end in found:
        if _ISSUER.match(fold_width(text), end):
            return name
    return found[-1][0]


#: a clause that sets the scene before the subject: a date (``2024年,``) or a frame (``在市委的领导下,``)
_CONTEXT = re.compile(r"[^,。]{0,20}年[^,。]{0,12}|在[^,。]{0,40}下")


def _issuer_at_start(line: str) -> str | None:
    """The place of an office that is the subject of ``line``: at its start, or
    after scene-setting clauses (``20xx年,在…领导下,XX市教育局团结带领…``)."""
    view = fold_width(line)
    offset = 0
    for clause in view.split(",")[:4]:
        place = next(((name, end) for name, start, end in places_in(view[offset:offset + len(clause)])
                      if start == 0), None)
        if place and _ISSUER.match(view, offset + place[1]):
            return line[offset:offset + len(place[0])]
        if not _CONTEXT.fullmatch(clause):
            return None
        offset += len(clause) + 1
    return None


def _issuer_line(opening: str, closing: list[str]) -> str | None:
    """An office named as the report's subject in its opening line, or a
    signature (``XX县教育局``, a short line of its own) among its last lines."""
    place = _issuer_at_start(opening)
    if place:
        return place
    for line in closing:
        if len(line) <= 30:
            place = _issuer_at_start(line)
            if place:
                return place
    return None


def _self_named(text: str, lead: str) -> str | None:
    """The place of the level the report speaks of itself at (``我市``, ``全市``)
    whose name the opening uses (``促进当阳经济``) and the text gives in full
    at least twice (``当阳市``): one such place, or none."""
    levels = Counter(_SELF.findall(text))
    if not levels:
        return None
    level, count = levels.most_common(1)[0]
    if count < 2:
        return None
    names = Counter(name for name, _, _ in places_in(text) if name.endswith(level))
    chosen = {name for name, n in names.items() if n >= 2 and name[:-1] in lead}
    return chosen.pop() if len(chosen) == 1 else None


def document_region(title: str, text: str, file_name: str | None = None,
                    given: Any = None) -> tuple[str | None, str | None]:
    """(region, where it came from: ``field`` / ``title`` / ``file`` / ``issuer`` / ``text``), or (None, None).

    >>> document_region("青禾县2025年课后服务工作总结", "")
    ('青禾县', 'title')
    >>> document_region("2025年中华人民共和国国务院政府工作报告", "各位代表：")
    ('全国', 'title')
    >>> document_region("工作总结", "工作总结\\n一、基本情况\\n……\\n榆阳区教育局\\n2024年12月")
    ('榆阳区', 'issuer')
    """
    if isinstance(given, str) and given.strip():
        return given.strip(), "field"
    if _NATIONAL.search(title or ""):
        return "全国", "title"
    for source, value in (("title", title), ("file", _file_stem(file_name))):
        place = _from_heading(value) if value else None
        if place:
            return place, source
    body = text[len(title):] if title and text.startswith(title) else text
    lines = [line.strip() for line in body.strip().split("\n") if line.strip()]
    lead = body.strip()[:LEAD_CHARS]
    place = _issuer_line(lines[0] if lines else "", lines[-3:])
    if place:
        return place, "issuer"
    place = _self_named(body, lead)
    return (place, "text") if place else (None, None)


def describe(title: str, text: str, file_name: str | None = None, meta: dict | None = None) -> dict[str, Any]:
    """``meta`` with ``year``/``region`` and their sources set (keys absent when unknown).

    The given values of a collection line (``year``, ``region``) win; a
    ``year`` of ``None`` there is looked for like any other.
    """
    meta = dict(meta or {})
    year, year_source = document_year(title, text, file_name, meta.get("year"))
    region, region_source = document_region(title, text, file_name, meta.get("region"))
    for key in ("year", "year_source", "region", "region_source"):
        meta.pop(key, None)
    if year is not None:
        meta.update(year=year, year_source=year_source)
    if region is not None:
        meta.update(region=region, region_source=region_source)
    return meta
