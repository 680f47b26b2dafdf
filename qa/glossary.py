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
            entries.append((english.strip().lower(), chinese.strip()))
    return sorted(entries, key=lambda e: -len(e[0]))


def is_english(query: str) -> bool:
    return not _CJK.search(query) and bool(re.search(r"[A-Za-z]{2,}", query))


def expand_english(query: str) -> str:
    """Chinese terms for the glossary phrases found in an English query
    (empty when none is found: BM25 then stays out of the fusion)."""
    text = " " + re.sub(r"[^a-z0-9\-]+", " ", query.lower()) + " "
    terms: list[str] = []
    for english, chinese in glossary():
        needle = f" {english} "
        if needle in text:
            terms.extend(chinese.split())
            text = text.replace(needle, " ")
    return " ".join(dict.fromkeys(terms))
