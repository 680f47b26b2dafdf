"""What says that a retrieved sentence answers a question, as numbers.

Each sentence of the retrieved passages gets a few signals, all relative to
the question so one scale fits every question:

- its similarity to the question from the sentence vectors stored at build
  time (the index's ``sentence_similarities``; an index built without them
  has the few candidate sentences encoded on the fly), raw, as a gap to
  the question's best sentence and as a z-score within the question's
  similarity distribution;
- lexical coverage of the question's content bigrams (folded width, case and
  script, so half-width seeds and full-width NCP text match alike), also
  weighted by how rare each bigram is among the candidates: the issuer and
  topic a question names are in every retrieved sentence, the aspect it asks
  about (最高, 强调, 遇到问题) only in the one that answers;
- the retrieval rank of its passage;
- for a number question (多少/几/how many), whether it holds a number with a unit.

``qa.answer.sentence_model`` turns them into probabilities with a small logistic model.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qa.ingest.outline import display
from qa.models import Hit
from qa.search.sentences import Span
from qa.text.fold import match_form, word_chars
from qa.text.glossary import colloquial_share, expand_english, in_official_words, is_english
from qa.text.ngrams import bigrams, coverage, pairs, share

logger = logging.getLogger(__name__)

_QUESTION_WORDS = re.compile(
    r"多少|什么|哪些|哪几|哪个|哪里|如何|怎么|怎样|是否|有没有|吗|呢|为什么|主要|情况|[?？]")
NUMBER_QUESTION = re.compile(r"多少|几[个项所名人次位年天种类条批家户套台万千百亿]|how (many|much)|数量|金额|比例|占比", re.I)
_NUMBER_UNIT = re.compile(
    r"(?:\d[\d,.]*|[零一二两三四五六七八九十百千]+)\s*(?:多|余)?\s*(?:万|亿|千|百)?\s*"
    r"(?:%|元|人次|人|所|个|名|套|项|平方米|亩|台|次|间|辆|户|家|条|本|吨|公里|千米|米|天|年|小时|倍|张|册|场|期"
    r"|班|门|批|座|处|篇|份|件|种|节|床|栋|位|届|岁|支|类|校|园|万)")

#: sentence features, in the order the sentence model's weights use them
SENTENCE_FEATURES = ("sim", "sim_gap", "sim_z", "coverage", "coverage_gap", "inv_rank", "number_hit",
                     "number_miss", "log_length", "context_coverage", "intro_coverage", "introduces",
                     "idf_coverage", "idf_coverage_gap")
#: where a sentence's coverage with its passage's title and headings sits among them
CONTEXT_COVERAGE = SENTENCE_FEATURES.index("context_coverage")
#: question features, in the order the found model's weights use them
QUESTION_FEATURES = ("best_prob", "best_sim", "best_sim_z", "max_sim", "max_sim_z", "max_coverage",
                     "best_context_coverage", "agreement", "best_inv_rank", "passages_coverage", "list_match",
                     "english", "colloquial")


def question_terms(question: str, colloquial: frozenset[str] = frozenset()) -> set[str]:
    """Character bigrams of the question's content (question words removed);
    an English question contributes its glossary terms, a colloquial phrase
    the reports' word for it (``colloquial``: the phrases to translate, as
    ``Searcher.colloquial``)."""
    if is_english(question):
        text = expand_english(question)
    else:
        text = _QUESTION_WORDS.sub(" ", match_form(in_official_words(question, colloquial)))
    return {b for part in text.split() for b in bigrams(part)}


def idf_coverages(terms: set[str], grams: list[set[str]]) -> list[float]:
    """Coverage of ``terms`` in each of several texts' bigrams, each term
    weighted by its inverse frequency among them (the question's candidate
    sentences)."""
    found = [g & terms for g in grams]
    df: dict[str, int] = {}
    for hits in found:
        for term in hits:
            df[term] = df.get(term, 0) + 1
    weight = {term: math.log((len(grams) + 1) / (1 + df.get(term, 0))) for term in terms}
    total = sum(weight.values()) or 1.0
    return [sum(weight[term] for term in hits) / total for hits in found]


def has_number_unit(folded: str) -> bool:
    """Whether a folded text holds a number with its unit."""
    return bool(_NUMBER_UNIT.search(folded))


def is_heading(span: "Span") -> bool:
    """A heading (``四、实施援企稳岗政策。``, as the outline found it) or the
    document's title: it names a topic and says nothing about it. A numbered
    line that the outline did not take for a heading
    (``4、切实抓好学校食品卫生安全工作,…。``) is a list item: a statement."""
    if span.folded.strip() == _folded_title(span.chunk.title):
        return True
    return display(span.text.strip()) in _displayed(tuple(span.chunk.section_at(span.start)))


def introduces(span: "Span") -> bool:
    """A heading, a title, or an introduction that ends in a colon: a line
    that is stated with the sentence that follows it, if at all."""
    return span.folded.strip().endswith(":") or is_heading(span)


@lru_cache(maxsize=4096)
def _displayed(section: tuple[str, ...]) -> frozenset[str]:
    """A section path's labels as displayed (computed once per path: every
    sentence of every candidate passage asks)."""
    return frozenset(display(label) for label in section)


@lru_cache(maxsize=4096)
def _folded_title(title: str) -> str:
    return match_form(title).strip()


@dataclass
class Candidates:
    """Every sentence of a question's retrieved passages with its signals."""

    question: str
    terms: set[str]
    spans: list[Span]
    number_question: bool
    colloquial: float = 0.0  # share of the question in colloquial phrases (``qa.glossary``)

    def matrix(self) -> np.ndarray:
        return np.array([s.features for s in self.spans], dtype="float64").reshape(len(self.spans),
                                                                                    len(SENTENCE_FEATURES))


