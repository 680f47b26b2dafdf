"""The one tokenizer for BM25: jieba over normalised, simplified text.

Documents and queries must pass through the same function, or BM25 matches
nothing (bm25s' own splitter would keep a whole run of Chinese characters as
one token). A small policy-term dictionary keeps terms such as 控辍保学 or
两免一补 whole (``qa.jieba_dict``, which also spares a query the load of
jieba's dictionary); stopwords are bm25s' Chinese list plus English ones
(``qa/data/stopwords.txt``), so an English query keeps only its content words.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from qa.text.fold import normalize_text
from qa.text.jieba_dict import PolicyJieba

_KEEP = re.compile(r"[\w\u3400-\u9fff%]")


@lru_cache(maxsize=1)
def _jieba() -> PolicyJieba:
    return PolicyJieba()


def _stopwords() -> frozenset[str]:
    text = resources.files("qa.data").joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


STOPWORDS = _stopwords()


def tokenize(text: str, normalized: bool = False) -> list[str]:
    """Search-mode jieba tokens (words plus their sub-words), lower-cased,
    without punctuation and stopwords.

    >>> "教师" in tokenize("推进教師交流。")
    True
    """
    if not normalized:
        text = normalize_text(text)
    tokens = []
    for token in _jieba().cut_for_search(text.lower()):
        token = token.strip()
        if token and _KEEP.search(token) and token not in STOPWORDS:
            tokens.append(token)
    return tokens
