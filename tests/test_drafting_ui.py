"""The 起草助手 tab's handlers (qa/ui/drafting.py) over the app's real index
(the seed corpus plus a report holding markup)."""

from __future__ import annotations

import csv

import pytest

from qa.ui import drafting as drafting_ui
from qa.index.protocol import Filter

XSS_SENTENCE = "本次网络安全演练共发现两类攻击样本，第一类样本为<script>alert(1)</script>，第二类样本为<img src=x onerror=alert(1)>，均已被系统拦截并记录在案。"
DRAFT = f"一、总体情况\n{XSS_SENTENCE}\n继续加强校园网络安全防护，定期开展网络安全演练。"


@pytest.fixture(scope="module")
def analyzed(app_ui):
    ticks = []
    state, status = drafting_ui.analyze(DRAFT, None, 3, progress=lambda done, total: ticks.append((done, total)))
    return state, status, ticks


def test_analyze_reports_every_sentence_with_progress(analyzed):
    state, status, ticks = analyzed
    assert [r["n"] for r in state["results"]] == [1, 2, 3]
    assert ticks[0] == (0, 3) and ticks[-1] == (3, 3)
    assert "3 句" in status and "沿用" in status
    assert state["results"][1]["reuse"] >= 0.95  # copied from the markup report


def test_markup_is_escaped_everywhere(analyzed):
    state, _, _ = analyzed
    page = drafting_ui.draft_html(state, 2)
    cards, citations = drafting_ui.precedents_view(state, 2)
    for html in (page, cards):
        assert "<script>" not in html and "<img" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'class="qa-s qa-selected" data-n="2"' in page
    assert '<mark class="qa-hl">' in cards
    assert citations.splitlines()[0].startswith("《网络安全演练总结报告》 一、演练基本情况：“")
    assert "<script>alert(1)</script>" in citations  # plain text for the clipboard


def test_exports(analyzed, tmp_path):
    state, _, _ = analyzed
    with open(drafting_ui.export_table(state, "csv", tmp_path), encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == drafting_ui.TABLE_HEADERS and len(rows) == 4
    assert rows[2][5] == "《网络安全演练总结报告》 一、演练基本情况" and rows[2][4] == "沿用"
    markdown = open(drafting_ui.export_table(state, "markdown", tmp_path), encoding="utf-8").read()
    assert "| 2 | 2 |" in markdown and "《网络安全演练总结报告》" in markdown
    import docx

    document = docx.Document(drafting_ui.export_table(state, "docx", tmp_path))
    cells = [c.text for row in document.tables[0].rows for c in row.cells]
    assert "《网络安全演练总结报告》 一、演练基本情况" in cells
    assert drafting_ui.export_table({}, "csv", tmp_path) is None


def test_bad_drafts_get_a_reason(app_ui, tmp_path):
    """In Chinese, with what to do, and no server path (issue 26: "无法分析草稿：draft /tmp/…: empty file")."""
    state, status = drafting_ui.analyze("  \n ", None)
    assert state["results"] == [] and "草稿是空的" in status
    too_long = "".join(f"第{i}项教育工作稳步推进。" for i in range(drafting_ui.MAX_UI_CHARS // 10))
    state, status = drafting_ui.analyze(too_long, None)
    assert state["results"] == [] and f"{drafting_ui.MAX_UI_CHARS:,}" in status
    (tmp_path / "x.txt").write_bytes(bytes(range(256)) * 20)
    state, status = drafting_ui.analyze("", str(tmp_path / "x.txt"))
    assert status.startswith("无法分析草稿：文件内容不是文字") and str(tmp_path) not in status, status
    (tmp_path / "empty.txt").write_bytes(b"")
    state, status = drafting_ui.analyze("", str(tmp_path / "empty.txt"))
    assert status.startswith("无法分析草稿：文件是空的") and "/" not in status, status
    assert "请先分析草稿" in drafting_ui.precedents_view({}, 1)[0]


def test_filters():
    assert drafting_ui.draft_filter(0, [], None) is None
    # documents without a year are kept under "before year", and the status says how many
    assert drafting_ui.draft_filter("2015", ["a"], ["b"]) == Filter(
        doc_ids=frozenset({"a"}), before_year=2015, exclude_doc_ids=frozenset({"b"}), undated=True)


def test_year_column_scope_note_and_relevance(app_ui):
    """Issue 26: the 年份 column is filled, "before year" says what it excluded, the card
    shows the calibrated 相关度 instead of the cosine."""
    draft = "一、基本情况\n重点建设项目时间过半，任务过半。\n加强校园安全管理。"
    state, status = drafting_ui.analyze(draft, None, 3, before_year=2025)
    assert "只看 2025 年之前：排除 0 篇" in status and "未标年份的报告" in status
    assert "1 句为标题（不计沿用）" in status
    rows = drafting_ui.table_rows(state)
    assert rows[0][4] == "标题"
    assert rows[1][6] == 2024 and rows[1][4] == "沿用"  # copied from 2024年教育局上半年教育工作总结…
    cards, citations = drafting_ui.precedents_view(state, 2)
    assert "相关度" in cards and "相似度" not in cards and "2024年" in cards
    assert citations.splitlines()[0].endswith("”") and "\n”" not in citations
    state, status = drafting_ui.analyze(draft, None, 3, before_year=2024)
    assert "排除 1 篇 2024 年及以后的报告" in status
    assert drafting_ui.table_rows(state)[1][4] != "沿用"  # the 2024 report is out of scope
