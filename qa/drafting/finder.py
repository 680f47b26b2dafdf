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
import math
import weakref
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from qa.index.local import LocalIndex
from qa.index.protocol import Filter
from qa.drafting.draft import Draft, DraftError, Sentence
from qa.text.fold import fold_chars
from qa.text.ngrams import containment, ngram_set
from qa.text.sentences import vector_sentences
from qa.text.tokenize import tokenize

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


def background(sims: np.ndarray) -> tuple[float, float, float]:
    """A draft sentence's similarity to the indexed sentences in scope, summed
    up (NaN entries skipped): mean, spread and the candidate pool's floor (the
    ``DENSE_CANDIDATES``-th highest). e5 puts any two policy sentences at a
    cosine of ~0.9; what tells a precedent apart is how far it stands out of
    this background (bench/bench_drafting_calibration.py)."""
    valid = sims[~np.isnan(sims)] if sims.dtype.kind == "f" else sims
    if not len(valid):
        return 0.0, 1.0, 0.0
    k = min(DENSE_CANDIDATES, len(valid)) - 1
    floor = float(np.partition(valid, len(valid) - 1 - k)[len(valid) - 1 - k])
    return float(valid.mean()), float(valid.std()) or 1.0, floor


def word_coverage(words: dict[str, float], other: set[str]) -> float:
    """The share of a sentence's word weight (``words``: its tokens with their
    idf) that ``other`` (another sentence's tokens) holds: 1.0 when every
    word, weighted by how rare it is in the index, is there too."""
    total = sum(words.values())
    return sum(w for t, w in words.items() if t in other) / total if total else 0.0


#: P(the precedent states the same measure or fact) = 1 / (1 + exp(-(MARGIN m + COVERAGE c + BIAS))), m: its
#: cosine minus the candidate pool's floor (``background``: how far it stands out of what any sentence gets),
#: c: ``word_coverage``. Fitted on the 126 hand-labelled pairs of tests/data/drafting/relevance_pairs.jsonl by
#: bench/bench_drafting_calibration.py (bench/results/drafting-calibration.md: 5-fold AUC 0.84, Brier 0.168,
#: against the raw cosine's AUC 0.63)
RELEVANCE_MARGIN, RELEVANCE_COVERAGE, RELEVANCE_BIAS = 84.4348, 7.7038, -2.9228


def relevance(margin: float, coverage: float) -> float:
    """The calibrated chance that a precedent states the same measure or fact as the draft sentence."""
    x = RELEVANCE_MARGIN * margin + RELEVANCE_COVERAGE * coverage + RELEVANCE_BIAS
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, x))))


def relevance_mark(p: float) -> str:
    """How the tab names it: 很可能同一事项 (likely the same measure), 可能相关, 关联弱. A chance, not
    a verdict: at 0.87 about one precedent in eight is still on another point (the fit's calibration)."""
    return "很可能同一事项" if p >= SAME_MEASURE else "可能相关" if p >= NEAR_TOPIC else "关联弱"


#: relevance at or above which a precedent is named 很可能同一事项 / 可能相关
SAME_MEASURE, NEAR_TOPIC = 0.7, 0.4


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
    region: str | None = None
    #: the calibrated chance that it states the same measure or fact (``relevance``): what the tab shows,
    #: not the cosine, which e5 puts near 0.9 for any two policy sentences
    relevance: float = 0.0
    #: its row in the sentence table (not part of the JSON)
    row: int = field(default=-1, repr=False)

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
                "text": self.text, "citation": self.citation, "region": self.region,
                "relevance": round(self.relevance, 4), "relevance_mark": relevance_mark(self.relevance)}


@dataclass
class SentenceResult:
    """A draft sentence with its precedents, best first."""

    sentence: Sentence
    precedents: list[Precedent] = field(default_factory=list)

    @property
    def reuse(self) -> float:
        return max((p.reuse for p in self.precedents), default=0.0)

    @property
    def mark(self) -> str:
        """沿用 / 部分 / 新, or 标题 for a heading or the title line, whose wording is never counted as reused."""
        return reuse_mark(self.reuse) if self.sentence.kind == "sentence" else "标题"

    def to_dict(self) -> dict[str, Any]:
        s = self.sentence
        return {"n": s.n, "paragraph": s.paragraph, "text": s.text, "start": s.start, "end": s.end,
                "precedents": [p.to_dict() for p in self.precedents], "kind": s.kind, "mark": self.mark}


