"""Which chat questions lean on the previous turn, and what they mean.

A self-contained question is answered on its own: gluing it to the previous
one pulled the earlier topic's passages into an unrelated question. Three
shapes lean on the previous question, and each is resolved *by what it
replaces*, into a question that stands on its own:

- an ordinal that points into the previous answer's list ("二是什么？",
  "第三条呢？"): that item of the previous answer;
- a topic switch that keeps the previous question's ask ("那在学校安全方面呢？",
  "农村学校呢？", "那2019年呢？"): the previous question with its topic
  swapped for the new one;
- a reference back ("这个工程投资了多少？", "它是哪年完成的？"): the follow-up
  with the reference replaced by the previous question's topic.

>>> resolve("那在学校安全方面呢？", ["这个县在教师交流方面采取了哪些措施？"]).question
'这个县在学校安全方面采取了哪些措施？'
>>> resolve("那农村学校呢？", ["城区学校的教师交流措施有哪些？"]).question
'农村学校的教师交流措施有哪些？'
>>> resolve("那2019年呢？", ["2024年新增学位多少个？"]).question
'2019年新增学位多少个？'
>>> resolve("这个工程投资了多少？", ["新城第四初中整体新建工程进展如何？"]).question
'新城第四初中整体新建工程投资了多少？'
>>> resolve("校车安全怎么管理？", ["教师交流有哪些措施？"]).question
'校车安全怎么管理？'
>>> resolve("二是什么？", ["教师交流有哪些措施？"]).item
2
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.answer.frame import topics
from qa.text.numbers import CN_TEN, cn_to_int

_ASKS_WHICH = (r"(?:什么|啥|是什么|是啥|是哪个|是哪一?[条项个点件]|指什么|讲的?什么|讲的?啥|说的?什么|说的?啥|的?内容|"
               r"具体(?:是什么|内容|说说|说了什么|讲的?啥)?|呢|怎么说)*\s*[?？。!！]*$")
#: an ordinal into the previous answer's list: "二是什么？", "第三条呢？", "其中第三个是什么", "头一条是什么？",
#: "最后一项呢？"; after a counted item ("第二件", "最后一项") a short ask of its own about it may follow
#: ("第二件要求啥时候完成？", "最后一项试点选在哪了")
_ORDINAL = re.compile(
    rf"^(?:那么?|其中|那其中|这里面|里面|这几[条项点个]里)?\s*(?:的)?"
    rf"(?:第\s*(?P<n>[{CN_TEN}]{{1,2}}|\d{{1,2}})|(?P<m>[{CN_TEN}]{{1,2}}|\d{{1,2}})(?=\s*(?:是|条|项|点|个|件|方面|部分))|"
    rf"(?P<first>头一|首)|(?P<last>最后(?:一|那)?))\s*(?P<counted>条|项|点|个|件|方面|部分|类|种)?(?P<rest>.*)$")
_OWN_ITEM_ASK = re.compile(r"[^，,。]{0,12}(?:什么|啥|哪|几|多少|怎么|如何|谁|吗)[^，,。]{0,6}[?？。]*$")
#: a topic switch: "那/还有 + a topic + 呢" (or 怎么样/如何), the ask left to the previous question
_SWITCH = re.compile(r"^(?:那么?|还有|另外|那如果|再说说|换成)?\s*(?P<topic>.{1,24}?)\s*"
                     r"(?:呢|怎么样|又如何|如何呢?|的情况呢|情况呢)\s*[?？。]*$")
#: a topic switch that repeats a short ask ("那初中生有多少", "州级的有几名？", "换成普通高中，是多少？")
_SWITCH_ASKING = re.compile(r"^(?:(?:那么?|换成|还有|另外)\s*(?P<topic>[^，,。？?]{1,16}?)|(?P<short>[^，,。？?]{1,6}?))"
                            r"[，,]?\s*(?:的)?(?:有|是|新增了?|增加了?|达到了?|占|招收了?)?\s*"
                            r"(?:多少|几[个名所项人位套台次])[^？?，,。]{0,3}[？?。]*$")
#: a follow-up with an ask of its own that carries on the previous one ("职业教育那边又是怎么搞的？")
_CARRY_ON = re.compile(r"^(?:那么?|还有|另外|换成|换到)?\s*(?P<topic>[^，,。？?]{2,12}?)(?:(?:那边|那块|这边|这块)(?:又|也)?|方面(?:又|也))")
#: a topic switch has no ask of its own; these words would make it one
_OWN_ASK = re.compile(r"多少|什么|哪些|哪几|如何|怎么|怎样|是否|有没有|为什么|谁|何时|哪里|哪年|吗|\?.+")
#: nouns a reference back names ("这个工程", "该项目", "那次灾害")
_NOUNS = ("工程|项目|工作|学校|措施|政策|活动|计划|经费|资金|文件|报告|方案|制度|机制|问题|平台|基地|中心|系统|"
          "灾害|事故|比赛|会议|规定|标准|队伍|团队|课程|行动|专项|检查|整治|改革|试点|工程项目|校|园|地")
#: a reference back to the previous question's subject: 它, 其, 这个工程, 该项目, 那次灾害, 上面说的这个培训 ...
_DEMONSTRATIVE = r"(?:上面|前面|刚才)?(?:说|讲|提)?的?(?:这|那|该|此)(?:个|项|些|所|笔|次|场|份|位|名|块|座|条|件|批|片)?"
#: a demonstrative that can only point back (这个, 那块, 该, 此), unlike a bare 那/这 ("那学校安全呢？")
_POINTS_BACK = re.compile(r"(?:该|此|[这那][个项些所笔次场份位名块座条件批片])$")
_REFERENCE = re.compile(rf"{_DEMONSTRATIVE}(?P<known>{_NOUNS})|{_DEMONSTRATIVE}(?P<open>[\u4e00-\u9fff]{{2,4}})|"
                        rf"它们|它(?!山)|其(?=[^他中余实次])|(?:他|她)们?")
#: the frame a switched topic may carry itself ("在学校安全方面" -> 学校安全)
_TOPIC_FRAME = re.compile(r"^(?:在|对于?|关于)|(?:方面|那边|那块|这边|这块|上|的情况|情况|工作)$")
#: designators a switch swaps for one of their own kind: a year, one of several reports (篇一 … 篇十四),
#: a stage of schooling (初中 for 小学)
_DESIGNATORS = (re.compile(r"(?:19|20)\d{2}年?"), re.compile(rf"篇[{CN_TEN}]{{1,3}}"),
                re.compile(r"学前教育|义务教育|高中教育|职业教育|特殊教育|高等教育|继续教育|民办教育|幼儿园|中小学|"
                           r"小学|初中|高中|中职|职高|大学|高校"),
                re.compile(r"国家级|省级|市级|州级|县级|区级|校级"), re.compile(rf"第?[{CN_TEN}]批"))
#: a reference to the place the previous question named ("该区首批确定了哪几所学校？")
_PLACE_REFERENCE = re.compile(r"(?:该|这个|本|那个)(?P<kind>县|市|区|镇)")
_PLACE = re.compile(r"[\u4e00-\u9fff]{2,4}?(?:县|市|区|镇)")


@dataclass
class Turn:
    """How to answer one chat question."""

    question: str  # what to search and answer: the question as understood
    #: the n-th item of the previous answer's list (1-based; LAST, counted from the end, for the last)
    item: int | None = None
    #: what the ordinal counts, when it says ("转型" in "第三个转型是怎么说的"): the word a list
    #: written without numbers repeats in every item
    counted: str | None = None


#: ``Turn.item`` of "最后一项是什么？"
LAST = -1


#: the word an ordinal counts, right after it ("第三个转型是…", "第三个“通”是啥", "最后一个评是谁评谁")
_COUNTED = re.compile(r"^[“\"]?(?P<noun>[\u4e00-\u9fff]{1,4}?)[”\"]?(?=是|呢|具体|讲|说|指|怎|什么|啥|的|$)")


def _ordinal(text: str) -> tuple[int, str | None] | None:
    """The item an ordinal follow-up points at and the word it counts, None
    for any other question. A bare numeral ("二是什么？") only asks what the
    item is; a counted one ("第二件", "最后一项") may ask something of it
    ("第二件要求啥时候完成？")."""
    match = _ORDINAL.match(text)
    if match is None:
        return None
    rest = match.group("rest")
    if match.group("m"):
        asks = re.match(_ASKS_WHICH, rest) is not None
    else:
        asks = re.match(r"[\u4e00-\u9fff]{0,4}?" + _ASKS_WHICH, rest) is not None or (
            bool(match.group("counted") or match.group("first") or match.group("last"))
            and _OWN_ITEM_ASK.fullmatch(rest) is not None)
    if not asks:
        return None
    counted = _COUNTED.match(rest) if match.group("counted") else None
    noun = counted.group("noun") if counted else None
    if match.group("first"):
        return 1, noun
    if match.group("last"):
        return LAST, noun
    raw = match.group("n") or match.group("m")
    number = int(raw) if raw.isdigit() else cn_to_int(raw)
    return (number, noun) if number else None


def _core(topic: str) -> str:
    """A switched topic without the frame it carries (在…方面)."""
    previous = None
    while previous != topic:
        previous, topic = topic, _TOPIC_FRAME.sub("", topic).strip()
    return topic


def _swap(previous: str, topic: str) -> str | None:
    """The previous question with the topic that ``topic`` replaces swapped
    for it: a designator for one of its kind (2019年 for 2024年, 篇一 for
    篇十四); else the phrase ending in the word both share (中职学生 for
    高中困难学生); else the topic framed by 在…方面; else the main topic."""
    for kind in _DESIGNATORS:
        mine = kind.search(topic)
        found = kind.search(previous)
        if mine is None or found is None or mine.group() == found.group():
            continue
        rest = (topic[:mine.start()] + topic[mine.end():]).strip("的 ")
        if mine.group() == topic or (len(rest) <= 4 and rest in previous):  # 州级 for 省级, 初中教师 for 小学教师
            new = mine.group()
            if new[-1].isdigit() and found.group().endswith("年"):
                new += "年"
            return previous[:found.start()] + new + previous[found.end():]
    runs = topics(previous)
    if not runs:
        return None
    shared = [(_common_tail(topic, run), run) for run in runs]
    tail, run = max(shared, key=lambda pair: len(pair[0]))
    if len(tail) >= 2:
        old = run[:run.index(tail) + len(tail)]
    else:
        framed = re.search(r"在(.+?)方面", previous)
        old = framed.group(1) if framed and framed.group(1) in runs else max(runs, key=len)
    return previous.replace(old, topic, 1)


def _common_tail(topic: str, run: str) -> str:
    """The longest ending of ``topic`` that ``run`` holds: the word a new
    topic shares with the one it replaces (学生 in 中职学生 / 高中困难学生)."""
    for size in range(len(topic), 1, -1):
        if topic[-size:] in run:
            return topic[-size:]
    return ""


def _place(question: str, previous: str) -> str | None:
    """The follow-up with "该区" / "这个县" replaced by the place the previous question named."""
    match = _PLACE_REFERENCE.search(question)
    if match is None:
        return None
    place = next((p for p in _PLACE.findall(previous) if p.endswith(match.group("kind"))), None)
    return question[:match.start()] + place + question[match.end():] if place else None


def _points_back(question: str, reference: int, noun: int) -> bool:
    """Whether the demonstrative before ``noun`` points back to the previous
    turn: it can only point back (这个, 该, not a bare 那) and does not sum up
    a list of the question's own ("评先、晋级这些方面")."""
    clause = re.split(r"[，,。；;？?]", question[:reference])[-1]
    return _POINTS_BACK.search(question[:noun]) is not None and "、" not in clause and not clause.endswith("等")


