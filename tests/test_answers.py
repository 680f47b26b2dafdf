"""Cited answers: composition, citation integrity, no-answer, dev-set facts."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import QA_DATA, ROOT, readme_fields

from qa.ingest.corpus import ingest
from qa.search.query import QueryError
from qa.text.fold import normalize_text


@pytest.fixture(scope="module")
def documents(built_index):
    return {d.doc_id: d for d in ingest(built_index[0].corpus).documents}


def assert_citations_resolve(answer, documents):
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    numbers = {c.n for c in answer.citations}
    assert markers and markers <= numbers, answer.answer
    for c in answer.citations:
        assert documents[c.doc_id].text[c.start:c.end] == c.text  # verbatim quote


def test_teacher_exchange_measures_are_listed_with_citations(assistant, documents):
    answer = assistant.ask("教师交流的主要措施有哪些？")
    for measure in ("划片交流", "职称评审挂钩", "评先选优挂钩", "保障机制", "考核"):
        assert measure in answer.answer
    assert answer.answer.count("\n- ") >= 4
    assert all(any("教师交流工作" in s for s in c.section) for c in answer.citations)
    assert_citations_resolve(answer, documents)


def test_fact_answer_leads_with_the_fact(assistant, documents):
    answer = assistant.ask("新城第四初中整体新建工程投资了多少？")
    assert "3280万元" in answer.answer.splitlines()[0]
    assert_citations_resolve(answer, documents)


@pytest.mark.parametrize("question", ["火星探测器什么时候发射？", "Who won the football world cup?", "医院挂号怎么预约？"])
def test_uncovered_question_says_not_found(assistant, question):
    answer = assistant.ask(question)
    assert not answer.found
    assert answer.answer.startswith("未在报告中找到")
    assert answer.citations  # the nearest passages are still shown


def test_empty_question_is_refused(assistant):
    with pytest.raises(QueryError):
        assistant.ask("  ")


def test_cli_ask_json(built_index):
    out = subprocess.run(
        [sys.executable, "-m", "qa", "ask", "教师交流的主要措施有哪些？", "--json", "--index", str(built_index[0].index)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=True,
    )
    result = json.loads(out.stdout)
    outer, inner = readme_fields("ask --json")
    assert set(result) == outer, set(result) ^ outer  # fields are added (to the README too), never renamed
    assert result["mode"] == "extractive" and result["found"] is True and "划片交流" in result["answer"]
    assert [c["n"] for c in result["citations"]] == list(range(1, len(result["citations"]) + 1))
    for c in result["citations"]:
        assert set(c) == inner, set(c) ^ inner
    assert {int(n) for n in re.findall(r"\[(\d+)\]", result["answer"])} <= {c["n"] for c in result["citations"]}
    # "found": false of a declined question is what the answer gates count as declined (test_quality_gates.py)


# --- issue 13: answers that state what retrieval found ----------------------

#: the third question is answered, with the sentence on pupils' safety before and during the summer
#: holiday (防溺水安全教育 … 在放假前和暑期期间), not with the passage the issue names, which lists the
#: titles of notices (…暑假期间学生安全教育和管理工作的通知); strict, so a change shows
HOLIDAY_PASSAGE = pytest.mark.xfail(strict=True, reason="answered from another passage on the same topic (docs/answers.md)")


@pytest.mark.parametrize("question, sentence", [
    ("怎么让学生多锻炼身体？", "每天一小时校园体育活动"),
    ("学校乱收钱的事怎么管？", "教育收费的政策规定"),
    pytest.param("娃娃们放假在家的安全谁来管？", "暑假期间学生安全教育", marks=HOLIDAY_PASSAGE),
])
def test_colloquial_questions_are_answered_with_their_sentence(assistant, documents, question, sentence):
    """Colloquial words (乱收钱, 娃娃) reach the reports' words through the
    colloquial glossary, and the found model knows such questions
    (``qa.text.glossary``, docs/answers.md)."""
    answer = assistant.ask(question)
    assert answer.found, answer.answer
    assert sentence in normalize_text(answer.answer)  # folded: the stored text may keep the source's script
    assert_citations_resolve(answer, documents)


def test_colloquial_holiday_question_is_answered_about_holiday_safety(assistant, documents):
    answer = assistant.ask("娃娃们放假在家的安全谁来管？")
    assert answer.found, answer.answer
    assert "暑期" in answer.answer.splitlines()[0] and "安全" in answer.answer.splitlines()[0]
    assert_citations_resolve(answer, documents)


def test_teacher_shortage_is_answered_with_teacher_supply(assistant):
    """Not with 对近期能解决的问题,立即予以解决, a sentence that shares words and says nothing."""
    answer = assistant.ask("老师不够用的问题怎么解决？")
    text = normalize_text(answer.answer)
    assert "对近期能解决的问题,立即予以解决" not in text
    assert answer.found and "补充" in text.splitlines()[0], answer.answer


def test_list_answer_keeps_only_the_items_on_the_topic(assistant, documents):
    answer = assistant.ask("天元区采取了哪些措施推进教师交流？")
    text = normalize_text(answer.answer)
    assert "县域内教师交流机制" in text
    for other in ("引进外地市学科带头人", "教师培训超市", "课程能力"):
        assert other not in text
    assert_citations_resolve(answer, documents)


def test_county_teacher_exchange_measures_are_all_listed(assistant, documents):
    answer = assistant.ask("这个县在教师交流方面采取了哪些措施？")
    assert answer.found
    text = normalize_text(answer.answer)
    assert "一是实行划片交流" in text and "五是加强教师交流工作的考核" in text
    assert_citations_resolve(answer, documents)


def test_a_question_the_reports_cannot_answer_is_declined(assistant):
    """n01 of dev_unanswerable.jsonl; the share declined on every set is gated
    against the committed figure by tests/test_quality_gates.py."""
    question = json.loads((QA_DATA / "dev_unanswerable.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert question["id"] == "n01"
    answer = assistant.ask(question["question"])
    assert not answer.found and answer.answer.startswith("未在报告中找到")


def test_follow_ups_lean_on_the_previous_question_and_others_stand_alone(assistant):
    listed = assistant.ask("教师交流的主要措施有哪些？")
    second = assistant.ask("二是什么？", history=["教师交流的主要措施有哪些？"])
    assert second.found and second.answer.startswith("二是") and second.citations[0].text in listed.answer
    alone = assistant.ask("这个县在教师交流方面采取了哪些措施？")
    after = assistant.ask("这个县在教师交流方面采取了哪些措施？", history=["贫困学生怎么资助？"])
    assert after.answer == alone.answer


def test_an_ordinal_reads_its_list_across_passages_and_the_last_item_with_its_body(assistant, documents):
    """The 改革 list of seed 001 starts in one passage and ends in the next;
    what "最后一项试点选在哪了" asks is in the sentences under the item."""
    question = "上半年改革这块都推了哪些"
    last = assistant.ask("最后一项试点选在哪了", history=[question])
    assert last.found and last.answer.startswith("四是开展民办教育分类管理改革试点") and "确定炎陵县为试点单位" in last.answer
    assert last.resolved == f"{question}（最后一项）"
    first = assistant.ask("头一项是什么", history=[question])
    assert first.answer.startswith("一是积极稳妥推进中小学教育质量综合评价改革")
    assert first.citations[0].doc_id == last.citations[0].doc_id
    assert_citations_resolve(last, documents)
    assert last.citations[0].section == ["一、上半年工作总结", "（三）改革为旗，为各类教育持续发展增添动力"]


def test_a_list_inside_an_item_answers_over_the_outer_list(assistant):
    """"1、加强校舍建设,改善办学条件。一是…二是…三是…" (seed 002): the
    second task is 二是, not the outline's next heading "2、加强教育信息化建设"."""
    second = assistant.ask("第二项呢？", history=["2012年加强校舍建设要完成哪几项任务？"])
    assert second.answer.startswith("二是完成新城四中整体新建工程"), second.answer


