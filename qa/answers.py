"""Compose an answer only from retrieved passages, every statement cited.

The extractive answer (default, offline) picks sentences from the best
passages and keeps their original wording: a list question ("有哪些措施")
gathers the enumerated items (一是…二是…) of the passage that introduces
them; a fact question leads with the sentence holding the fact. Each
sentence or bullet ends with ``[n]``, and citation ``n`` is the exact span
``document.text[start:end]`` it quotes. When the best evidence is too weak the
answer says so instead of forcing one.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from qa.cleaning import normalize_text
from qa.glossary import expand_english, is_english
from qa.models import Answer, Chunk, Citation, Hit
from qa.outline import cn_to_int
from qa.retrieval import Searcher, normalize_query
from qa.settings import Settings

logger = logging.getLogger(__name__)

NOT_FOUND = "未在报告中找到与“{q}”直接相关的内容。以下是最接近的段落，供参考："
_LIST_QUESTION = re.compile(r"哪些|哪几|几项|几个方面|措施|举措|做法|办法|途径|what (measures|steps|actions)|which|list", re.I)
_SENTENCE = re.compile(r"[^。!?;\n]+[。!?;]*[”’」』]*")
_ITEM = re.compile(r"(?:[一二三四五六七八九十]{1,2}是|\d{1,2}[、.](?!\d)|\(\d{1,2}\)|\([一二三四五六七八九十]{1,2}\))")
_QUESTION_WORDS = re.compile(r"多少|什么|哪些|哪几|如何|怎么|怎样|是否|有没有|吗|呢|为什么|主要|情况|[?？]")


@dataclass
class Span:
    """A candidate statement: an exact slice of one chunk's document."""

    chunk: Chunk
    start: int  # offsets into the document text
    end: int
    text: str
    score: float = 0.0


def bigrams(text: str) -> set[str]:
    chars = re.sub(r"[^\w\u3400-\u9fff]", "", text.lower())
    return {chars[i:i + 2] for i in range(len(chars) - 1)}


def question_terms(question: str) -> set[str]:
    """Character bigrams of the question's content (question words removed);
    an English question contributes its glossary terms."""
    text = expand_english(question) if is_english(question) else _QUESTION_WORDS.sub(" ", question)
    return {b for part in text.split() for b in bigrams(part)}


def coverage(terms: set[str], text: str) -> float:
    return len(terms & bigrams(text)) / len(terms) if terms else 0.0


def sentences(chunk: Chunk) -> list[Span]:
    spans = []
    for match in _SENTENCE.finditer(chunk.text):
        text = match.group().strip()
        if len(re.sub(r"\W", "", text)) < 4:
            continue
        offset = match.start() + match.group().index(text)
        spans.append(Span(chunk, chunk.start + offset, chunk.start + offset + len(text), text))
    return spans


def _marker_kind_and_number(marker: str) -> tuple[str, int | None]:
    digits = re.sub(r"[^一二三四五六七八九十\d]", "", marker)
    return marker.replace(digits, "N", 1), cn_to_int(digits)


def enumeration_runs(text: str) -> list[list[re.Match]]:
    """Runs of consecutively numbered items of one kind (一是, 二是, …)."""
    runs: list[list[re.Match]] = []
    for match in _ITEM.finditer(text):
        kind, number = _marker_kind_and_number(match.group())
        if number == 1:
            runs.append([match])
        elif runs and _marker_kind_and_number(runs[-1][-1].group()) == (kind, (number or 0) - 1):
            runs[-1].append(match)
    return [run for run in runs if len(run) >= 2]


def enumeration_items(chunk: Chunk, terms: set[str]) -> list[Span]:
    """The items of the enumeration whose introduction best matches the
    question (``教师交流的主要措施有:一是…``), as exact spans."""
    text = chunk.text
    best: list[Span] = []
    best_score = -1.0
    for run in enumeration_runs(text):
        intro_start = max(text.rfind("。", 0, run[0].start()) + 1, run[0].start() - 60, 0)
        score = coverage(terms, text[intro_start:run[0].start()]) + 0.01 * len(run)
        if score <= best_score:
            continue
        best_score, best = score, []
        for i, match in enumerate(run):
            end = run[i + 1].start() if i + 1 < len(run) else _item_end(text, match.end())
            item = text[match.start():end].rstrip("; \n")
            best.append(Span(chunk, chunk.start + match.start(), chunk.start + match.start() + len(item), item))
    return best


