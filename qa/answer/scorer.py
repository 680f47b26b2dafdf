"""The answer layer's sentence scorer, which the second stage of search is handed.

``LogisticScorer`` ranks a question's candidate sentences with the sentence
model (``qa.answer.sentence_model``) over the signals of ``qa.answer.signals``.
"""

from __future__ import annotations

from qa.answer.sentence_model import AnswerModel, default_model
from qa.answer.signals import CONTEXT_COVERAGE, candidates
from qa.models import Hit
from qa.search.scorer import ScoredSentences
from qa.search.sentences import Span


class LogisticScorer:
    """A ``qa.search.scorer.SentenceScorer`` over the logistic sentence model.

    >>> from qa.search.scorer import SentenceScorer
    >>> isinstance(LogisticScorer(), SentenceScorer)
    True
    """

    def __init__(self, model: AnswerModel | None = None):
        self.model = model or default_model()

    def score(self, question: str, hits: list[Hit], facts: dict[str, list[Span]],
              colloquial: frozenset[str]) -> ScoredSentences:
        cands = candidates(question, hits, facts, colloquial)
        best: dict[str, float] = {}
        if cands.spans:
            for span, p in zip(cands.spans, self.model.sentence.prob(cands.matrix())):
                best[span.chunk.chunk_id] = max(best.get(span.chunk.chunk_id, 0.0), float(p))
        covered = max((span.features[CONTEXT_COVERAGE] for span in cands.spans), default=0.0)
        return ScoredSentences([best.get(hit.chunk.chunk_id, 0.0) for hit in hits], covered)