def test_an_ordinal_counts_the_items_of_a_list_written_without_numbers(assistant, documents):
    """Seed 001 lists four 转型 in one sentence, and seed 003 three “…通” before "建设和…":
    "第三个转型" / "第三个通" is the third part that names the word."""
    third = assistant.ask("其中第三个转型是怎么说的", history=["高中教育转型提质具体尝试了哪几个方面的转型"])
    assert third.answer.startswith("课堂教学向激发学生自主学习动力转型"), third.answer
    tong = assistant.ask("第三个通是啥", history=["教育信息化要完成哪几个“通”的建设"])
    assert tong.answer.startswith("“网络学习空间人人通”"), tong.answer
    assert_citations_resolve(third, documents)
    assert_citations_resolve(tong, documents)


def test_section_passage_is_an_exact_slice_of_its_document(assistant, documents):
    from qa.answer.sections import section_passage

    chunks = [c for c in assistant.searcher.index.chunks() if c.doc_id.startswith("001_")]
    chunks.sort(key=lambda c: c.start)
    middle = next(c for c in chunks if c.text.startswith("出台《株洲市2015年普通高中招生实施方案》"))
    joined = section_passage(middle, chunks)
    assert joined.start < middle.start and joined.end >= middle.end and joined.section == middle.section
    assert documents[joined.doc_id].text[joined.start:joined.end] == joined.text
    assert section_passage(chunks[0], chunks) is chunks[0]  # the title passage has no section to join


def test_follow_up_reading():
    from qa.answer.followup import LAST, resolve

    assert resolve("第三条呢？", ["有哪些措施？"]).item == 3
    assert resolve("其中第三个是什么", ["有哪些困难和问题"]).item == 3
    assert resolve("第二件要求啥时候完成？", ["要干哪几件事"]).item == 2
    assert resolve("最后一项试点选在哪了", ["改革这块都推了哪些"]).item == LAST
    assert (resolve("第三个“通”是啥", ["要完成哪几个“通”"]).counted, resolve("第四个呢？", ["有哪些"]).counted) == ("通", None)
    assert resolve("三个统筹是什么", ["有哪些措施？"]).item is None  # a named thing, not the third item
    assert resolve("第一批试点学校有哪些", ["有哪些措施？"]).item is None
    assert resolve("该校最后要通过什么验收", ["县职业中专在创建什么示范校"]).question == "县职业中专创建示范校最后要通过什么验收"
    assert resolve("那个板房学校用了几天建好的？", ["清平泥石流之后学校开学受影响没有"]).question.startswith("清平泥石流")
    unrelated = "师德考核结果在评先、晋级这些方面怎么用？"  # 这些 sums up the question's own list
    assert resolve(unrelated, ["株洲今年高考本科一批上线了多少人？"]).question == unrelated
    assert resolve("那学校安全怎么管", ["教师交流有哪些措施？"]).question == "那学校安全怎么管"
    assert resolve("那农村学校呢？", ["城区学校的教师交流措施有哪些？"]).question == "农村学校的教师交流措施有哪些？"
    assert resolve("这个县在教师交流方面采取了哪些措施？", ["贫困学生怎么资助？"]).question == "这个县在教师交流方面采取了哪些措施？"
    assert resolve("二是什么？", None).item is None


# `qa ask --batch --json` scored by the vendored score_answers.py on every answer set: tests/test_quality_gates.py
