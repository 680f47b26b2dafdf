"""A question's frame and its topics.

"这个县在学校安全方面采取了哪些措施？" is a frame (这个县 … 在 … 方面采取了哪些措施)
around a topic (学校安全). A follow-up swaps the topic and keeps the frame
(``qa.answer.followup``); a list answer must be about the topic, not merely
share the frame's words (``qa.answer.assistant``: "我们将在以下两方面采取措施："
does not answer a question about school safety).
"""

from __future__ import annotations

import re

from qa.text.ngrams import bigrams

#: what frames a question's topic without being it: place and time words, the ask, common verbs, function words
_FRAME = re.compile(r"这个(?:县|市|区|镇)|本(?:县|市|区)|全(?:县|市|区|省|国)|县里|市里|该(?:县|市|区)|今年|去年|"
                    r"上半年|下半年|采取了?|有哪些|哪几[所个项条]?|哪些|哪个|哪所|哪天|哪年|什么|如何|怎样|怎么样|怎么|"
                    r"多少|是否|有没有|是个|东西|怎么回事|回事|意思|哪儿|哪里|主要|具体|措施|举措|做法|情况|进展|要求|目标|内容|结果|成效|原因|"
                    r"开展|推进|进行|落实|加强|提升|提高|完善|做好|抓好|搞好|实施|促进|发展|建设|提出|提到|搞|发放?|给|"
                    r"里|在|方面|有|是|的|了|吗|呢|和|与|及|对|把|将|都|也|还|又|[？?，,。！!、：:；;\s]")

def topics(question: str) -> list[str]:
    """The runs of a question that are not its frame (place, time, ask): its topics.

    >>> topics("城区学校的教师交流措施有哪些？")
    ['城区学校', '教师交流']
    """
    return [run for run in _FRAME.split(question) if len(run) >= 2]


def topic_terms(question: str) -> set[str]:
    """Character bigrams of the question's topics (empty when it has none).

    >>> sorted(topic_terms("这个县在学校安全方面采取了哪些措施？"))
    ['学校', '安全', '校安']
    """
    return {b for run in topics(question) for b in bigrams(run)}