class SentenceTable:
    """Every indexed sentence as one row: its vector (stacked into one matrix),
    chunk and span; plus a fingerprint per document to spot a draft that is
    itself in the corpus. Built once per loaded index version."""

    def __init__(self, index: LocalIndex):
        self.index = index
        matrices, chunk_ids, spans, first, title_rows = [], [], [], {}, []
        texts: dict[str, list[tuple[int, str]]] = {}
        titles: dict[str, str] = {}
        self.years: dict[str, int | None] = {}
        for i, chunk, matrix in index.sentence_matrices():
            local = vector_sentences(chunk.text)
            if len(local) != len(matrix):
                raise DraftError(f"chunk {chunk.chunk_id}: {len(matrix)} sentence vectors for {len(local)} "
                                 "sentences; rebuild the index (python -m qa build --rebuild)")
            first[i] = sum(len(m) for m in matrices)
            if chunk.start == 0 and chunk.text[slice(*local[0])].strip() == chunk.title.strip():
                title_rows.append(first[i])  # the report's title line: never a precedent (issue 26)
            matrices.append(matrix)
            chunk_ids.extend([i] * len(local))
            spans.extend(local)
            texts.setdefault(chunk.doc_id, []).append((chunk.start, chunk.text))
            titles[chunk.doc_id] = chunk.title
            self.years[chunk.doc_id] = chunk.year
        if not matrices:
            raise DraftError("the index keeps no sentence vectors (a Milvus index, or one of more than "
                             f"{index.sentence_limit:,} chunks); drafting needs a local index that has them")
        self.vectors = np.ascontiguousarray(np.concatenate(matrices), dtype="float32")
        self.chunk_ids = np.asarray(chunk_ids, dtype="int64")
        self.spans = np.asarray(spans, dtype="int64")
        self.first = first  # internal chunk id -> its first row
        self.is_title = np.zeros(len(self.chunk_ids), dtype=bool)
        self.is_title[title_rows] = True
        self._grams: dict[int, tuple[str, frozenset[str]]] = {}
        self._words: dict[int, set[str]] = {}
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

    def words(self, row: int) -> set[str]:
        """The sentence's search tokens (cached like its n-grams)."""
        entry = self._words.get(row)
        if entry is None:
            if len(self._words) > 200_000:
                self._words.clear()
            entry = self._words[row] = set(tokenize(self.text(row)))
        return entry

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
        while a < b and chunk.text[a].isspace():  # a sentence cut at a line end keeps no line break
            a += 1
        while b > a and chunk.text[b - 1].isspace():
            b -= 1
        return Precedent(0, (cosine + reuse) / 2, reuse, cosine, chunk.doc_id, chunk.title, chunk.year,
                         chunk.section_at(chunk.start + a), chunk.source, chunk.start + a, chunk.start + b,
                         chunk.text[a:b], chunk.region, row=row)


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


def precedent_filter(before_year: int | None = None, doc_ids: Iterable[str] | None = None,
                     exclude_ids: Iterable[str] | None = None) -> Filter | None:
    """The scope of a draft's precedents: reports dated before ``before_year``
    (and the ones that name no year: a template dated "20xx年" may well be
    earlier, so it is kept, shown without a year and counted in ``Scope.note``),
    only / never these documents; None for the whole index."""
    where = Filter(doc_ids=frozenset(d for d in doc_ids or () if d) or None, before_year=before_year,
                   exclude_doc_ids=frozenset(d for d in exclude_ids or () if d) or None,
                   undated=before_year is not None)
    return where if where else None