def candidates(question: str, hits: list[Hit], facts: dict[str, list[Span]],
               colloquial: frozenset[str] = frozenset()) -> Candidates:
    """Every sentence of ``hits`` (from ``facts``) with its signals relative
    to this set of passages; ``colloquial``: the phrases to translate
    (``Searcher.colloquial``)."""
    terms = question_terms(question, colloquial)
    spans: list[Span] = []
    context: dict[int, tuple[float, float]] = {}  # id(span) -> (context coverage, intro coverage)
    for hit in hits:
        heading = " ".join([hit.chunk.title, *hit.chunk.section])
        heading_chars = word_chars(match_form(heading))
        heading_grams = pairs(heading_chars)
        intro = 0.0
        for base in facts[hit.chunk.chunk_id]:
            span = base.fresh()
            span.rank, span.coverage = hit.rank, share(terms, span.grams)
            # the bigrams of "heading sentence": both texts' and the one across the seam
            seam = {heading_chars[-1] + span.chars[0]} if heading_chars and span.chars else set()
            leads_in = introduces(span)
            context[id(span)] = (share(terms, heading_grams | span.grams | seam), intro, float(leads_in))
            if leads_in:
                intro = span.coverage
            spans.append(span)
    number_question = bool(NUMBER_QUESTION.search(question))
    if spans:
        sims = np.array([s.sim for s in spans])
        mean, std = sims.mean(), sims.std() + 1e-3
        top_sim, top_cov = sims.max(), max(s.coverage for s in spans)
        rare = idf_coverages(terms, [s.grams for s in spans])
        top_rare = max(rare)
        for s, idf_cov in zip(spans, rare):
            number = has_number_unit(s.folded) if number_question else False
            s.features = [s.sim, s.sim - top_sim, (s.sim - mean) / std, s.coverage, s.coverage - top_cov,
                          1.0 / s.rank, float(number_question and number),
                          float(number_question and not number), math.log(len(s.text)) / 5,
                          *context[id(s)], idf_cov, idf_cov - top_rare]
    return Candidates(question, terms, spans, number_question, colloquial_share(question, colloquial))


def question_features(cands: Candidates, best: Span, list_match: float = 0.0) -> list[float]:
    """Signals that the best sentence answers the question: its probability,
    its similarity (raw and relative), the question's best similarity and
    coverage, whether the dense and lexical signals agree on one passage, and
    how much of the question the best passages mention at all. A question
    names its document (年份, issuer, region), which the title and headings
    hold rather than the sentence, so the best sentence's coverage and the
    passages' are counted with them; for a list
    question, how well an enumeration's introduction matches it
    (``qa.enumeration.list_match``)."""
    spans = cands.spans
    by_sim = max(spans, key=lambda s: s.sim)
    by_cov = max(spans, key=lambda s: s.coverage)
    best_passages = {id(s.chunk): s.chunk for s in spans if s.rank <= 3}.values()
    mentioned = " ".join([*(f"{c.title} {' '.join(c.section)}" for c in best_passages),
                          *(s.text for s in spans if s.rank <= 3)])
    return [best.prob, best.sim, best.features[2], by_sim.sim, by_sim.features[2], by_cov.coverage,
            best.features[CONTEXT_COVERAGE],
            float(by_sim.chunk.chunk_id == by_cov.chunk.chunk_id), 1.0 / best.rank,
            coverage(cands.terms, mentioned), list_match, float(is_english(cands.question)), cands.colloquial]
