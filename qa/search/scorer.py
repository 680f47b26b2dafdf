"""What the second stage asks of a sentence scorer.

The second stage ranks the candidate passages again by their most probable
answer sentence. What makes a sentence probable is the answer layer's
business (today a logistic model over hand-made signals, a reader model
tomorrow), so the search stage defines only this contract and is handed an
implementation by whoever builds the ``Searcher`` (``qa.answer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from qa.models import Hit
from qa.search.sentences import Span


@dataclass
class ScoredSentences:
    """One question's candidates as a scorer sees them."""

    #: per hit, the probability of its most probable answer sentence (0 without sentences)
    best: list[float]
    #: the best share of the question's words that one sentence covers with its
    #: passage's title and headings: low for a paraphrase in other words
    covered: float


@runtime_checkable
class SentenceScorer(Protocol):
    def score(self, question: str, hits: list[Hit], facts: dict[str, list[Span]],
              colloquial: frozenset[str]) -> ScoredSentences:
        """Score every sentence of ``hits`` (``facts``: their sentences by
        chunk id, with similarities) for the normalised ``question``;
        ``colloquial``: the phrases the index's reports never use."""
