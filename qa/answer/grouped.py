"""Questions about several reports at once, answered report by report.

A research office asks every week "各地在教师交流方面采取了哪些措施？",
"哪些县提到了课后服务收费？" or "2019年和2023年的政府工作报告在教育方面的提法有
什么变化？". One list of the best sentences answers none of them: the best
sentences come from one or two reports, and the reader cannot tell which
report said what. Such a question gets one group per report: its title, year
and region, then its own cited sentences; ordered by year when the question
compares years, else by how well each report answers.

Which reports: those the question names (years, 篇一…篇十四, 《titles》), each
searched on its own; else the reports among the best passages whose best
sentence answers the topic about as well as the best report's.

>>> asks_many_reports("各地在教师交流方面采取了哪些措施？"), asks_many_reports("教师交流有哪些措施？")
(True, False)
>>> designators("2019年和2024年的政府工作报告在教育方面的提法有什么变化？")
(['2019', '2024'], [], [])
>>> designators("篇一到篇三这些总结里，哪些提到了防溺水？")[1]
['篇一', '篇二', '篇三']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.search.sentences import Span
from qa.text.numbers import CN_TEN, cn_to_int

#: words that ask about several reports ("各地", "哪些报告", "历年", "有什么变化")
_MANY = re.compile(r"各(?:地|县|区|市|校)(?=在|对|是|都|如何|怎么|采取|有|的|分别|又)|各(?:份|篇)|"
                   r"哪些(?:县|市|区|地方|地区)(?=提到|提出|说|讲|谈|写|给出|有)|哪(?:些|几)(?:份|篇|个)?"
                   r"(?:政府工作)?(?:报告|总结|文件)|哪几年的|几份报告|历年|历次|近几年|这些(?:报告|总结|文件)|"
                   r"(?:报告|总结)(?:里|中)?(?:分别|各自)")
#: two years of reports side by side ("2019年和2024年的政府工作报告")
_YEARS_TOGETHER = re.compile(r"(?:19|20)\d{2}\s*年\s*(?:和|与|、|及|跟|同|以及)\s*(?:19|20)\d{2}\s*年")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_PIAN = re.compile(rf"篇([{CN_TEN}]{{1,3}})")
_PIAN_RANGE = re.compile(rf"篇([{CN_TEN}]{{1,3}})(?:到|至|—|-|~)篇([{CN_TEN}]{{1,3}})")
_TITLE = re.compile(r"《([^》]{2,60})》")
#: a question comparing reports over time: its groups go by year
_OVER_TIME = re.compile(r"历年|历次|近几年|哪几年|变化|演变|前后")
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,20})[”\"」』]")
#: characters a report's group may state
GROUP_BUDGET = 160
#: reports an answer lists at most
MAX_GROUPS = 8


def designators(question: str) -> tuple[list[str], list[str], list[str]]:
    """The years, reports of a series (篇一 …) and titles a question names."""
    years = list(dict.fromkeys(_YEAR.findall(question)))
    pian: list[str] = []
    for first, last in _PIAN_RANGE.findall(question):
        a, b = cn_to_int(first), cn_to_int(last)
        if a and b and a < b <= 30:
            pian += [f"篇{_cn(n)}" for n in range(a, b + 1)]
    pian += [f"篇{n}" for n in _PIAN.findall(question)]
    titles = _TITLE.findall(question)
    return years, list(dict.fromkeys(pian)), titles


def _cn(n: int) -> str:
    """1..30 as a Chinese numeral (十一, 二十)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else CN_TEN[tens - 1]) + "十" if tens else "") + (CN_TEN[ones - 1] if ones else "")


def quoted_terms(question: str) -> list[str]:
    """Terms the question quotes ("哪些报告提到了“双减”？"): a report that never
    says them does not answer it.

    >>> quoted_terms("哪几年的政府工作报告提到了“双减”？")
    ['双减']
    """
    return _QUOTED.findall(question)


def asks_many_reports(question: str) -> bool:
    """Whether the question asks about several reports: it names two or
    more of them, or asks across reports (各地, 哪些报告, 历年 …)."""
    _, pian, titles = designators(question)
    return bool(_YEARS_TOGETHER.search(question)) or len(pian) >= 2 or len(titles) >= 2 or bool(_MANY.search(question))


def over_time(question: str) -> bool:
    """Whether the question compares reports over time (years, 历年, 变化)."""
    return len(designators(question)[0]) >= 2 or bool(_OVER_TIME.search(question))


@dataclass
class Group:
    """One report's part of a grouped answer."""

    doc_id: str
    title: str
    year: int | None
    region: str | None
    spans: list[Span] = field(default_factory=list)
    #: its best statement's probability: how well this report answers
    score: float = 0.0


def named_documents(question: str, documents: dict[str, dict]) -> list[str]:
    """The documents (doc id -> manifest entry: title, year, ...) a question
    names by year, by its place in a series (篇三) or by title; empty when it
    names none."""
    years, pian, titles = designators(question)
    if not (years or pian or titles):
        return []
    named = []
    for doc_id, entry in documents.items():
        title, year = entry.get("title", ""), entry.get("year")
        if (years and year is not None and str(year) in years) or any(title.endswith(p) for p in pian) \
                or any(t in title or title in t for t in titles):
            named.append(doc_id)
    return named


def group_by_document(spans: list[Span]) -> list[Group]:
    """The candidate statements (most probable first) gathered per report,
    reports in the order of their best statement."""
    groups: dict[str, Group] = {}
    for span in spans:
        chunk = span.chunk
        group = groups.get(chunk.doc_id)
        if group is None:
            group = groups[chunk.doc_id] = Group(chunk.doc_id, chunk.title, chunk.year, chunk.region, score=span.prob)
        group.spans.append(span)
    return list(groups.values())
