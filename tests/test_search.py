"""Build -> search round trips on the real seeds with the real model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, readme_fields

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


@pytest.mark.parametrize("query, word", [
    ("教育" * 5000, "教育"),          # far beyond the model's 512 tokens
    ("😀 教师 培训 😀", "教师"),       # emoji around the words
    ("SELECT * FROM chunks; --", None),  # SQL is text, not a statement
    ("教师.*[(培训", "教师"),          # regex syntax is text, not a pattern
    ("學校 school 学校", "学校"),      # traditional, English and simplified
])
def test_odd_queries_give_ordinary_results(searcher, query, word):
    """An odd query is searched like any other: a full page of ranked,
    cited passages holding its words, and the index is unchanged after it."""
    chunks = len(searcher.index.chunks())
    hits = searcher.search(query, top_k=3)
    assert [h.rank for h in hits] == [1, 2, 3], _texts(hits)
    if word:
        assert any(word in t for t in _texts(hits)), _texts(hits)
    assert len(searcher.index.chunks()) == chunks


def test_hits_cite_exact_document_spans(searcher):
    from qa.ingest.corpus import ingest

    docs = {d.doc_id: d for d in ingest(searcher.settings.corpus).documents}
    hits = searcher.search("教育督导", top_k=10)
    assert len(hits) == 10 and len({h.chunk.doc_id for h in hits}) > 1
    for hit in hits:
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
    outer, documented = readme_fields("search --json")
    assert set(result) == outer and result["query"] == "教师交流的主要措施有哪些？"
    assert [r["rank"] for r in result["results"]] == [1, 2, 3]
    for r in result["results"]:
        assert set(r) == documented, set(r) ^ documented  # fields are added (to the README too), never renamed
        assert r["chunk_id"].startswith(r["doc_id"] + "@") and isinstance(r["also_in"], list)
        assert isinstance(r["score"], float) and isinstance(r["section"], list) and r["end"] - r["start"] == len(r["text"])
    assert any("实行划片交流" in r["text"] for r in result["results"])



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


def test_cli_search_filters_by_document_and_title(built_index):
    """``qa search --doc ID`` (repeatable) and ``--title TEXT``: every result
    from the named documents, or from documents whose title holds the text."""
    settings, _ = built_index
    base = [sys.executable, "-m", "qa", "search", "安全工作", "--json", "--top-k", "5", "--index", str(settings.index)]

    def results(*flags: str) -> list[dict]:
        out = subprocess.run(base + list(flags), capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
        return json.loads(out.stdout)["results"]

    unfiltered = results()
    assert len({r["doc_id"] for r in unfiltered}) > 1
    first, second = unfiltered[0]["doc_id"], unfiltered[-1]["doc_id"]
    only = results("--doc", first)
    assert only and {r["doc_id"] for r in only} == {first}
    both = results("--doc", first, "--doc", second)
    assert {r["doc_id"] for r in both} == {first, second}
    titled = results("--title", "篇十一")
    assert titled and all("篇十一" in r["title"] for r in titled)
    assert results("--title", "没有这样的标题") == []


def test_cli_search_year_filter_on_the_government_reports(gov_asked_index):
    """``--year YYYY`` on reports whose JSONL lines carry ``year``: only that
    year's report, in every mode; a year no report has gives nothing."""
    settings, _ = gov_asked_index
    for mode in ("bm25", "hybrid"):
        out = subprocess.run([sys.executable, "-m", "qa", "search", "国内生产总值增长预期目标", "--json", "--top-k", "5",
                              "--year", "2022", "--mode", mode, "--index", str(settings.index)],
                             capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
        found = json.loads(out.stdout)["results"]
        assert len(found) == 5 and {r["title"] for r in found} == {"2022年中华人民共和国国务院政府工作报告"}, mode
    none = subprocess.run([sys.executable, "-m", "qa", "search", "国内生产总值", "--json", "--year", "1999", "--mode",
                           "bm25", "--index", str(settings.index)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=True)
    assert json.loads(none.stdout)["results"] == []


def test_query_vector_cache_under_concurrent_requests(built_index, monkeypatch):
    """The app's requests share one Searcher and its cache of query vectors
    (``Searcher.query_vector``). Threads ask at once, the cache kept small so
    that they evict each other's entries all the time: every vector is the
    question's own, the cache never outgrows its bound, and every read and
    write of the cache happens under the Searcher's lock (the cache is a
    dict that records any access made without it; a race that loses an entry
    or overfills the cache is too rare to wait for, an unguarded access is
    seen every time)."""
    import threading

    import numpy as np

    from qa.answer import sentence_scorer
    from qa.search import searcher as module

    monkeypatch.setattr(module, "QUERY_VECTORS_KEPT", 8)
    searcher = module.Searcher(built_index[0], sentence_scorer(built_index[0]))
    unguarded: list[str] = []

    class Guarded(dict):
        def _check(self, what: str) -> None:
            if not searcher._vectors_lock.locked():
                unguarded.append(what)

        def get(self, *args):
            self._check("get")
            return super().get(*args)

        def __setitem__(self, key, value):
            self._check("set")
            super().__setitem__(key, value)

        def pop(self, *args):
            self._check("pop")
            return super().pop(*args)

        def __len__(self):
            self._check("len")
            return super().__len__()

        def __iter__(self):
            self._check("iter")
            return super().__iter__()

    searcher._vectors = Guarded()
    topics = ["教师交流", "校车安全", "学前教育", "教育督导", "营养改善", "控辍保学", "职业教育", "校园足球",
              "心理健康", "学生资助", "教师培训", "校舍维修", "招生考试", "食品安全", "家庭教育", "特殊教育"]
    texts = [f"{topic}工作的主要做法" for topic in topics]
    expected = dict(zip(texts, searcher.embedder.encode_queries(texts)))
    got, errors, sizes = [], [], []

    def user(k: int) -> None:
        try:
            for i in range(40):
                text = texts[(i * 5 + k * 3) % len(texts)]
                got.append((text, searcher.query_vector(text)))
                with searcher._vectors_lock:
                    sizes.append(len(searcher._vectors))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=user, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    assert not unguarded, f"the query-vector cache was used without its lock: {sorted(set(unguarded))}"
    assert len(got) == 160 and max(sizes) <= 8
    for text, vector in got:
        assert np.allclose(vector, expected[text], atol=1e-5), text
