"""Second stage of a hybrid search: the fused candidates ranked again by their sentences.

A passage is worth showing when one of its sentences answers the question,
while the first stage (BM25 and dense, fused) scores whole passages. Three
rankings of the candidates are fused by weighted reciprocal rank, with a small
constant so that each list's first places count most:

- the first stage's own order;
- each passage's best sentence similarity to the question, from the sentence
  vectors stored at build time: it finds colloquial paraphrases that share no
  word with the report;
- each passage's most probable answer sentence under the sentence scorer it
  is handed (``qa.search.scorer.SentenceScorer``; the answer layer's sentence
  model, ``qa.answer.scorer``). Policy questions name an issuer and a topic
  that many notices share; this list prefers the passage that holds the
  aspect asked about.

A scorer that leans on the question's words cannot tell such a passage. A question whose
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

from qa.index.fusion import rrf
from qa.models import Chunk, Hit
from qa.search.scorer import SentenceScorer
from qa.search.sentences import Encode, Span, sentence_facts
from qa.settings import Settings


class SecondStage:
    """The candidates of one search ranked again by their sentences."""

    def __init__(self, scorer: SentenceScorer | None):
        self.scorer = scorer

    def rerank(self, settings: Settings, index, question: str, ranked: list[tuple[Chunk, float]],
               vector: np.ndarray, colloquial: frozenset[str], encode: Encode
               ) -> tuple[list[tuple[Chunk, float]], dict[str, list[Span]] | None]:
        """The candidates in their new order, and their sentences (with
        similarities) by chunk id for the answer layer; unchanged (and None)
        when the index keeps no sentence vectors."""
        similarities = index.sentence_similarities([chunk for chunk, _ in ranked], vector) if ranked else None
        if similarities is None:
            return ranked, None
        hits = [Hit(chunk, score, rank) for rank, (chunk, score) in enumerate(ranked, 1)]
        facts = sentence_facts(hits, vector, similarities, encode)
        order = list(range(len(ranked)))
        best_sim = [float(s.max()) if len(s) else -1.0 for s in similarities]
        rankings = [order, sorted(order, key=lambda i: -best_sim[i])]
        similarity, evidence = settings.rerank_weight, settings.evidence_weight
        if evidence > 0 and self.scorer is not None:
            scored = self.scorer.score(question, hits, facts, colloquial)
            rankings.append(sorted(order, key=lambda i: -scored.best[i]))
            if scored.covered < settings.paraphrase_coverage:
                similarity, evidence = settings.paraphrase_rerank_weight, settings.paraphrase_evidence_weight
        weights = [1.0 - similarity - evidence, similarity, evidence][:len(rankings)]
        fused = rrf([[(i, 0.0) for i in ranking] for ranking in rankings], weights, settings.rerank_rrf_k)
        return [(ranked[i][0], score) for i, score in fused], facts
