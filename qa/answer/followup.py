"""Which chat questions lean on the previous turn, and how to read them.

A self-contained question is searched on its own: gluing it to the previous
one (as the chat once did) pulled the earlier topic's passages into an
unrelated question. Only two shapes are follow-ups:

- an ordinal that points into the previous answer's list: "二是什么？",
  "第三条呢？", "第2点具体是什么？";
- a short topic switch that keeps the previous question's ask:
  "那农村学校呢？", "还有城区学校呢？" (a "那…" / "…呢" question with no ask of
  its own), searched as the new topic plus the previous question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text.numbers import cn_to_int

_CN = "一二三四五六七八九十"
_ORDINAL = re.compile(
    rf"^(?:那|那么)?\s*(?:第\s*)?([{_CN}]{{1,2}}|\d{{1,2}})\s*(?:是|条|项|点|个|方面|部分)?\s*"
    r"(?:是什么|是啥|指什么|讲的?什么|说的?什么|的?内容|具体(?:是什么|内容|说说)?|呢|怎么说)*\s*[?？。!！]*$")
_SWITCH = re.compile(r"^(?:那么?|还有|另外|那如果)\s*(?P<topic>.{1,20}?)\s*(?:呢|怎么样|如何|又如何|的情况呢?)?\s*[?？]*$")
_ENDS_NE = re.compile(r"^(?P<topic>.{1,12}?)\s*呢\s*[?？]*$")
#: a topic switch has no ask of its own; these words would make it one
_OWN_ASK = re.compile(r"多少|什么|哪些|哪几|如何|怎么|怎样|是否|有没有|为什么|谁|何时|哪里|吗|\?.+")


@dataclass
class Turn:
    """How to answer one chat question."""

    question: str  # what to search and answer
    item: int | None = None  # the n-th item of the previous answer's list (1-based)
    previous: str | None = None  # the question this one leans on


def resolve(question: str, history: list[str] | None) -> Turn:
    """The question to answer given the user's earlier questions."""
    text = question.strip()
    if not history:
        return Turn(text)
    previous = history[-1].strip()
    ordinal = _ORDINAL.match(text)
    if ordinal:
        number = cn_to_int(ordinal.group(1)) if not ordinal.group(1).isdigit() else int(ordinal.group(1))
        if number:
            return Turn(previous, item=number, previous=previous)
    switch = _SWITCH.match(text) or _ENDS_NE.match(text)
    if switch and not _OWN_ASK.search(switch.group("topic")):
        return Turn(f"{switch.group('topic').strip()} {previous}", previous=previous)
    return Turn(text)
