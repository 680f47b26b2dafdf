"""Compose an answer only from retrieved passages, every statement cited.

The extractive answer (default, offline) states what retrieval found, in the
reports' own words: every sentence of the retrieved passages gets signals
(sentence similarity relative to the question, lexical coverage, passage
rank, a number for a number question; ``qa.answer.signals``) and a small
calibrated model turns them into the probability that the sentence holds the
answer, and that the reports answer the question at all
(``qa.answer.sentence_model``, fitted on the development sets, docs/answers.md).

- a fact question leads with its most probable sentence, then adds close
  runners-up within a short length budget;
- a list question ("有哪些措施") gives the matching enumeration's introduction
  and its items about the question's topic (``qa.enumeration``);
- a question the reports do not answer is declined, with the nearest passages;
- a chat follow-up ("二是什么？", "那农村学校呢？") is read against the previous
  question (``qa.followup``); any other question is searched on its own.

Each sentence or bullet ends with ``[n]``; citation ``n`` is the exact span
``document.text[start:end]`` it quotes.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from qa.answer.enumeration import Enumeration, list_match, nth, numbered_item, question_enumeration, whole_list
from qa.answer.followup import LAST, resolve
from qa.answer.grouped import (GROUP_BUDGET, MAX_GROUPS, asks_many_reports, group_by_document, named_documents,
                               over_time, quoted_terms)
from qa.answer.inline_lists import inline_items, parallel_items
from qa.answer.sentence_model import AnswerModel
from qa.answer.scorer import LogisticScorer
from qa.answer.sections import section_passage, within_passage
from qa.answer.signals import Candidates, candidates, introduces, is_heading, question_features
from qa.index.protocol import Filter
from qa.models import Answer, Chunk, Citation, Hit
from qa.search.query import normalize_query
from qa.search.searcher import Retrieval, Searcher
from qa.search.sentences import Span, sentence_facts
from qa.settings import Settings
from qa.text.fold import letters
from qa.text.ngrams import bigrams

logger = logging.getLogger(__name__)

NOT_FOUND = "未在报告中找到与“{q}”直接相关的内容。以下是最接近的段落，供参考："
#: a fact answer adds runners-up while it stays within this many characters
ANSWER_BUDGET = 200


def _near_duplicate(text: str, chosen: list[Span]) -> bool:
    grams = bigrams(text)
    return any(len(grams & bigrams(c.text)) > 0.7 * max(1, min(len(grams), len(bigrams(c.text)))) for c in chosen)


def _one_line(text: str) -> str:
    """A quoted span as one answer line (the citation keeps the exact text)."""
    return re.sub(r"\s*\n\s*", "", text)


class Assistant:
    """The answer layer the CLI and the UI share; one model and index load.

    >>> from qa import Assistant, Settings                          # doctest: +SKIP
    >>> answer = Assistant(Settings.from_env()).ask("教师交流的主要措施有哪些？")  # doctest: +SKIP
    >>> answer.found, answer.citations[0].section                   # doctest: +SKIP
    (True, ['三、…', '（三）开展校长、教师交流工作'])
    """

    def __init__(self, settings: Settings | None = None, searcher: Searcher | None = None,
                 model: AnswerModel | None = None):
        self.settings = settings or Settings.from_env()
        if searcher is None:
            searcher = Searcher(self.settings, LogisticScorer(model))
        elif not isinstance(searcher.scorer, LogisticScorer):
            raise ValueError("the searcher's second stage must use the answer layer's scorer "
                             "(Searcher(settings, sentence_scorer(settings)))")
        elif model is not None:
            searcher.scorer.model = model
        self.searcher = searcher

    @property
    def model(self) -> AnswerModel:
        """The sentence and found models; the sentence model also ranks the
        searcher's candidates (its scorer), so both always use the same one."""
        return self.searcher.scorer.model

    @model.setter
    def model(self, model: AnswerModel) -> None:
        self.searcher.scorer.model = model

    def search_query(self, question: str, history: list[str] | None = None) -> str:
        """What to search for ``question`` after ``history`` (the app's
        generated mode searches the same way)."""
        return resolve(question, history).question

    def ask(self, question: str, top_k: int | None = None, mode: str = "extractive",
            max_statements: int = 4, history: list[str] | None = None) -> Answer:
        """Answer ``question`` (read against ``history``, the earlier questions
        of a chat, oldest first) from the reports, every statement cited;
        raises ``qa.search.QueryError`` for a question with no words."""
        normalize_query(question)  # raises QueryError for empty input
        turn = resolve(question, history)
        retrieval = None
        if turn.item is not None:
            retrieval = self.searcher.retrieve(turn.question, top_k or 6)
            listed = self._nth_item(question, turn, retrieval)
            if listed is not None:
                listed.resolved = f"{turn.question}（{'最后一' if turn.item == LAST else f'第{turn.item}'}项）"
                return listed
        if asks_many_reports(turn.question) and mode != "llm":
            grouped = self.grouped(turn.question)
            if grouped is not None:
                grouped.question, grouped.resolved = question, turn.question
                return grouped
        retrieval = retrieval or self.searcher.retrieve(turn.question, top_k or 6)
        answer = None
        if mode == "llm" and self.settings.llm_base_url and self.settings.llm_model:
            from qa.answer.generation import generate_answer

            answer = generate_answer(self.settings, turn.question, retrieval.hits)
            if answer is None:
                logger.warning("generated answer failed; falling back to the extractive answer")
        if answer is None:
            answer = self.extractive(turn.question, retrieval.hits, max_statements, retrieval.sentences)
        answer.question, answer.resolved = question, turn.question
        return answer

    def _nth_item(self, question: str, turn, retrieval: Retrieval) -> Answer | None:
        """"二是什么？" after a list answer: that item of the list the previous
        question is answered with (an enumeration, or a sentence that lists
        inline), else of the passages' best enumeration with so many items.
        Lists are read in their whole section: "最后一项" and "四是" often sit
        in the passage after the one that starts the list."""
        hits = retrieval.hits
        judged = self.judge(turn.question, hits, retrieval.sentences)
        cands, listed, _ = judged
        named = set(named_documents(turn.question, (self.searcher.manifest or {}).get("documents", {})))
        documents = self._documents({span.chunk.doc_id for span in cands.spans})
        passages = {s.chunk.chunk_id: s.chunk for s in cands.spans}
        sections = {cid: section_passage(chunk, documents[chunk.doc_id]) for cid, chunk in passages.items()}
        item = None
        if listed is not None:
            item = whole_list(listed, sections[listed.numbered[0][1].chunk.chunk_id]).item(turn.item)
        if item is None:
            stated, found, _ = self._choose(*judged)
            inline = [nth(inline_items(span), turn.item) for span in stated] if found else []
            item = next((span for span in inline if span is not None), None)
        if item is None and turn.counted:  # "第三个转型": a list without numbers that repeats 转型
            parallel = (nth(parallel_items(span, turn.counted), turn.item) for span in cands.spans)
            item = next((span for span in parallel if span is not None), None)
        if item is None or (named and item.chunk.doc_id not in named):
            item = numbered_item(cands, turn.item, named, sections)
        if item is None:
            return None
        return self._compose(question, [within_passage(item, documents[item.chunk.doc_id])], hits, bulleted=False)

    def _documents(self, doc_ids: set[str]) -> dict[str, list[Chunk]]:
        """The passages of each of these documents, in document order."""
        documents: dict[str, list[Chunk]] = {doc_id: [] for doc_id in doc_ids}
        for chunk in self.searcher.index.chunks(Filter(doc_ids=frozenset(doc_ids))):
            documents[chunk.doc_id].append(chunk)
        for passages in documents.values():
            passages.sort(key=lambda c: c.start)
        return documents

    def extractive(self, question: str, hits: list[Hit], max_statements: int = 4,
                   sentences: dict[str, list[Span]] | None = None) -> Answer:
        """The extractive answer to ``question`` from ``hits``; ``sentences``:
        their candidate sentences as the search computed them (``Retrieval``)."""
        spans, found, listed = self.statements(question, hits, max_statements, sentences)
        if not found:
            return self._not_found(question, hits)
        return self._compose(question, spans, hits, bulleted=len(spans) > 1)

    def facts(self, question: str, hits: list[Hit],
              sentences: dict[str, list[Span]] | None = None) -> dict[str, list[Span]]:
        """The hits' candidate sentences with similarities: from ``sentences``
        when the search computed them, else now."""
        if sentences is not None and all(hit.chunk.chunk_id in sentences for hit in hits):
            return sentences
        vector = self.searcher.query_vector(normalize_query(question))
        similarities = self.searcher.index.sentence_similarities([hit.chunk for hit in hits], vector) if hits else None
        return sentence_facts(hits, vector, similarities, self.searcher.encode_passages)

    def judge(self, question: str, hits: list[Hit], sentences: dict[str, list[Span]] | None = None
              ) -> tuple[Candidates, Enumeration | None, float]:
        """The candidate sentences ranked by probability, a list question's
        enumeration, and the probability that the reports answer the question."""
        cands = candidates(question, hits, self.facts(question, hits, sentences), self.searcher.colloquial)
        if not cands.spans:
            return cands, None, 0.0
        for span, p in zip(cands.spans, self.model.sentence.prob(cands.matrix())):
            span.prob = float(p)
        cands.spans.sort(key=lambda s: -s.prob)
        listed = question_enumeration(cands)
        features = question_features(cands, cands.spans[0], list_match(listed))
        return cands, listed, float(self.model.found.prob(np.array(features)))

    def statements(self, question: str, hits: list[Hit], max_statements: int = 4,
                   sentences: dict[str, list[Span]] | None = None) -> tuple[list[Span], bool, bool]:
        """(spans to state, whether the reports answer it, whether it is a list
        answer). A list answer's introduction, if any, comes first with rank -1."""
        return self._choose(*self.judge(question, hits, sentences), max_statements)

    def _choose(self, cands: Candidates, listed: Enumeration | None, p_found: float,
                max_statements: int = 4) -> tuple[list[Span], bool, bool]:
        """``statements`` from a question's judged candidates (``judge``)."""
        if p_found < self.model.found.threshold:
            return cands.spans[:1], False, False
        if listed is not None and listed.score >= cands.spans[0].coverage * 0.8:
            intro = [listed.intro] if listed.intro is not None else []
            for span in intro:
                span.rank = -1
            return intro + listed.items[:8], True, True
        top = cands.spans[0]
        chosen = self._lead(top, cands)
        if not chosen:  # nothing but headings and titles: they name a topic, they do not answer
            return cands.spans[:1], False, False
        length = sum(len(span.text) for span in chosen)
        for span in cands.spans:
            if len(chosen) >= max_statements or span.prob < 0.5 * top.prob:
                break
            if span in chosen or is_heading(span) or length + len(span.text) > ANSWER_BUDGET \
                    or _near_duplicate(span.text, chosen):
                continue
            chosen.append(span)
            length += len(span.text)
        return chosen, True, False

    @staticmethod
    def _lead(span: Span, cands: Candidates) -> list[Span]:
        """What the answer leads with: ``span`` itself when it states
        something. A heading or a title only names a topic: the first
        statement after it in its passage leads instead (else the most
        probable statement anywhere). A line ending in a colon introduces the
        statement after it and is shown with it. A heading may introduce an
        answer; it is never the answer."""
        if not introduces(span):
            return [span]
        following = [s for s in cands.spans if s.chunk is span.chunk and s.start >= span.end and not introduces(s)]
        if following:
            content = min(following, key=lambda s: s.start)
            return [span, content] if span.folded.rstrip().endswith(":") else [content]
        best = next((s for s in cands.spans if not introduces(s)), None)
        return [best] if best is not None else []

    def grouped(self, question: str) -> Answer | None:
        """A question about several reports (``qa.answer.grouped``): one group
        per report, each with its own cited statements; None when the
        reports do not answer it."""
        named = named_documents(question, (self.searcher.manifest or {}).get("documents", {}))
        if named:  # each named report searched on its own: every one gets its say
            retrievals = [self.searcher.retrieve(question, 2, where=Filter(doc_ids=frozenset({doc_id})))
                          for doc_id in named[:2 * MAX_GROUPS]]
        else:
            retrievals = [self.searcher.retrieve(question, 3 * MAX_GROUPS // 2)]
        hits, sentences = [], {}
        for retrieval in retrievals:
            hits += retrieval.hits
            sentences.update(retrieval.sentences or {})
        hits = [Hit(h.chunk, h.score, rank, h.also_in) for rank, h in enumerate(hits, 1)]
        cands, _, p_found = self.judge(question, hits, sentences or None)
        statements = [s for s in cands.spans if not is_heading(s)]
        quoted = [letters(t) for t in quoted_terms(question)]
        if quoted:  # "哪些报告提到了“双减”": a report that never says it does not answer
            statements = [s for s in statements if any(t in letters(s.text) for t in quoted)]
        if not statements or (not named and not quoted and p_found < self.model.found.threshold):
            return None
        groups = group_by_document(statements)
        top = max(g.score for g in groups)
        kept = [g for g in groups if named or quoted or g.score >= 0.5 * top][:MAX_GROUPS]
        if over_time(question):
            kept.sort(key=lambda g: (g.year is None, g.year or 0))
        citations: list[Citation] = []
        lines: list[str] = []
        for group in kept:
            chosen: list[Span] = []
            for span in group.spans:  # the best one always: a report's statement may be longer than the budget
                if len(chosen) == 2 or (chosen and sum(len(c.text) for c in chosen) + len(span.text) > GROUP_BUDGET):
                    break
                if span.prob < 0.5 * group.score or _near_duplicate(span.text, chosen):
                    continue
                chosen.append(span)
            label = "，".join(x for x in (f"{group.year}年" if group.year else None, group.region) if x)
            lines.append(f"《{group.title}》" + (f"（{label}）" if label else "") + "：")
            for span in chosen:
                n = len(citations) + 1
                citations.append(Citation.of_sentence(n, span.chunk, span.start, span.end, span.text))
                lines.append(f"- {_one_line(span.text)}[{n}]")
        if not citations:
            return None
        return Answer(question, "\n".join(lines), citations, "extractive", True, hits)

    def _compose(self, question: str, spans: list[Span], hits: list[Hit], bulleted: bool) -> Answer:
        citations: list[Citation] = []
        lines = []
        for span in spans:
            n = len(citations) + 1
            citations.append(Citation.of_sentence(n, span.chunk, span.start, span.end, span.text))
            bullet = "- " if bulleted and span.rank >= 0 else ""
            lines.append(f"{bullet}{_one_line(span.text)}[{n}]")
        return Answer(question, "\n".join(lines), citations, "extractive", True, hits)

    def _not_found(self, question: str, hits: list[Hit]) -> Answer:
        citations = [Citation.of_passage(i, h.chunk) for i, h in enumerate(hits[:3], 1)]
        nearest = "\n".join(f"- 《{c.title}》{'（' + c.section[-1] + '）' if c.section else ''}[{c.n}]" for c in citations)
        text = NOT_FOUND.format(q=question.strip()[:60]) + ("\n" + nearest if nearest else "")
        return Answer(question, text, citations, "extractive", False, hits)
