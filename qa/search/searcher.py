"""Query -> ranked, cited passages.

The query is normalised like the corpus (traditional -> simplified, pinyin and
full-width forms), encoded once, and handed to the index backend, which fuses
BM25 and dense rankings. Results repeating an earlier passage (the same
notice reposted by another office) are dropped; the documents that publish a
result's text are named in its ``also_in``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from qa.embedding.embedder import get_embedder
from qa.index.protocol import MODES, Filter
from qa.index.current import current_version, open_current
from qa.models import Hit
from qa.search.copies import collapse_copies
from qa.search.query import QueryError, normalize_query
from qa.search.scorer import SentenceScorer
from qa.search.second_stage import SecondStage
from qa.search.sentences import Span
from qa.settings import Settings
from qa.text.glossary import foreign_phrases, glossary_version, in_official_words, lexical_query, used_phrases

logger = logging.getLogger(__name__)

#: a Milvus reader checks the alias this often, so builds published by other processes show up
FOLLOW_SECONDS = 1.0


#: query vectors kept: ``ask`` needs the question's vector for the search and
#: again for the answer signals, and a chat asks again what it asked before
QUERY_VECTORS_KEPT = 256


@dataclass
class Retrieval:
    """One question's search: the hits, and what the second stage computed of
    their sentences, which the answer layer reads instead of computing it again."""

    #: the question as searched (normalised)
    query: str
    hits: list[Hit]
    vector: np.ndarray | None = None
    #: candidate sentences with their similarity, by chunk id (None when the second stage did not run)
    sentences: dict[str, list[Span]] | None = None


class Searcher:
    """Model and index loaded once; ``search`` costs one query encoding plus
    index lookups. ``refresh`` swaps in a newer index version atomically.

    ``scorer`` ranks candidate sentences for the second stage (the answer
    layer's, ``qa.answer.sentence_scorer``); without one the second stage
    ranks by sentence similarity alone.

    >>> from qa import Settings, Searcher, sentence_scorer      # doctest: +SKIP
    >>> settings = Settings.from_env()                          # doctest: +SKIP
    >>> searcher = Searcher(settings, sentence_scorer(settings))  # doctest: +SKIP
    >>> hits = searcher.search("县里采取了哪些措施推进教师交流？", top_k=3)  # doctest: +SKIP
    >>> hits[0].chunk.section_path                               # doctest: +SKIP
    '一、… > （三）开展校长、教师交流工作'
    """

    def __init__(self, settings: Settings, scorer: SentenceScorer | None = None):
        self.settings = settings
        self.second_stage = SecondStage(scorer)
        self._lock = threading.Lock()
        self._version = None
        self._embedder = None
        self._foreign: tuple[object, frozenset[str]] | None = None
        self._vectors: dict[tuple[str, str], np.ndarray] = {}  # recent query vectors, oldest first
        self._vectors_lock = threading.Lock()
        self._next_check = 0.0
        self.refresh()  # first: a missing or mismatched index is reported before the model loads

    @property
    def scorer(self) -> SentenceScorer | None:
        return self.second_stage.scorer

    @property
    def embedder(self):
        """The query encoder, loaded at the first query that needs it (a BM25
        search never does)."""
        if self._embedder is None:
            self._embedder = get_embedder(self.settings.model, self.settings.batch_size, self.settings.encoder)
        return self._embedder

    @embedder.setter
    def embedder(self, embedder) -> None:
        self._embedder = embedder
        with self._vectors_lock:
            self._vectors.clear()  # another encoder's vectors

    def refresh(self) -> bool:
        """Load the current index version if it changed; True when it did."""
        version = current_version(self.settings)
        if version is not None and version == self._version:
            return False
        index, manifest = open_current(self.settings)
        with self._lock:
            self.index, self.manifest, self._version = index, manifest, version
        logger.info("loaded index %s (%d chunks)", version, len(index))
        return True

    def _follow(self) -> None:
        """Milvus readers follow the alias: at most every FOLLOW_SECONDS a
        search first checks it (one cheap call) and loads a newer version;
        if Milvus cannot be asked, the loaded version keeps serving."""
        if self.settings.backend != "milvus" or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + FOLLOW_SECONDS
        try:
            self.refresh()
        except Exception as exc:
            logger.warning("could not check the Milvus alias (%s); serving the loaded version", exc)

    def query_vector(self, text: str) -> np.ndarray:
        """A normalised query's vector. A colloquial question is encoded as
        asked and in the reports' words (``qa.text.glossary.in_official_words``),
        the two averaged: the encoder knows 娃娃, but 学生 sits nearer the
        reports' sentences, and the asked form keeps what the glossary
        leaves out (docs/retrieval.md, "Colloquial questions")."""
        official = in_official_words(text, self.colloquial)
        key = (text, official)
        with self._vectors_lock:
            vector = self._vectors.get(key)
        if vector is None:
            if official == text:
                vector = self.embedder.encode_queries([text])[0]
            else:
                both = self.embedder.encode_queries([text, official]).sum(axis=0)
                vector = (both / np.linalg.norm(both)).astype("float32")
            with self._vectors_lock:  # requests of the app share this cache
                if len(self._vectors) >= QUERY_VECTORS_KEPT:
                    self._vectors.pop(next(iter(self._vectors)))
                self._vectors[key] = vector
        return vector

    @property
    def colloquial(self) -> frozenset[str]:
        """The colloquial phrases this index's reports never use, the ones a
        query has translated (``qa.text.glossary``): read from the version's
        manifest, where the build records the phrases its reports use."""
        index, manifest = self.index, self.manifest
        if self._foreign is None or self._foreign[0] is not index:
            stored = manifest.get("colloquial") or {}
            if stored.get("glossary") == glossary_version():
                used = stored["used"]
            else:  # an index built before the glossary, or with another one
                used = used_phrases([chunk.text for chunk in index.chunks()])
            self._foreign = (index, foreign_phrases(used))
        return self._foreign[1]

    def search(self, query: str, top_k: int | None = None, mode: str | None = None,
               where: Filter | None = None) -> list[Hit]:
        """The best ``top_k`` passages for ``query`` (``mode``: hybrid, bm25 or
        dense; ``where``: a filter), best first; raises ``QueryError`` for a
        query with no words."""
        return self.retrieve(query, top_k, mode, where).hits

    def retrieve(self, query: str, top_k: int | None = None, mode: str | None = None,
                 where: Filter | None = None) -> Retrieval:
        """``search``, keeping what the answer layer reads again (``Retrieval``)."""
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        top_k = max(1, int(top_k or self.settings.top_k))
        text = normalize_query(query)
        self._follow()
        vector = self.query_vector(text) if mode != "bm25" else None
        index = self.index  # one consistent version for this query, even during a swap
        depth = max(self.settings.candidates, top_k * 3)
        lexical = lexical_query(text, self.colloquial)
        ranked = index.search(lexical, vector, depth, mode, where,
                              dense_weight=self.settings.dense_weight, rrf_k=self.settings.rrf_k)
        sentences = None
        if mode == "hybrid" and self.settings.rerank:
            ranked, sentences = self.second_stage.rerank(self.settings, index, text, ranked, vector, self.colloquial,
                                                         self.encode_passages)
        return Retrieval(text, collapse_copies(ranked, top_k), vector, sentences)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Passage vectors (a sentence of an index that keeps none is encoded at query time)."""
        return self.embedder.encode_documents(texts)
