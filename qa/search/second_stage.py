"""Second stage of a hybrid search: the fused candidates ranked again by their sentences.

A passage is worth showing when one of its sentences answers the question,
while the first stage (BM25 and dense, fused) scores whole passages. Three
rankings of the candidates are fused by weighted reciprocal rank, with a small
constant so that each list's first places count most:

- the first stage's own order;
- each passage's best sentence similarity to the question, from the sentence
  vectors stored at build time: it finds colloquial paraphrases that share no
  word with the report;
- each passage's most probable answer sentence under the answer layer's
  sentence model (``qa.answer_model``, fitted on the development sets): the
  similarity together with coverage of the question's rarer words and of the
  title and headings, the number a number question asks for. Policy questions
  name an issuer and a topic that many notices share; this list prefers the
  passage that holds the aspect asked about.

The answer-sentence model leans on the question's words. A question whose
words no candidate sentence covers well, even with its passage's title and
headings (``paraphrase_coverage``), is a colloquial paraphrase
("教育系统欠下的钱打算怎么处理？" for 剥离教育债务): it gets the paraphrase
weights instead, where the similarity list leads.

Weights and constant: ``Settings.rerank_weight`` (similarity),
``evidence_weight`` (answer sentence), ``paraphrase_rerank_weight``,
``paraphrase_evidence_weight``, ``paraphrase_coverage``, ``rerank_rrf_k``;
measured in docs/retrieval.md. An index without sentence vectors skips the
second stage.
"""

from __future__ import annotations

import numpy as np

from qa.answer.sentence_model import AnswerModel, default_model
from qa.answer.signals import CONTEXT_COVERAGE, SentenceSignals
from qa.index.fusion import rrf
from qa.models import Chunk, Hit


class Reranker:
    """The second stage of one ``Searcher`` (its settings, index and model)."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.signals = SentenceSignals(searcher)
        self.model: AnswerModel = default_model()

    def best_answer_sentence(self, question: str, ranked: list[tuple[Chunk, float]], vector: np.ndarray,
                             similarities: list[np.ndarray]) -> tuple[list[float], float]:
        """Each candidate's highest sentence probability (0 without sentences),
        and the best coverage of the question's words by any candidate sentence
        with its passage's title and headings (a question names its document)."""
        hits = [Hit(chunk, score, rank) for rank, (chunk, score) in enumerate(ranked, 1)]
        cands = self.signals.candidates(question, hits, vector, similarities)
        best: dict[str, float] = {}
        if cands.spans:
            for span, p in zip(cands.spans, self.model.sentence.prob(cands.matrix())):
                best[span.chunk.chunk_id] = max(best.get(span.chunk.chunk_id, 0.0), float(p))
        covered = max((span.features[CONTEXT_COVERAGE] for span in cands.spans), default=0.0)
        return [best.get(chunk.chunk_id, 0.0) for chunk, _ in ranked], covered

    def rerank(self, index, question: str, ranked: list[tuple[Chunk, float]],
               vector: np.ndarray) -> list[tuple[Chunk, float]]:
        similarities = index.sentence_similarities([chunk for chunk, _ in ranked], vector) if ranked else None
        if similarities is None:
            return ranked
        order = list(range(len(ranked)))
        best_sim = [float(s.max()) if len(s) else -1.0 for s in similarities]
        rankings = [order, sorted(order, key=lambda i: -best_sim[i])]
        settings = self.searcher.settings
        similarity, evidence = settings.rerank_weight, settings.evidence_weight
        if evidence > 0:
            best, covered = self.best_answer_sentence(question, ranked, vector, similarities)
            rankings.append(sorted(order, key=lambda i: -best[i]))
            if covered < settings.paraphrase_coverage:
                similarity, evidence = settings.paraphrase_rerank_weight, settings.paraphrase_evidence_weight
        weights = [1.0 - similarity - evidence, similarity, evidence][:len(rankings)]
        fused = rrf([[(i, 0.0) for i in ranking] for ranking in rankings], weights, settings.rerank_rrf_k)
        return [(ranked[i][0], score) for i, score in fused]