def _dereference(question: str, previous: str) -> str | None:
    """The follow-up with its reference back replaced by the previous
    question's subject: its topics up to the last one naming the same noun
    (这个工程 -> 新城第四初中整体新建工程, 该校 -> 县职业中专创建示范校), or all
    of them (它 -> 株洲“教师培训超市”). A noun the previous question does not
    name ("那个板房学校" after a question on 清平泥石流) is kept after them;
    a place it does not name ("这个县") is the user's own (``_place``)."""
    runs = topics(previous)
    for match in _REFERENCE.finditer(question):
        noun, start = match.group("known"), match.start("known")
        if match.group("open"):  # any noun: the previous question must name it, or the reference must point back
            noun = next((match.group("open")[:k] for k in range(len(match.group("open")), 1, -1)
                         if match.group("open")[:k] in previous), None)
            start = match.start("open")
            if noun is None:
                if runs and _points_back(question, match.start(), start) and match.group("open")[0] not in "县市区镇省":
                    return question[:match.start()] + "".join(runs) + "的" + question[start:]
                continue
        holder = next((k for k in range(len(runs) - 1, -1, -1) if noun and noun in runs[k]), None)
        if holder is not None:
            subject = "".join(runs[:holder]) + runs[holder][:runs[holder].index(noun) + len(noun)]
        elif not runs or (noun and not _points_back(question, match.start(), start)):  # "那学校安全呢"
            continue
        else:
            subject = "".join(runs)
        if subject.count("“") > subject.count("”"):
            subject += "”"
        end = start + len(noun) if noun else match.end()
        return question[:match.start()] + subject + question[end:]
    return None


def resolve(question: str, history: list[str] | None) -> Turn:
    """The question to answer given the user's earlier questions (oldest first)."""
    text = question.strip()
    if not history:
        return Turn(text)
    previous = history[-1].strip()
    ordinal = _ordinal(text)
    if ordinal is not None:
        return Turn(previous, item=ordinal[0], counted=ordinal[1])
    switch = _SWITCH.match(text)
    if switch and not _OWN_ASK.search(switch.group("topic")):
        swapped = _swap(previous, _core(switch.group("topic")))
        if swapped:
            return Turn(swapped)
    if len(text) <= 30:
        dereferenced = _dereference(_place(text, previous) or text, previous) or _place(text, previous)
        if dereferenced:
            return Turn(dereferenced)
    asking = _SWITCH_ASKING.match(text)
    if asking and re.search(r"多少|几", previous):
        swapped = _swap(previous, _core(asking.group("topic") or asking.group("short")))
        if swapped:
            return Turn(swapped)
    carry = _CARRY_ON.match(text)
    if carry and len(text) <= 20:
        swapped = _swap(previous, _core(carry.group("topic")))
        if swapped:
            return Turn(swapped)
    return Turn(text)