def _item_end(text: str, start: int) -> int:
    stop = re.search(r"[。;\n]", text[start:])
    return start + stop.end() if stop else len(text)


def _near_duplicate(text: str, chosen: list[Span]) -> bool:
    grams = bigrams(text)
    return any(len(grams & bigrams(c.text)) > 0.7 * max(1, min(len(grams), len(bigrams(c.text)))) for c in chosen)


class Assistant:
    """The answer layer the CLI and the UI share; one model and index load."""

    def __init__(self, settings: Settings | None = None, searcher: Searcher | None = None):
        self.settings = settings or Settings.from_env()
        self.searcher = searcher or Searcher(self.settings)

    #: an answer needs a sentence covering this share of the question's terms
    #: (dev questions: >= 0.47; off-topic questions: <= 0.20; embedding
    #: similarity separated them far worse: 0.87 vs 0.86)
    min_coverage: float = 0.34

    def ask(self, question: str, top_k: int | None = None, mode: str = "extractive",
            max_statements: int = 4, history: list[str] | None = None) -> Answer:
        normalize_query(question)  # raises QueryError for empty input
        query = question if not history else " ".join([*history[-1:], question])
        hits = self.searcher.search(query, top_k or 6)
        if mode == "llm" and self.settings.llm_base_url and self.settings.llm_model:
            from qa.generation import generate_answer

            answer = generate_answer(self.settings, question, hits)
            if answer is not None:
                return answer
            logger.warning("generated answer failed; falling back to the extractive answer")
        return self.extractive(question, hits, max_statements)

    def extractive(self, question: str, hits: list[Hit], max_statements: int = 4) -> Answer:
        text = normalize_text(question)
        terms = question_terms(text)
        candidates = []
        for hit in hits:
            for span in sentences(hit.chunk):
                span.score = coverage(terms, span.text) + 0.15 / hit.rank
                candidates.append(span)
        candidates.sort(key=lambda s: -s.score)
        best = max((coverage(terms, s.text) for s in candidates), default=0.0)
        if best < self.min_coverage:
            return self._not_found(question, hits)
        statements: list[Span] = []
        if _LIST_QUESTION.search(text):
            for hit in hits[:3]:
                items = enumeration_items(hit.chunk, terms)
                if len(items) >= 2:
                    statements = items[:8]
                    break
        if not statements:
            for span in candidates:
                if len(statements) == max_statements or span.score < 0.6 * candidates[0].score:
                    break
                if not _near_duplicate(span.text, statements):
                    statements.append(span)
        return self._compose(question, statements, hits, bulleted=len(statements) > 1)

    def _compose(self, question: str, spans: list[Span], hits: list[Hit], bulleted: bool) -> Answer:
        citations: list[Citation] = []
        lines = []
        for span in spans:
            n = len(citations) + 1
            c = span.chunk
            citations.append(Citation(n, c.doc_id, c.title, list(c.section), c.source, span.start, span.end, span.text))
            lines.append(f"{'- ' if bulleted else ''}{span.text}[{n}]")
        return Answer(question, "\n".join(lines), citations, "extractive", True, hits)

    def _not_found(self, question: str, hits: list[Hit]) -> Answer:
        citations = [
            Citation(i, h.chunk.doc_id, h.chunk.title, list(h.chunk.section), h.chunk.source,
                     h.chunk.start, h.chunk.end, h.chunk.text)
            for i, h in enumerate(hits[:3], 1)
        ]
        nearest = "\n".join(f"- 《{c.title}》{'（' + c.section[-1] + '）' if c.section else ''}[{c.n}]" for c in citations)
        text = NOT_FOUND.format(q=question.strip()[:60]) + ("\n" + nearest if nearest else "")
        return Answer(question, text, citations, "extractive", False, hits)
