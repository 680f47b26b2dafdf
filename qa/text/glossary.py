"""Questions in words the reports never use: BM25 needs the reports' words.

- English: the dense side is multilingual and understands English by itself;
  BM25 does not. A curated glossary of policy vocabulary
  (data/glossary_en_zh.tsv) turns the English words of a query into the
  Chinese terms the reports use. General word-by-word dictionaries were
  measured not to help (docs/retrieval.md): they flood the query with senses
  the reports never use.
- Colloquial Chinese: a parent asks about 娃娃 and 乱收钱, the report says
  学生 and 乱收费. A second glossary (data/glossary_colloquial_zh.tsv, written
  from general knowledge of spoken and official usage, not from any question
  set) adds the official terms to the query's words; the question keeps its
  own words too, since many of them are the reports' already.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

_CJK = re.compile(r"[\u3400-\u9fff]")


def _entries(name: str) -> list[tuple[str, str]]:
    """A glossary file's ``phrase<TAB>terms`` lines."""
    text = (resources.files("qa.data") / name).read_text(encoding="utf-8")
    return [tuple(part.strip() for part in line.split("\t", 1))
            for line in text.splitlines() if line.strip() and not line.startswith("#") and "\t" in line]


@lru_cache(maxsize=1)
def glossary() -> list[tuple[str, str]]:
    """Entries longest phrase first, so "junior middle school" wins over "school"."""
    entries = [(_stem_phrase(english), chinese) for english, chinese in _entries("glossary_en_zh.tsv")]
    return sorted(entries, key=lambda e: -len(e[0]))


@lru_cache(maxsize=1)
def colloquial_glossary() -> list[tuple[str, str]]:
    """Entries longest phrase first, so 乱收钱 wins over 收钱."""
    return sorted(_entries("glossary_colloquial_zh.tsv"), key=lambda e: -len(e[0]))


#: the reports' own words are looked for in at most this many characters of
#: them, an even sample of a larger corpus: 0.35 s for NCP's 2006 chunks, and a
#: word the reports use is in any sample of them
USAGE_SAMPLE_CHARS = 2_000_000


def glossary_version() -> str:
    """A digest of the colloquial glossary, stored with the phrases an index
    uses, so an index built with another glossary is looked at again."""
    text = (resources.files("qa.data") / "glossary_colloquial_zh.tsv").read_bytes()
    return hashlib.sha256(text).hexdigest()[:16]


def used_phrases(texts: Sequence[str], limit: int = USAGE_SAMPLE_CHARS) -> list[str]:
    """The colloquial glossary's phrases that ``texts`` (a corpus, sampled
    evenly beyond ``limit`` characters) use. Only the others are translated:
    a word the reports use themselves is already theirs (补贴 and 食堂 in a
    health notice, 老师 in a school report)."""
    total = sum(len(text) for text in texts)
    step = max(1, -(-total // limit))
    corpus = "\n".join(texts[::step])
    return sorted(phrase for phrase, _ in colloquial_glossary() if phrase in corpus)


def foreign_phrases(used: Iterable[str]) -> frozenset[str]:
    """The glossary's phrases outside ``used``: the ones to translate."""
    return frozenset(phrase for phrase, _ in colloquial_glossary()) - set(used)


def _colloquial(query: str, phrases: frozenset[str] | None) -> list[tuple[str, str]]:
    """The glossary entries a query uses, longest first, each phrase once
    (乱收钱 consumes 收钱); ``phrases`` limits them (``foreign_phrases``)."""
    found, text = [], query
    for phrase, official in colloquial_glossary():
        if phrase in text and (phrases is None or phrase in phrases):
            found.append((phrase, official))
            text = text.replace(phrase, " ")
    return found


def expand_colloquial(query: str, phrases: frozenset[str] | None = None) -> str:
    """The reports' terms for the colloquial phrases of a Chinese query,
    leaving out those the query has already (empty when none is found)."""
    terms = [t for _, official in _colloquial(query, phrases) for t in official.split() if t not in query]
    return " ".join(dict.fromkeys(terms))


def colloquial_share(query: str, phrases: frozenset[str] | None = None) -> float:
    """How much of a query is colloquial phrases (their share of its
    characters): the answer signals of such a question read differently."""
    return sum(len(phrase) for phrase, _ in _colloquial(query, phrases)) / max(1, len(query.strip()))


def in_official_words(query: str, phrases: frozenset[str] | None = None) -> str:
    """A Chinese query with each colloquial phrase replaced by the reports'
    most usual term for it: the words a sentence that answers it would use."""
    for phrase, official in _colloquial(query, phrases):
        query = query.replace(phrase, f" {official.split()[0]} ")
    return query


def lexical_query(query: str, phrases: frozenset[str] | None = None) -> str:
    """What BM25 reads for a query: an English query's glossary terms, or a
    Chinese query with its colloquial phrases' terms added."""
    if is_english(query):
        return expand_english(query)
    extra = expand_colloquial(query, phrases)
    return f"{query} {extra}" if extra else query


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
    (empty when none is found: BM25 then stays out of the fusion).

    >>> "教师" in expand_english("How are teachers exchanged between schools?")
    True
    """
    text = f" {_stem_phrase(query)} "
    terms: list[str] = numbered_schools(query)
    for english, chinese in glossary():
        needle = f" {english} "
        if needle in text:
            terms.extend(chinese.split())
            text = text.replace(needle, " ")
    return " ".join(dict.fromkeys(terms))
