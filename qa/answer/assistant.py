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

from qa.answer.enumeration import Enumeration, list_match, question_enumeration
from qa.answer.followup import resolve
from qa.answer.sentence_model import AnswerModel
from qa.answer.scorer import LogisticScorer
from qa.answer.signals import Candidates, candidates, introduces, question_features
from qa.models import Answer, Citation, Hit
from qa.search.query import normalize_query
from qa.search.searcher import Searcher
from qa.search.sentences import Span, sentence_facts
from qa.settings import Settings
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
        if turn.item is not None:
            listed = self._nth_item(question, turn, top_k, max_statements)
            if listed is not None:
                return listed
        retrieval = self.searcher.retrieve(turn.question, top_k or 6)
        if mode == "llm" and self.settings.llm_base_url and self.settings.llm_model:
            from qa.answer.generation import generate_answer

            answer = generate_answer(self.settings, question, retrieval.hits)
            if answer is not None:
                return answer
            logger.warning("generated answer failed; falling back to the extractive answer")
        answer = self.extractive(turn.question, retrieval.hits, max_statements, retrieval.sentences)
        answer.question = question
        return answer

    def _nth_item(self, question: str, turn, top_k: int | None, max_statements: int) -> Answer | None:
        """"二是什么？" after a list answer: that item of the previous answer."""
        retrieval = self.searcher.retrieve(turn.question, top_k or 6)
        hits = retrieval.hits
        spans, found, listed = self.statements(turn.question, hits, max_statements, retrieval.sentences)
        items = spans[1:] if listed and len(spans) > 1 and spans[0].rank < 0 else spans
        if not found or not listed or turn.item > len(items):
            return None
        return self._compose(question, [items[turn.item - 1]], hits, bulleted=False)

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
        cands, listed, p_found = self.judge(question, hits, sentences)
        if p_found < self.model.found.threshold:
            return cands.spans[:1], False, False
        if listed is not None and listed.score >= cands.spans[0].coverage * 0.8:
            intro = [listed.intro] if listed.intro is not None else []
            for span in intro:
                span.rank = -1
            return intro + listed.items[:8], True, True
        lead = cands.spans[0]
        chosen = self._with_content(lead, cands)
        length = sum(len(span.text) for span in chosen)
        for span in cands.spans[1:]:
            if len(chosen) >= max_statements or span.prob < 0.5 * lead.prob:
                break
            if length + len(span.text) > ANSWER_BUDGET or _near_duplicate(span.text, chosen):
                continue
            chosen.append(span)
            length += len(span.text)
        return chosen, True, False

    @staticmethod
    def _with_content(span: Span, cands: Candidates) -> list[Span]:
        """``span``, and when it only introduces a topic (a heading, a line
        ending in a colon), the sentence after it in the same passage."""
        if not introduces(span):
            return [span]
        following = [s for s in cands.spans if s.chunk is span.chunk and s.start >= span.end]
        return [span, min(following, key=lambda s: s.start)] if following else [span]

    def _compose(self, question: str, spans: list[Span], hits: list[Hit], bulleted: bool) -> Answer:
        citations: list[Citation] = []
        lines = []
        for span in spans:
            n = len(citations) + 1
            c = span.chunk
            citations.append(Citation(n, c.doc_id, c.title, c.section_at(span.start), c.source, span.start, span.end,
                                       span.text))
            bullet = "- " if bulleted and span.rank >= 0 else ""
            lines.append(f"{bullet}{_one_line(span.text)}[{n}]")
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
