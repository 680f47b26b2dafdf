"""The second real corpus: government work reports and NPC resolutions
(1954-2025), one JSON object per line, scraped from wikisource.

It loads as one document per line (never split), cleans to simplified text
without the wikisource licence footer, and chunks along the reports' own
outline. By default the tests read the 8-line sample in ``tests/data/gov_reports``
(public-domain state documents, see ``tests/data/README.md``);
``QA_GOV_REPORTS=/path/to/government_work_reports.jsonl`` runs them on the
whole 72-report file, whose counts are then asserted as well.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import opencc
import pytest
from conftest import DATA

from qa.ingest.chunking import chunk_documents, document_lead
from qa.ingest.corpus import ingest
from qa.settings import ChunkSettings

FILE = Path(os.environ.get("QA_GOV_REPORTS") or DATA / "gov_reports" / "government_work_reports.jsonl")
CORPUS = FILE.parent
ROWS = [json.loads(line) for line in FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
FULL = len(ROWS) == 72  # the whole file: its exact counts are checked too
YEARS = {int(r["year"]) for r in ROWS if r["year"]}
RECENT = [y for y in (2025, 2024, 2022, 2021, 2019, 2016, 2015, 2014, 2012, 2010, 2009) if y in YEARS]


@pytest.fixture(scope="module")
def rows():
    return ROWS


@pytest.fixture(scope="module")
def built():
    started = time.perf_counter()
    result = ingest(CORPUS, files=[FILE])
    chunks = chunk_documents(result.documents)
    return result, chunks, time.perf_counter() - started


@pytest.fixture(scope="module")
def docs(built):
    return built[0].documents


@pytest.fixture(scope="module")
def chunks(built):
    return built[1]


def _report(docs, year: int):
    (doc,) = [d for d in docs if d.year == year and d.title.startswith(f"{year}年")]
    return doc


def _top_sections(chunks, doc_id: str) -> list[str]:
    tops: list[str] = []
    for chunk in chunks:
        if chunk.doc_id == doc_id and chunk.section and chunk.section[0] not in tops:
            tops.append(chunk.section[0])
    return tops


def test_ingest_and_chunk_the_whole_file_quickly(built):
    result, chunks, seconds = built
    assert result.errors == []
    assert len(chunks) > (2000 if FULL else 25 * len(YEARS))  # ~28 chunks a report
    assert seconds < 20, f"ingest + chunk took {seconds:.1f}s"


def test_one_document_per_line(rows, docs):
    assert len(docs) == len(rows) == (72 if FULL else len(rows))
    assert [d.doc_id for d in docs] == [f"government_work_reports.jsonl#L{k}" for k in range(1, len(rows) + 1)]
    assert all(d.source == "government_work_reports.jsonl" for d in docs)
    # titles come from the JSON as written (full-width brackets stay: citations quote the source)
    assert [d.title for d in docs] == [r["title"] for r in rows]
    for doc in docs:
        assert doc.text.startswith(doc.title + "\n")


def test_metadata_is_kept_for_filters(rows, docs):
    """The line's fields stay (url, year); its year is the document's, as a number; a
    resolution, whose year is null, is dated by its text (qa/ingest/metadata.py)."""
    for row, doc in zip(rows, docs):
        assert doc.meta["url"] == row["url"] and doc.region == "全国"
        if row["year"]:
            assert doc.meta["year"] == int(row["year"]) and doc.meta["year_source"] == "field"
    years = sorted(d.year for d, r in zip(docs, rows) if r["year"])
    assert years == sorted(int(r["year"]) for r in rows if r["year"])
    assert years[0] == 1954 and years[-1] == 2025 and (len(years) == 52 or not FULL)
    resolutions = [d for d, r in zip(docs, rows) if r["year"] is None]
    assert len(resolutions) == (20 if FULL else len(resolutions))
    assert resolutions and all(d.title.endswith("关于政府工作报告的决议") for d in resolutions)
    dated = [d for d in resolutions if d.year is not None]
    assert all(d.meta["year_source"] == "text" for d in dated)
    # the whole file: 18 of the 20 resolutions give a date ("（2023年3月13日…通过）", "…2014年…")
    assert len(dated) == (18 if FULL else len(resolutions))


def test_early_reports_are_converted_to_simplified(rows, docs):
    t2s = opencc.OpenCC("t2s")
    raw_1954 = next(r["content"] for r in rows if r["year"] == "1954")
    assert "我們第一届全國人民代表大會" in raw_1954
    assert "我们第一届全国人民代表大会第一次会议" in _report(docs, 1954).text
    for doc in docs:
        assert t2s.convert(doc.text) == doc.text, doc.doc_id


def test_full_width_forms_are_kept_and_headings_still_found(rows, docs, chunks):
    assert "一、１９９６年国内工作的回顾" in next(r["content"] for r in rows if r["year"] == "1997")
    for doc in docs:
        assert not re.search("[\u3000\u200b]", doc.text), doc.doc_id
    report = _report(docs, 1997)
    assert "一、１９９６年国内工作的回顾" in report.text  # the source's characters, for exact quotes
    # the outline reads the folded view: the full-width year still heads its section
    assert any(c.section and c.section[0] == "一、1996年国内工作的回顾" for c in chunks if c.doc_id == report.doc_id)


def test_wikisource_licence_footer_is_gone(rows, docs):
    assert all("Public domain" in r["content"] for r in rows if "本作品" in r["content"])
    for doc in docs:
        for junk in ("本作品", "公有领域", "Public domain", "维基文库", "\nfalse"):
            assert junk not in doc.text, (doc.doc_id, junk)
    assert _report(docs, 2025).text.endswith("为以中国式现代化全面推进强国建设、民族复兴伟业不懈奋斗！")


def test_lines_broken_around_links_are_joined(rows, docs):
    raw = rows[1]["content"]
    assert "李强所作的\n政府工作报告\n。会议" in raw
    assert "听取和审议了国务院总理李强所作的政府工作报告。会议充分肯定国务院过去一年的工作" in docs[1].text


def test_2025_report_follows_its_outline(docs, chunks):
    doc = _report(docs, 2025)
    assert _top_sections(chunks, doc.doc_id) == [
        "一、2024年工作回顾", "二、2025年经济社会发展总体要求和政策取向", "三、2025年政府工作任务"]
    (fact,) = [c for c in chunks if c.doc_id == doc.doc_id and "国内生产总值达到134.9万亿元" in c.text]
    assert fact.section == ["一、2024年工作回顾"]
    first = next(c for c in chunks if c.doc_id == doc.doc_id)
    assert first.section == [] and first.text.startswith(doc.title + "\n各位代表：")


@pytest.mark.parametrize("year", RECENT)
def test_recent_reports_open_with_a_review_of_the_past_year(docs, chunks, year):
    tops = _top_sections(chunks, _report(docs, year).doc_id)
    assert tops[0] == f"一、{year - 1}年工作回顾"
    assert all(re.match("^[一二三四五六七八九十]+、", label) for label in tops), tops


def test_2024_report_path_does_not_start_with_the_byline(docs, chunks):
    # the 2024 page opens "国务院总理\n李 强\n各位代表:" -- a byline, not a part of the report
    doc = _report(docs, 2024)
    assert "\n李 强\n" in doc.text
    assert _top_sections(chunks, doc.doc_id) == [
        "一、2023年工作回顾", "二、2024年经济社会发展总体要求和政策取向", "三、2024年政府工作任务"]


def test_no_junk_in_section_paths(chunks):
    enumerator = re.compile("^[一二三四五六七八九十]+条?[是要]$")
    for chunk in chunks:
        for label in chunk.section:
            assert not enumerator.match(label), (chunk.doc_id, label)
            assert label not in ("李强", "李克强", "国务院总理", "周恩来", "Public domain", "false"), (chunk.doc_id, label)
            assert "公有领域" not in label and "著作权法" not in label, (chunk.doc_id, label)


def test_chunks_slice_back_and_stay_bounded(docs, chunks):
    by_id = {d.doc_id: d for d in docs}
    for chunk in chunks:
        assert by_id[chunk.doc_id].text[chunk.start:chunk.end] == chunk.text
        assert len(chunk.text) <= ChunkSettings().max_chars * ChunkSettings().stretch
        assert chunk.meta == {**by_id[chunk.doc_id].meta, "lead": document_lead(by_id[chunk.doc_id])}
