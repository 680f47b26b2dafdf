"""Build -> search round trips on the real seeds with the real model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

from qa.index.protocol import Filter
from qa.search.query import QueryError


def _texts(hits):
    return [h.chunk.text.replace("\n", "") for h in hits]


def test_teacher_exchange_question_finds_measures_with_section_path(searcher):
    hits = searcher.search("教师交流的主要措施有哪些？", top_k=3)
    match = [h for h in hits if "实行划片交流" in h.chunk.text]
    assert match, _texts(hits)
    assert any("开展校长、教师交流工作" in heading for heading in match[0].chunk.section)


def test_english_question_returns_chinese_passage(searcher):
    hits = searcher.search("How much was invested in building the new Xincheng No. 4 junior middle school?", top_k=5)
    assert any("投资3280万元" in t for t in _texts(hits))


def test_traditional_question_is_normalized(searcher):
    hits = searcher.search("學前教育如何防止小學化傾向？", top_k=3)
    assert any("防止并纠正学前教育小学化倾向" in t for t in _texts(hits))


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_every_mode_returns_ranked_hits(searcher, mode):
    hits = searcher.search("教师交流的主要措施有哪些？", top_k=4, mode=mode)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert len(hits) == 4
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    # the passage that lists the measures (004 篇十一) is first in every mode; top 4 leaves a margin
    assert any("实行划片交流" in t for t in _texts(hits)), _texts(hits)


def test_dense_mode_finds_a_question_worded_unlike_its_passage(searcher):
    """Dense retrieval on its own: 001's "强化安全教育，开展防溺水……等10项专题
    教育活动" for a question in other words (rank 1 here; top 3 leaves a margin)."""
    hits = searcher.search("学校给学生上了哪些防范危险的课？", top_k=3, mode="dense")
    assert any("防溺水" in t for t in _texts(hits)), _texts(hits)


def test_filters_restrict_results(searcher):
    hits = searcher.search("安全工作", top_k=5, where=Filter(title_contains="篇十一"))
    assert hits and all("篇十一" in h.chunk.title for h in hits)
    doc = hits[0].chunk.doc_id
    hits = searcher.search("安全工作", top_k=5, where=Filter(doc_ids=frozenset({doc})))
    assert hits and {h.chunk.doc_id for h in hits} == {doc}


@pytest.mark.parametrize("query", ["", "   ", "?!。，", "\x00\x01"])
def test_queries_without_words_are_refused_clearly(searcher, query):
    with pytest.raises(QueryError, match="empty|no words"):
        searcher.search(query)


@pytest.mark.parametrize("query", ["教育" * 5000, "😀 教师 培训 😀", "SELECT * FROM chunks; --", "教师.*[(培训", "學校 school 学校"])
def test_odd_queries_do_not_crash(searcher, query):
    assert isinstance(searcher.search(query, top_k=3), list)


def test_hits_cite_exact_document_spans(searcher):
    from qa.ingest.corpus import ingest

    docs = {d.doc_id: d for d in ingest(searcher.settings.corpus).documents}
    for hit in searcher.search("教育督导", top_k=10):
        c = hit.chunk
        assert docs[c.doc_id].text[c.start:c.end] == c.text


def test_cli_search_json_shape(built_index):
    settings, _ = built_index
    out = subprocess.run(
        [sys.executable, "-m", "qa", "search", "教师交流的主要措施有哪些？", "--json", "--top-k", "3",
         "--index", str(settings.index)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=True,
    )
    result = json.loads(out.stdout)
    assert result["query"] == "教师交流的主要措施有哪些？"
    assert len(result["results"]) == 3
    for field in ("rank", "score", "doc_id", "title", "section", "source", "start", "end", "text"):
        assert field in result["results"][0]


def test_cli_batch_search(built_index, tmp_path):
    settings, _ = built_index
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "question": "全市现有多少所中小学校？"}\n{"id": "b", "question": "校车"}\n',
                         encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "qa", "search", "--batch", str(questions), "--json", "--top-k", "10",
         "--index", str(settings.index)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=True,
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert all(len(line["results"]) == 10 for line in lines)


@pytest.mark.parametrize("question, evidence", [
    # tests/data/colloquial2_questions.jsonl d39 and d23, written by someone who never saw the glossary
    ("穷人家的女娃上职校，帮了多少个？", "资助贫困家庭女童3500人就读职业学校"),
    ("学校看大门的那间屋子有没有统一的标准？", "积极推动校园门卫室标准化建设"),
])
def test_colloquial_question_finds_the_passage_in_the_reports_words(searcher, question, evidence):
    """Neither question shares its key words with its passage (女娃/女童,
    职校/职业学校, 看大门/门卫室): the colloquial glossary gives BM25 the
    reports' words."""
    from qa.text.glossary import lexical_query

    assert lexical_query(question, searcher.colloquial) != question
    hits = searcher.search(question, 5)
    assert any(evidence in hit.chunk.text for hit in hits)


def test_colloquial_query_vector_averages_the_asked_and_the_reports_words(searcher):
    import numpy as np

    from qa.text.glossary import in_official_words

    plain = "全县初中教师学历合格率达到多少？"
    assert np.allclose(searcher.query_vector(plain), searcher.embedder.encode_queries([plain])[0])
    asked = "穷人家的女娃上职校，帮了多少个？"
    official = in_official_words(asked, searcher.colloquial)
    assert official != asked
    both = searcher.embedder.encode_queries([asked, official]).sum(axis=0)
    vector = searcher.query_vector(asked)
    assert np.allclose(vector, both / np.linalg.norm(both), atol=1e-5)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


def test_query_vector_is_encoded_once_per_question(searcher):
    """``ask`` reads the question's vector for the search and again for the
    answer signals: the second read must not encode again."""
    first = searcher.query_vector("全县初中教师学历合格率达到多少？")
    assert searcher.query_vector("全县初中教师学历合格率达到多少？") is first
