"""The second stage (qa/search/second_stage.py) on the real seeds, index and model."""

from __future__ import annotations

import dataclasses

import pytest

QUESTION = "What was built in the first phase of relocating the No. 1 middle school?"
EVIDENCE = "一期工程六栋学生宿舍楼"


@pytest.fixture()
def stage(searcher):
    """Runs a search under other second-stage settings, then restores them."""
    saved = searcher.settings

    def run(question: str = QUESTION, top_k: int = 3, **settings):
        searcher.settings = dataclasses.replace(saved, **settings)
        return searcher.search(question, top_k=top_k)

    yield run
    searcher.settings = saved


def _first(hits) -> str:
    return hits[0].chunk.text.replace("\n", "")


def test_the_answer_sentence_lifts_the_passage_that_holds_the_answer(stage):
    """d25 of the dev set: the passage on the No. 1 middle school's first phase
    is ranked 3rd by best sentence similarity alone (the stage before), first
    once the answer-sentence ranking takes part (the defaults)."""
    assert EVIDENCE in _first(stage())
    before = stage(evidence_weight=0.0, rerank_weight=0.6, rerank_rrf_k=10)
    assert EVIDENCE not in _first(before) and any(EVIDENCE in h.chunk.text.replace("\n", "") for h in before)


def test_a_colloquial_paraphrase_is_ranked_by_similarity(stage):
    """o32 of the own set shares almost no word with its passage (剥离教育债务 for
    欠下的钱打算怎么处理): the answer-sentence ranking, which leans on the
    question's words, pushes it out of the top 5; the paraphrase weights keep it in."""
    question, evidence = "教育系统欠下的钱打算怎么处理？", "剥离教育债务"
    assert any(evidence in h.chunk.text for h in stage(question, top_k=5))
    assert not any(evidence in h.chunk.text for h in stage(question, top_k=5, paraphrase_coverage=0.0))


def test_answers_and_the_rerank_use_one_sentence_model(assistant):
    """bench/answer_cv.py swaps the model per fold: the searcher must rank with
    the same one the answer layer judges with."""
    model = assistant.model
    try:
        replacement = dataclasses.replace(model)
        assistant.model = replacement
        assert assistant.searcher.scorer.model is replacement
    finally:
        assistant.model = model
