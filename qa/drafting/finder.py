"""Drafting assistant: a whole draft in, the precedent of every sentence out.

A research office writing next year's report wants, for each planned measure,
how earlier reports put it. The draft is read and cleaned like a corpus file,
cut into paragraphs (its lines) and sentences, and every sentence is matched
against the *sentences* of the indexed reports, from two sides:

* dense: a batch of draft sentences is encoded in one model pass and
  multiplied against the sentence vectors the index already keeps for the
  reranker (``LocalIndex.sentence_matrices``): one matrix product per batch;
* lexical: BM25 over the chunks with the sentence as the query; every sentence
  of the best chunks joins the candidates, so a sentence copied verbatim is
  found even when near-paraphrases crowd its vector neighbourhood.

Each candidate gets ``reuse``: the share of the draft sentence's character
``REUSE_GRAM``-grams that the candidate also holds (n-gram containment over
text folded for width, case and traditional -> simplified, punctuation and
spaces ignored).
It tells a sentence copied from last year apart from one that treats the same
topic in new words. Candidates rank by ``(cosine + reuse) / 2``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import unicodedata
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from qa.index.local import LocalIndex
from qa.index.protocol import Filter
from qa.ingest.cleaning import clean_text
from qa.ingest.loading import LoadError, decode_bytes, read_file
from qa.text.sentences import sentence_units
from qa.text.sentences import vector_sentences as chunk_sentences
from qa.text.simplify import to_simplified

logger = logging.getLogger(__name__)

#: drafts longer than this (cleaned characters) are refused: ~6,000 sentences, minutes of encoding
MAX_DRAFT_CHARS = 200_000
#: a "sentence" longer than this (no sentence marks) is cut at clause marks
MAX_SENTENCE_CHARS = 300
DRAFT_SUFFIXES = (".txt", ".md", ".markdown", ".docx")
#: character n-gram width of the reuse measure (6 Chinese characters: two to three words); 5 marked
#: short sentences sharing one set phrase as reused (docs/drafting.md)
REUSE_GRAM = 6
#: reuse at or above which a sentence is marked as reused from its precedent
REUSED = 0.5
#: reuse at or above which it is marked as partly reused
PARTIAL = 0.2
#: candidates per sentence: nearest sentence vectors, and best BM25 chunks (all their sentences)
DENSE_CANDIDATES = 30
LEXICAL_CHUNKS = 10
#: draft sentences encoded and searched together; memory stays bounded by one batch
BATCH = 128

_WORD = re.compile(r"[\w\u3400-\u9fff]")
_NON_WORD = re.compile(r"[^\w\u3400-\u9fff]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class DraftError(ValueError):
    """A draft that cannot be processed; the message says why."""


# --------------------------------------------------------------------------- folding and reuse

def fold(text: str) -> tuple[str, list[int]]:
    """Word characters of ``text`` folded for matching (width, case,
    traditional -> simplified), with each one's offset in ``text``. Only for
    comparing: stored and quoted text keeps its own forms."""
    chars, positions = [], []
    for i, ch in enumerate(text):
        for f in unicodedata.normalize("NFKC", ch).lower():
            if _WORD.match(f):
                chars.append(f)
                positions.append(i)
    folded = "".join(chars)
    simplified = to_simplified(folded)
    return (simplified if len(simplified) == len(folded) else folded), positions


def fingerprint(text: str) -> str:
    """A hash of the folded word characters: equal for the same text in other
    punctuation, widths or line breaks."""
    folded = _NON_WORD.sub("", to_simplified(unicodedata.normalize("NFKC", text)).lower())
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()


def grams(folded: str, n: int = REUSE_GRAM) -> frozenset[str]:
    return frozenset(folded[i:i + n] for i in range(len(folded) - n + 1)) if len(folded) >= n else frozenset({folded})


def covered(folded: str, other: frozenset[str], other_text: str, n: int = REUSE_GRAM) -> bytearray:
    """Per folded character of ``folded``: 1 when it lies in an n-gram of ``other``
    (a text shorter than n counts when it occurs in ``other_text`` whole)."""
    marks = bytearray(len(folded))
    if len(folded) < n:
        if folded and folded in other_text:
            marks[:] = b"\x01" * len(folded)
        return marks
    for i in range(len(folded) - n + 1):
        if folded[i:i + n] in other:
            marks[i:i + n] = b"\x01" * n
    return marks


def reuse_score(folded: str, other: frozenset[str], other_text: str, mine: frozenset[str] | None = None) -> float:
    """n-gram containment: the share of ``folded``'s distinct n-grams (``mine``,
    when already at hand) that ``other`` holds; a text shorter than n scores 1
    when it occurs in ``other_text``."""
    if len(folded) < REUSE_GRAM:
        return 1.0 if folded and folded in other_text else 0.0
    mine = mine if mine is not None else grams(folded)
    return len(mine & other) / len(mine)


def shared_spans(text: str, other: str) -> list[tuple[int, int]]:
    """Spans of ``text`` (original offsets) worded like ``other``: runs of
    folded characters inside shared n-grams, for highlighting."""
    folded, positions = fold(text)
    other_folded, _ = fold(other)
    marks = covered(folded, grams(other_folded), other_folded)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(marks):
        if not marks[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(marks) and marks[j + 1]:
            j += 1
        spans.append((positions[i], positions[j] + 1))
        i = j + 1
    return spans


def reuse_mark(reuse: float) -> str:
    """The readable mark of a reuse score: 沿用 (reused), 部分 (partly), 新 (new wording)."""
    return "沿用" if reuse >= REUSED else "部分" if reuse >= PARTIAL else "新"


# --------------------------------------------------------------------------- the draft

@dataclass
class Sentence:
    """One sentence of the draft: ``text == draft.text[start:end]``."""

    n: int
    paragraph: int
    start: int
    end: int
    text: str


@dataclass
class Draft:
    """A cleaned draft (offsets index into ``text``) and its sentences."""

    text: str
    sentences: list[Sentence]

    @property
    def paragraphs(self) -> int:
        return self.sentences[-1].paragraph if self.sentences else 0


def read_draft(path: str | Path) -> str:
    """The raw text of a draft file (.txt/.md/.docx), or of stdin for ``-``."""
    if str(path) == "-":
        try:
            return decode_bytes(sys.stdin.buffer.read(), "<stdin>")
        except LoadError as exc:
            raise DraftError(f"draft {exc}") from exc
    path = Path(path)
    if path.suffix.lower() not in DRAFT_SUFFIXES:
        raise DraftError(f"{path}: unsupported draft type '{path.suffix}' (use {', '.join(DRAFT_SUFFIXES)} or - for stdin)")
    if not path.is_file():
        raise DraftError(f"{path}: no such file")
    try:
        return read_file(path)[0].text
    except LoadError as exc:
        raise DraftError(f"draft {exc}") from exc


def prepare_draft(raw: str, limit: int = MAX_DRAFT_CHARS) -> Draft:
    """Clean a draft like a corpus file and cut it into paragraphs and sentences.
    Empty or binary input and drafts over ``limit`` characters are refused."""
    if len(raw) > 2 * limit:  # refuse before cleaning a huge paste
        raise DraftError(f"the draft has {len(raw):,} characters; the limit is {limit:,} (split it into parts)")
    if len(_CONTROL.findall(raw[:65536])) > max(1, len(raw[:65536]) // 100):
        raise DraftError("the draft looks like binary data, not text")
    text = clean_text(raw)
    if not _WORD.search(text):
        raise DraftError("the draft is empty: it has no words to look up")
    if len(text) > limit:
        raise DraftError(f"the draft has {len(text):,} characters; the limit is {limit:,} (split it into parts)")
    sentences: list[Sentence] = []
    cursor = 0
    for paragraph, line in enumerate(text.split("\n"), 1):
        line_start, cursor = cursor, cursor + len(line) + 1
        for a, b in sentence_units(text, line_start, line_start + len(line), MAX_SENTENCE_CHARS):
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if _WORD.search(text, a, b):
                sentences.append(Sentence(len(sentences) + 1, paragraph, a, b, text[a:b]))
    return Draft(text, sentences)


# --------------------------------------------------------------------------- precedents

@dataclass
class Precedent:
    """A sentence of an indexed report that precedes a draft sentence;
    ``text == document[start:end]``."""

    rank: int
    score: float
    reuse: float
    cosine: float
    doc_id: str
    title: str
    year: int | None
    section: list[str]
    source: str
    start: int
    end: int
    text: str

    @property
    def citation(self) -> str:
        """``《标题》 一、… > （三）…``"""
        path = " > ".join(s for s in self.section if s)
        return f"《{self.title}》" + (f" {path}" if path else "")

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape (README: fields are added, never renamed)."""
        return {"rank": self.rank, "score": round(self.score, 4), "reuse": round(self.reuse, 4),
                "cosine": round(self.cosine, 4), "doc_id": self.doc_id, "title": self.title, "year": self.year,
                "section": self.section, "source": self.source, "start": self.start, "end": self.end,
                "text": self.text, "citation": self.citation}


