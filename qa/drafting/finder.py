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
import weakref
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

import numpy as np

from qa.index.local import LocalIndex
from qa.index.protocol import Filter
from qa.drafting.draft import Draft, DraftError, Sentence
from qa.text.fold import fold_chars
from qa.text.ngrams import containment, ngram_set
from qa.text.sentences import vector_sentences

logger = logging.getLogger(__name__)

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


def fingerprint(text: str) -> str:
    """A hash of the folded word characters: equal for the same text in other
    punctuation, widths or line breaks."""
    return hashlib.sha1(fold_chars(text)[0].encode("utf-8")).hexdigest()


def reuse_mark(reuse: float) -> str:
    """The readable mark of a reuse score: 沿用 (reused), 部分 (partly), 新 (new wording)."""
    return "沿用" if reuse >= REUSED else "部分" if reuse >= PARTIAL else "新"


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
            local = vector_sentences(chunk.text)
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
        return range(start, start + len(vector_sentences(self.index.chunk_at(i).text)))

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
            folded, _ = fold_chars(self.text(row))
            entry = (folded, ngram_set(folded, REUSE_GRAM))
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
        folded, _ = fold_chars(sentence.text)
        mine = ngram_set(folded, REUSE_GRAM)
        found: list[Precedent] = []
        for row in candidates:
            other, other_grams = table.folded(row)
            cosine = float(table.vectors[row] @ query)
            found.append(table.precedent(row, cosine, containment(folded, other_grams, other, REUSE_GRAM, mine)))
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