@dataclass
class Scope:
    """What a draft's filter leaves of the indexed reports, so nothing is excluded silently."""

    documents: int  # indexed
    searched: int  # left to cite
    before_year: int | None = None
    later: int = 0  # dated in or after ``before_year``: excluded
    undated: int = 0  # naming no year: kept under ``before_year``
    itself: list[str] = field(default_factory=list)  # the draft is the text of these: excluded

    def note(self) -> str:
        """One line for the status bar and ``qa draft``'s stderr (Chinese, like every message a user sees)."""
        parts = [f"在 {self.searched} 篇报告中查找先例（共 {self.documents} 篇）"]
        if self.before_year is not None:
            parts.append(f"只看 {self.before_year} 年之前：排除 {self.later} 篇 {self.before_year} 年及以后的报告"
                         + (f"，保留 {self.undated} 篇未标年份的报告（无法判断年份，先例年份栏为空）" if self.undated else ""))
        if self.itself:
            parts.append(f"草稿本身即已收录的报告（{'、'.join(self.itself)}），不作为先例")
        return "；".join(parts) + "。"


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

    def scope(self, draft: Draft, where: Filter | None = None, exclude_self: bool = True,
              mine: set[str] | None = None) -> Filter | None:
        """The filter for this draft: ``where`` minus the documents the draft is a copy of
        (``mine``, when the caller has them already: fingerprinting reads the whole draft)."""
        if mine is None:
            mine = self.documents_matching(draft) if exclude_self else set()
        if mine:
            logger.info("the draft is the text of %s: excluded from its precedents", ", ".join(sorted(mine)))
            where = replace(where or Filter(), exclude_doc_ids=frozenset(mine | set((where and where.exclude_doc_ids) or ())))
        return where

    def summary(self, draft: Draft, where: Filter | None = None, exclude_self: bool = True) -> Scope:
        """How many reports ``where`` (as ``find`` applies it) leaves, excludes by year and keeps undated."""
        years = self.table.years
        matching = self.documents_matching(draft) if exclude_self else set()
        scoped = self.scope(draft, where, exclude_self, matching)
        allowed = self.index.allowed_ids(scoped)
        searched = len(years) if allowed is None else len({self.index.chunk_at(int(i)).doc_id for i in allowed})
        before = where.before_year if where else None
        later = sum(1 for y in years.values() if before is not None and y is not None and y >= before)
        undated = sum(1 for y in years.values() if y is None) if before is not None and where.undated else 0
        return Scope(len(years), searched, before, later, undated, sorted(matching))

    def find(self, draft: Draft, top_k: int = 3, where: Filter | None = None, exclude_self: bool = True,
             progress: Progress | None = None, batch: int = BATCH) -> Iterator[SentenceResult]:
        """Yields every sentence with its ``top_k`` precedents, in draft order,
        one encoded batch at a time (memory bounded by one batch)."""
        where = self.scope(draft, where, exclude_self)
        rows, vectors = self.table.subset(where)
        titles = self.table.is_title[rows]
        total = len(draft.sentences)
        if progress:
            progress(0, total)
        for b in range(0, total, batch):
            part = draft.sentences[b:b + batch]
            queries = self.searcher.embedder.encode_documents([s.text for s in part])  # same prompt as stored sentences
            sims = queries @ vectors.T if len(rows) else np.zeros((len(part), 0), dtype="float32")
            sims[:, titles] = -1.0  # a report's title line is no precedent
            for k, sentence in enumerate(part):
                if sentence.kind == "title":  # the draft's own title would only find other titles
                    yield SentenceResult(sentence, [])
                    continue
                found = self._precedents(sentence, queries[k], sims[k], rows, where, top_k)
                self._judge(sentence, found, background(sims[k][~titles]))
                yield SentenceResult(sentence, found)
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
            candidates.update(row for row in table.rows_of_chunk(chunk_id) if not table.is_title[row])
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

    def _judge(self, sentence: Sentence, found: list[Precedent], stats: tuple[float, float, float]) -> None:
        """Set each shown precedent's ``relevance`` from how far its cosine stands out of the
        sentence's candidate pool and how much of the sentence's (idf-weighted) words it holds."""
        if not found:
            return
        _, _, floor = stats
        words = self.index.idf(set(tokenize(sentence.text)))
        for p in found:
            p.relevance = relevance(p.cosine - floor, word_coverage(words, self.table.words(p.row)))


def format_result(result: SentenceResult) -> str:
    """Readable lines for one sentence: its mark and text, then its best precedent."""
    s = result.sentence
    lines = [f"  [{s.n}] {result.mark} {result.reuse:.2f}  {s.text}"]
    if result.precedents:
        p = result.precedents[0]
        lines.append(f"        ← {p.citation}" + (f" ({p.year})" if p.year else "") + f"：“{p.text}”")
    else:
        lines.append("        ← （标题行，不查找先例）" if s.kind == "title" else "        ← （没有找到先例）")
    return "\n".join(lines)
