"""The drafting assistant (issue 16) on the real seed index and model:
precedents per sentence, the reuse measure, self-exclusion, the edges, and
the ``qa draft`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.drafting.draft import MAX_DRAFT_CHARS, DraftError, prepare_draft, read_draft
from qa.drafting.finder import REUSE_GRAM, REUSED, DraftFinder, reuse_mark
from qa.text.fold import fold_chars as fold
from qa.text.ngrams import shared_spans
from qa.index.protocol import Filter
from qa.ingest.corpus import ingest

ROOT = Path(__file__).resolve().parent.parent
NEW_SENTENCE = "今天下午我们去植物园看了郁金香，回来的路上买了一袋橘子。"
SMALL_DOC = "004_ff206d9b35db66e5.txt#3"


@pytest.fixture(scope="module")
def finder(searcher):
    return DraftFinder(searcher)


@pytest.fixture(scope="module")
def documents(built_index):
    return {d.doc_id: d for d in ingest(built_index[0].corpus).documents}


def _sentence_of(documents, doc_id: str, contains: str) -> str:
    text = documents[doc_id].text
    draft = prepare_draft(text)
    return next(s.text for s in draft.sentences if contains in s.text)


def test_fold_ignores_width_case_script_and_punctuation():
    assert fold("ＡＢ，學校。")[0] == fold("ab,学校")[0] == "ab学校"
    text = "（一）加强ＡＩ教育。"
    folded, positions = fold(text)
    assert "".join(text[i] for i in positions) == "一加强ＡＩ教育"


def test_shared_spans_mark_only_common_wording():
    spans = shared_spans("全面推进教师交流工作，效果明显。", "我们全面推进教师交流工作", REUSE_GRAM)
    assert [("全面推进教师交流工作。"[a:b]) for a, b in spans] == ["全面推进教师交流工作"]
    assert shared_spans("天气很好", "全面推进教师交流工作", REUSE_GRAM) == []


def test_copied_sentence_finds_its_source_and_new_wording_does_not(finder, documents):
    copied = _sentence_of(documents, "001_8088773ffad2292a.txt", "重点建设项目时间过半")
    draft = prepare_draft(f"{copied}\n{NEW_SENTENCE}")
    first, second = list(finder.find(draft, top_k=3))
    best = first.precedents[0]
    assert best.doc_id == "001_8088773ffad2292a.txt"
    assert copied in best.text or best.text in copied
    assert best.reuse >= 0.95 and reuse_mark(first.reuse) == "沿用"
    assert [p.rank for p in first.precedents] == [1, 2, 3]
    assert first.precedents[0].score >= first.precedents[1].score >= first.precedents[2].score
    assert second.reuse < REUSED and reuse_mark(second.reuse) in ("新", "部分")
    # offsets point into the cleaned document
    assert documents[best.doc_id].text[best.start:best.end] == best.text
    assert best.citation.startswith(f"《{best.title}》")


def test_filters_restrict_precedents(finder, documents):
    copied = _sentence_of(documents, "001_8088773ffad2292a.txt", "重点建设项目时间过半")
    draft = prepare_draft(copied)
    (result,) = finder.find(draft, 3, Filter(exclude_doc_ids=frozenset({"001_8088773ffad2292a.txt"})))
    assert result.precedents and all(p.doc_id != "001_8088773ffad2292a.txt" for p in result.precedents)
    assert result.reuse < 0.95
    (result,) = finder.find(draft, 3, Filter(doc_ids=frozenset({SMALL_DOC})))
    assert {p.doc_id for p in result.precedents} == {SMALL_DOC}


def test_a_draft_that_is_a_corpus_document_does_not_cite_itself(finder, documents):
    draft = prepare_draft(documents[SMALL_DOC].text)
    assert finder.documents_matching(draft) == {SMALL_DOC}
    cited = {p.doc_id for r in finder.find(draft, 3) for p in r.precedents}
    assert SMALL_DOC not in cited
    # the same text with its own document allowed: every sentence's best precedent is itself
    own = list(finder.find(draft, 1, exclude_self=False))
    assert own[0].sentence.kind == "title" and own[0].precedents == []  # its title line is not looked up
    own = own[1:]
    assert sum(r.precedents[0].doc_id == SMALL_DOC for r in own) >= 0.9 * len(own)
    # a part of it is not the document: nothing excluded by default
    part = prepare_draft("\n".join(documents[SMALL_DOC].text.split("\n")[1:4]))
    assert finder.documents_matching(part) == set()


def test_results_stream_one_batch_at_a_time(finder, documents):
    draft = prepare_draft(documents["000_31ca190cb7e5fb0d.txt"].text[:3000])
    assert len(draft.sentences) > 20
    ticks: list[tuple[int, int]] = []
    stream = finder.find(draft, 1, progress=lambda done, total: ticks.append((done, total)), batch=8)
    first = next(stream)
    assert first.sentence.n == 1 and ticks == [(0, len(draft.sentences))]
    for _ in range(8):
        next(stream)
    assert ticks[-1] == (8, len(draft.sentences))


@pytest.mark.parametrize("raw, message", [
    ("", "empty"), ("   \n\n  ", "empty"), ("。。！!\n——", "empty"),
    ("\x00\x01\x02\x03binary\x04\x05" * 20, "binary"),
])
def test_empty_or_binary_draft_is_refused_clearly(raw, message):
    with pytest.raises(DraftError, match=message):
        prepare_draft(raw)


def _long_draft(chars: int) -> str:
    lines, size, i = [], 0, 0
    while size < chars:
        line = "".join(f"第{i}-{k}项教育工作稳步推进。" for k in range(10))
        lines.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines)[:chars]


def test_draft_over_the_limit_is_refused_with_the_limit_named():
    with pytest.raises(DraftError, match=f"limit is {MAX_DRAFT_CHARS:,}"):
        prepare_draft(_long_draft(MAX_DRAFT_CHARS + 1))
    draft = prepare_draft(_long_draft(MAX_DRAFT_CHARS))
    assert len(draft.text) == MAX_DRAFT_CHARS and len(draft.sentences) > 10_000


def test_draft_files(tmp_path):
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)) * 50)
    with pytest.raises(DraftError, match="binary"):
        read_draft(tmp_path / "blob.txt")
    (tmp_path / "empty.md").write_bytes(b"")
    with pytest.raises(DraftError, match="empty"):
        read_draft(tmp_path / "empty.md")
    with pytest.raises(DraftError, match="unsupported draft type"):
        read_draft(tmp_path / "draft.pdf")
    import docx

    document = docx.Document()
    document.add_paragraph("一、总体要求")
    document.add_paragraph("全面推进教师交流工作。")
    document.save(str(tmp_path / "draft.docx"))
    draft = prepare_draft(read_draft(tmp_path / "draft.docx"))
    assert [(s.paragraph, s.text) for s in draft.sentences] == [(1, "一、总体要求"), (2, "全面推进教师交流工作。")]


def _qa(args: list[str], settings, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "qa", "draft", *args, "--index", str(settings.index)],
                          input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def test_qa_draft_command_json_and_text(built_index, documents, tmp_path, capsys):
    settings = built_index[0]
    copied = _sentence_of(documents, "001_8088773ffad2292a.txt", "重点建设项目时间过半")
    run = _qa(["-", "--json", "--top-k", "2"], settings, stdin=f"{copied}\n\n{NEW_SENTENCE}\n")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(r["n"], r["paragraph"]) for r in lines] == [(1, 1), (2, 2)]
    for key in ("n", "paragraph", "text", "start", "end", "precedents"):
        assert key in lines[0]
    best = lines[0]["precedents"][0]
    for key in ("rank", "score", "reuse", "doc_id", "title", "year", "section", "source", "start", "end", "text"):
        assert key in best
    assert best["doc_id"] == "001_8088773ffad2292a.txt" and best["reuse"] >= 0.95 and len(lines[0]["precedents"]) == 2

    # in-process from here (the model is loaded once per process)
    from qa.cli import main

    (tmp_path / "draft.txt").write_text(f"{copied}\n{NEW_SENTENCE}\n", encoding="utf-8")
    args = [str(tmp_path / "draft.txt"), "--index", str(settings.index)]
    assert main(["draft", *args]) == 0
    out = capsys.readouterr().out
    assert "¶1" in out and "¶2" in out and "[1] 沿用 1.00" in out
    assert f"← 《{documents['001_8088773ffad2292a.txt'].title}》" in out
    assert main(["draft", *args, "--exclude-doc", "001_8088773ffad2292a.txt"]) == 0
    out = capsys.readouterr().out
    assert f"《{documents['001_8088773ffad2292a.txt'].title}》" not in out and "《" in out

    (tmp_path / "blank.txt").write_text("\n\n", encoding="utf-8")
    assert main(["draft", str(tmp_path / "blank.txt"), "--index", str(settings.index)]) == 2
    assert "error: draft" in capsys.readouterr().err


# --- issue 26: what the scores, marks and scope say -------------------------------------

def test_a_heading_or_the_title_line_is_never_counted_as_reused(finder, documents):
    heading = "三、加强教师队伍建设"  # 003 has it word for word as a heading
    assert heading in documents["003_23cd2b7cd9c0da57.txt"].text
    draft = prepare_draft(f"青禾县教育局2025年工作要点\n{heading}。\n全面推进教师交流工作。")
    title, head, body = list(finder.find(draft, 3))
    assert title.sentence.kind == "title" and title.precedents == [] and title.mark == "标题"
    assert head.sentence.kind == "heading" and head.reuse >= 0.5 and head.mark == "标题"
    assert body.sentence.kind == "sentence" and body.mark in ("沿用", "部分", "新")
    assert head.to_dict()["mark"] == "标题" and head.to_dict()["kind"] == "heading"


def test_no_precedent_is_a_reports_title_line(finder, documents):
    titles = {d.title for d in documents.values()}
    draft = prepare_draft("教育局年度安全工作总结\n2024年教育局上半年教育工作总结及下半年工作计划。\n县教育局教育工作开展实施情况总结规划。")
    results = list(finder.find(draft, 3))
    assert results[0].sentence.kind == "title" and results[0].precedents == []  # the draft's own title: not looked up
    for result in results[1:]:
        assert result.precedents and not any(p.text.strip("。 ") in titles for p in result.precedents)


def test_a_precedent_quote_has_no_stray_line_break(finder):
    # "一、夯实教育发展基础" ends its line without punctuation: its sentence span runs to the line break
    (result,) = finder.find(prepare_draft("一、夯实教育发展基础"), 3)
    best = result.precedents[0]
    assert best.text == "一、夯实教育发展基础" and best.citation
    for p in result.precedents:
        assert p.text == p.text.strip() and not p.text.endswith("\n")


def test_relevance_tells_the_same_measure_from_another_subject(finder, documents):
    """The shown figure is a calibrated chance (bench/bench_drafting_calibration.py), not the
    cosine: e5 gives an unrelated pair about the cosine of a related one."""
    copied = _sentence_of(documents, "001_8088773ffad2292a.txt", "重点建设项目时间过半")
    same, other = finder.find(prepare_draft(f"{copied}\n{NEW_SENTENCE}"), 1)
    assert same.precedents[0].relevance >= 0.9 and same.precedents[0].to_dict()["relevance_mark"] == "很可能同一事项"
    assert other.precedents[0].relevance < 0.4 and other.precedents[0].to_dict()["relevance_mark"] == "关联弱"
    assert other.precedents[0].cosine > 0.8  # what the tab showed as 相似度 before


def test_before_year_keeps_undated_reports_and_says_how_many(finder, documents):
    from qa.drafting import precedent_filter

    draft = prepare_draft("加强校园安全管理。")
    where = precedent_filter(2020)
    scope = finder.summary(draft, where)
    years = [d.year for d in documents.values()]
    assert scope.documents == len(documents) == 18
    assert scope.later == sum(1 for y in years if y is not None and y >= 2020) == 1  # 001 (2024)
    assert scope.undated == sum(1 for y in years if y is None) == 14
    assert scope.searched == 17
    note = scope.note()
    assert "排除 1 篇 2020 年及以后的报告" in note and "保留 14 篇未标年份的报告" in note
    (result,) = finder.find(draft, 10, where)
    assert all(p.year is None or p.year < 2020 for p in result.precedents)
    assert any(p.year is None for p in result.precedents)
    # the 2024 report's copied sentence is not found before 2024, but is in 2025
    copied = _sentence_of(documents, "001_8088773ffad2292a.txt", "重点建设项目时间过半")
    (before,) = finder.find(prepare_draft(copied), 3, precedent_filter(2024))
    (after,) = finder.find(prepare_draft(copied), 3, precedent_filter(2025))
    assert before.reuse < 0.5 and after.reuse >= 0.95 and after.precedents[0].year == 2024


def test_qa_draft_before_year_says_what_it_excluded(built_index):
    run = _qa(["-", "--json", "--before-year", "2020"], built_index[0], stdin="加强校园安全管理。\n")
    assert run.returncode == 0, run.stderr
    assert "排除 1 篇 2020 年及以后的报告" in run.stderr and "保留 14 篇未标年份的报告" in run.stderr
    (line,) = [json.loads(x) for x in run.stdout.splitlines()]
    for key in ("relevance", "relevance_mark", "region", "year", "cosine"):
        assert key in line["precedents"][0]
    assert line["kind"] == "sentence" and line["mark"] in ("沿用", "部分", "新")


def test_qa_draft_before_year_takes_precedents_only_from_earlier_reports(gov_asked_index, tmp_path, capsys):
    """``qa draft --before-year 2024`` on government reports whose lines carry
    a year: a passage of the 2024 report finds itself without the filter and
    only earlier reports' wording with it (the 2022 report says much the same)."""
    from qa.cli import main

    settings = gov_asked_index[0]
    docs = {d.year: d for d in ingest(settings.corpus).documents if d.year}
    report = docs[2024].text
    start = report.index("国内生产总值")
    draft = tmp_path / "draft.txt"
    draft.write_text(report[start:report.index("\n", start + 200)], encoding="utf-8")
    args = ["draft", str(draft), "--json", "--index", str(settings.index)]

    assert main(args) == 0
    plain = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(plain) >= 3 and all(r["precedents"] for r in plain)
    assert {r["precedents"][0]["year"] for r in plain} == {2024}  # each sentence is in the 2024 report
    assert main(args + ["--before-year", "2024"]) == 0
    earlier = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in earlier] == [r["text"] for r in plain]
    years = {int(p["year"]) for r in earlier for p in r["precedents"]}
    assert years and max(years) < 2024, years
    assert any(p["reuse"] >= REUSED for r in earlier for p in r["precedents"])  # earlier reports said some of it