@dataclass
class SentenceResult:
    """A draft sentence with its precedents, best first."""

    sentence: Sentence
    precedents: list[Precedent] = field(default_factory=list)

    @property
    def reuse(self) -> float:
        return max((p.reuse for p in self.precedents), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        s = self.sentence
        return {"n": s.n, "paragraph": s.paragraph, "text": s.text, "start": s.start, "end": s.end,
                "precedents": [p.to_dict() for p in self.precedents]}


def _year(chunk) -> int | None:
    try:
        return int(chunk.meta.get("year"))
    except (TypeError, ValueError):
        return None


class SentenceTable:
    """Every indexed sentence as one row: its vector (stacked into one matrix),
    chunk and span; plus a fingerprint per document to spot a draft that is
    itself in the corpus. Built once per loaded index version."""

    def __init__(self, index: LocalIndex):
        self.index = index
        matrices, chunk_ids, spans, first = [], [], [], {}
        texts: dict[str, list[tuple[int, str]]] = {}
        titles: dict[str, str] = {}
        for i, chunk, matrix in index.sentence_matrices():
            local = chunk_sentences(chunk.text)
            if len(local) != len(matrix):
                raise DraftError(f"chunk {chunk.chunk_id}: {len(matrix)} sentence vectors for {len(local)} "
                                 "sentences; rebuild the index (python -m qa build --rebuild)")
            first[i] = sum(len(m) for m in matrices)
            matrices.append(matrix)
            chunk_ids.extend([i] * len(local))
            spans.extend(local)
            texts.setdefault(chunk.doc_id, []).append((chunk.start, chunk.text))
            titles[chunk.doc_id] = chunk.title
        if not matrices:
            raise DraftError("the index keeps no sentence vectors (a Milvus index, or one of more than "
                             f"{index.sentence_limit:,} chunks); drafting needs a local index that has them")
        self.vectors = np.ascontiguousarray(np.concatenate(matrices), dtype="float32")
        self.chunk_ids = np.asarray(chunk_ids, dtype="int64")
        self.spans = np.asarray(spans, dtype="int64")
        self.first = first  # internal chunk id -> its first row
        self._grams: dict[int, tuple[str, frozenset[str]]] = {}
        self._subsets: dict[Filter | None, tuple[np.ndarray, np.ndarray]] = {}
        self.fingerprints: dict[str, set[str]] = {}
        for doc_id, parts in texts.items():
            whole = "".join(t for _, t in sorted(parts))
            title = titles[doc_id]
            prints = {fingerprint(whole)}
            if whole.startswith(title):
                prints.add(fingerprint(whole[len(title):]))
            self.fingerprints[doc_id] = prints

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def rows_of_chunk(self, i: int) -> range:
        start = self.first[i]
        return range(start, start + len(chunk_sentences(self.index.chunk_at(i).text)))

    def subset(self, where: Filter | None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, their vectors) a filter lets through; cached for a few filters."""
        cached = self._subsets.get(where)
        if cached is None:
            allowed = self.index.allowed_ids(where)
            rows = np.arange(len(self)) if allowed is None else np.flatnonzero(np.isin(self.chunk_ids, allowed))
            cached = (rows, self.vectors if allowed is None else self.vectors[rows])
            if len(self._subsets) >= 4:
                self._subsets.clear()
            self._subsets[where] = cached
        return cached

    def text(self, row: int) -> str:
        a, b = self.spans[row]
        return self.index.chunk_at(int(self.chunk_ids[row])).text[a:b]

    def folded(self, row: int) -> tuple[str, frozenset[str]]:
        entry = self._grams.get(row)
        if entry is None:
            folded, _ = fold(self.text(row))
            entry = (folded, grams(folded))
            if len(self._grams) > 200_000:
                self._grams.clear()
            self._grams[row] = entry
        return entry

    def precedent(self, row: int, cosine: float, reuse: float) -> Precedent:
        chunk = self.index.chunk_at(int(self.chunk_ids[row]))
        a, b = (int(x) for x in self.spans[row])
        return Precedent(0, (cosine + reuse) / 2, reuse, cosine, chunk.doc_id, chunk.title, _year(chunk),
                         chunk.section_at(chunk.start + a), chunk.source, chunk.start + a, chunk.start + b, chunk.text[a:b])


_tables: "weakref.WeakKeyDictionary[LocalIndex, SentenceTable]" = weakref.WeakKeyDictionary()


def sentence_table(index: Any) -> SentenceTable:
    if not isinstance(index, LocalIndex):
        raise DraftError("drafting needs the local index backend (it keeps sentence vectors); "
                         "this index is a Milvus one")
    table = _tables.get(index)
    if table is None:
        table = _tables[index] = SentenceTable(index)
    return table


Progress = Callable[[int, int], None]


class DraftFinder:
    """Precedents for every sentence of a draft, over one searcher's model and index."""

    def __init__(self, searcher: Any):
        self.searcher = searcher
        self.index = searcher.index  # one consistent version for the whole draft
        self.table = sentence_table(self.index)

    def documents_matching(self, draft: Draft) -> set[str]:
        """Documents whose whole text is the draft's (up to punctuation, widths and the title line)."""
        mine = fingerprint(draft.text)
        return {doc_id for doc_id, prints in self.table.fingerprints.items() if mine in prints}

    def scope(self, draft: Draft, where: Filter | None = None, exclude_self: bool = True) -> Filter | None:
        """The filter for this draft: ``where`` minus the documents the draft is a copy of."""
        mine = self.documents_matching(draft) if exclude_self else set()
        if mine:
            logger.info("the draft is the text of %s: excluded from its precedents", ", ".join(sorted(mine)))
            where = replace(where or Filter(), exclude_doc_ids=frozenset(mine | set((where and where.exclude_doc_ids) or ())))
        return where

    def find(self, draft: Draft, top_k: int = 3, where: Filter | None = None, exclude_self: bool = True,
             progress: Progress | None = None, batch: int = BATCH) -> Iterator[SentenceResult]:
        """Yields every sentence with its ``top_k`` precedents, in draft order,
        one encoded batch at a time (memory bounded by one batch)."""
        where = self.scope(draft, where, exclude_self)
        rows, vectors = self.table.subset(where)
        total = len(draft.sentences)
        if progress:
            progress(0, total)
        for b in range(0, total, batch):
            part = draft.sentences[b:b + batch]
            queries = self.searcher.embedder.encode_documents([s.text for s in part])  # same prompt as stored sentences
            sims = queries @ vectors.T if len(rows) else np.zeros((len(part), 0), dtype="float32")
            for k, sentence in enumerate(part):
                yield SentenceResult(sentence, self._precedents(sentence, queries[k], sims[k], rows, where, top_k))
            if progress:
                progress(min(total, b + batch), total)

    def _precedents(self, sentence: Sentence, query: np.ndarray, sims: np.ndarray, rows: np.ndarray,
                    where: Filter | None, top_k: int) -> list[Precedent]:
        table = self.table
        candidates: set[int] = set()
        if len(rows):
            near = np.argpartition(-sims, min(DENSE_CANDIDATES, len(rows) - 1))[:DENSE_CANDIDATES]
            candidates.update(int(rows[j]) for j in near)
        for chunk_id, _ in self.index.search_bm25(sentence.text, LEXICAL_CHUNKS, where):
            candidates.update(table.rows_of_chunk(chunk_id))
        folded, _ = fold(sentence.text)
        mine = grams(folded)
        found: list[Precedent] = []
        for row in candidates:
            other, other_grams = table.folded(row)
            cosine = float(table.vectors[row] @ query)
            found.append(table.precedent(row, cosine, reuse_score(folded, other_grams, other, mine)))
        found.sort(key=lambda p: (-p.score, p.doc_id, p.start))
        out: list[Precedent] = []
        seen: set[tuple[str, str]] = set()
        for p in found:
            if (p.doc_id, p.text) in seen:
                continue
            seen.add((p.doc_id, p.text))
            p.rank = len(out) + 1
            out.append(p)
            if len(out) == top_k:
                break
        return out


def format_result(result: SentenceResult) -> str:
    """Readable lines for one sentence: its mark and text, then its best precedent."""
    s = result.sentence
    lines = [f"  [{s.n}] {reuse_mark(result.reuse)} {result.reuse:.2f}  {s.text}"]
    if result.precedents:
        p = result.precedents[0]
        lines.append(f"        ← {p.citation}" + (f" ({p.year})" if p.year else "") + f"：“{p.text}”")
    else:
        lines.append("        ← (no precedent)")
    return "\n".join(lines)
