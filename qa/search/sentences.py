"""A passage's candidate sentences with their similarity to the question.

Both the second stage and the answer layer judge a passage by its
sentences. What does not depend on which other passages are candidates (the
split, the matching forms, the similarity) is computed once per question
here and handed from search to the answer layer with the hits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np

from qa.models import Chunk, Hit
from qa.text.fold import match_form, word_chars
from qa.text.ngrams import pairs
from qa.text.sentences import candidate_spans


@dataclass
class Span:
    """A candidate statement: an exact slice of one chunk's document."""

    chunk: Chunk
    start: int  # offsets into the document text
    end: int
    text: str
    rank: int = 1  # retrieval rank of the chunk
    sim: float = 0.0
    coverage: float = 0.0
    features: list[float] = field(default_factory=list)
    prob: float = 0.0

    # the matching forms, computed once: several signals read them
    @cached_property
    def folded(self) -> str:
        return match_form(self.text)

    @cached_property
    def chars(self) -> str:
        return word_chars(self.folded)

    @cached_property
    def grams(self) -> set[str]:
        return pairs(self.chars)

    def fresh(self) -> "Span":
        """A copy for another candidate set: the same sentence, similarity and
        matching forms; rank, coverage, features and probability to be set."""
        copy = Span(self.chunk, self.start, self.end, self.text, sim=self.sim)
        copy.__dict__.update({k: self.__dict__[k] for k in ("folded", "chars", "grams") if k in self.__dict__})
        return copy


def candidate_sentences(chunk: Chunk) -> list[tuple[int, Span]]:
    """(position among the chunk's stored sentence vectors, sentence span)
    of each of its ``candidate_spans`` (trimmed, scraps skipped)."""
    return [(i, Span(chunk, chunk.start + a, chunk.start + b, chunk.text[a:b]))
            for i, a, b in candidate_spans(chunk.text)]


#: encodes passages (``Embedder.encode_documents``) for an index that keeps no sentence vectors
Encode = Callable[[list[str]], np.ndarray]


def sentence_facts(hits: list[Hit], vector: np.ndarray, similarities: list[np.ndarray] | None,
                   encode: Encode | None = None) -> dict[str, list[Span]]:
    """Each hit's candidate sentences with their similarity to the question,
    by chunk id: what does not depend on which other passages are candidates,
    so the second stage computes it once per question and the answer layer
    reads it back for its passages. ``similarities`` are the index's
    ``sentence_similarities`` of the hits; a chunk without stored ones is
    encoded with ``encode``."""
    facts: dict[str, list[Span]] = {}
    for n, hit in enumerate(hits):
        sentences = candidate_sentences(hit.chunk)
        stored = similarities[n] if similarities is not None else None
        positions = [i for i, _ in sentences]
        if stored is not None and positions and max(positions) < len(stored):
            sims = np.asarray(stored, dtype="float64")[positions]
        elif sentences and encode is not None:
            sims = encode([span.text for _, span in sentences]) @ np.asarray(vector, dtype="float32")
        else:
            sims = np.zeros(len(sentences))
        for (_, span), sim in zip(sentences, sims):
            span.sim = float(sim)
        facts[hit.chunk.chunk_id] = [span for _, span in sentences]
    return facts
