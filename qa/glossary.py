"""English questions over Chinese reports: BM25 needs Chinese words.

The dense side is multilingual and understands English by itself; BM25 does
not. A curated glossary of policy vocabulary (data/glossary_en_zh.tsv) turns
the English words of a query into the Chinese terms the reports use. General
word-by-word dictionaries were measured not to help (docs/retrieval.md): they
flood the query with senses the reports never use.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_CJK = re.compile(r"[\u3400-\u9fff]")


@lru_cache(maxsize=1)
def glossary() -> list[tuple[str, str]]:
    """Entries longest phrase first, so "junior middle school" wins over "school"."""
    entries = []
    text = (resources.files("qa.data") / "glossary_en_zh.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#") and "\t" in line:
            english, chinese = line.split("\t", 1)
            entries.append((_stem_phrase(english), chinese.strip()))
    return sorted(entries, key=lambda e: -len(e[0]))


def _stem(word: str) -> str:
    """A crude suffix strip, applied alike to glossary and query words, so
    "invested", "kindergartens", "relocating" meet "invest", "kindergarten",
    "relocate" without a full English lemmatiser."""
    for suffix in ("ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _stem_phrase(text: str) -> str:
    return " ".join(_stem(w) for w in re.sub(r"[^a-z0-9\-]+", " ", text.lower()).split())


def is_english(query: str) -> bool:
    return not _CJK.search(query) and bool(re.search(r"[A-Za-z]{2,}", query))


_CN_DIGITS = "零一二三四五六七八九十"
_NUMBERED_SCHOOL = re.compile(r"no\.?\s*(\d{1,2})\s+(?:junior\s+|senior\s+)?(middle|high|primary)\s+school", re.I)


def numbered_schools(query: str) -> list[str]:
    """"No. 1 middle school" is 一中 / 第一中学, "No. 2 primary school" 二小:
    Chinese names numbered schools by a numeral and one character."""
    terms = []
    for number, level in _NUMBERED_SCHOOL.findall(query):
        n = int(number)
        if not 1 <= n <= 10:
            continue
        numeral = _CN_DIGITS[n]
        terms += [f"{numeral}小", f"第{numeral}小学"] if level.lower() == "primary" else [f"{numeral}中", f"第{numeral}中学"]
    return terms


def expand_english(query: str) -> str:
    """Chinese terms for the glossary phrases found in an English query
    (empty when none is found: BM25 then stays out of the fusion)."""
    text = f" {_stem_phrase(query)} "
    terms: list[str] = numbered_schools(query)
    for english, chinese in glossary():
        needle = f" {english} "
        if needle in text:
            terms.extend(chinese.split())
            text = text.replace(needle, " ")
    return " ".join(dict.fromkeys(terms))
