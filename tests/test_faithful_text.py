"""Issue 12: stored text is the source's own, and nothing with text is lost.

A drafter copies citations into official prose, which uses full-width
punctuation (GB/T 15834), and scorers compare quotes with the source: a quote
must be the file's characters. Cleaning may only re-break lines and remove
chrome; width folding is for matching alone. Built on real notices
(tests/data/fullwidth) with the real model and a real index.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.ingest.cleaning import clean, clean_text
from qa.ingest.corpus import ingest

ROOT = Path(__file__).resolve().parents[1]
FULLWIDTH = Path(__file__).resolve().parent / "data" / "fullwidth"
GUANGXI = "b998c24335a93dc8b9d6d41485321b4b.txt"


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def fullwidth_index(tmp_path_factory):
    from qa.index.build import build
    from qa.answer import sentence_scorer
    from qa.search.searcher import Searcher
    from qa.settings import Settings

    base = tmp_path_factory.mktemp("fullwidth")
    corpus = base / "corpus"
    shutil.copytree(FULLWIDTH, corpus)
    # one-sentence notices in the legacy encodings offices still send
    (corpus / "gbk-notice.txt").write_bytes("关于寒假期间校车停运的通知：全县校车自腊月二十起停运。".encode("gbk"))
    (corpus / "utf16-notice.txt").write_bytes("关于图书馆闭馆消毒的通知：市图书馆周三闭馆消毒一天。".encode("utf-16"))
    settings = Settings.from_env(corpus=corpus, index=base / "index")
    report = build(settings)
    return Searcher(settings, sentence_scorer(settings)), report, corpus


def test_full_width_notice_keeps_its_punctuation_and_outline():
    (doc,) = ingest(FULLWIDTH, [FULLWIDTH / GUANGXI]).documents
    raw = (FULLWIDTH / GUANGXI).read_text(encoding="utf-8")
    assert _squeeze(doc.text) == _squeeze(raw)  # only line breaks changed: a flattened page got its paragraphs back
    assert "（二）受理举报的部门应对举报人信息严格保密。泄漏举报人信息的，依法依纪追究责任。" in doc.text
    assert doc.title == "广西壮族自治区新型冠状病毒感染的肺炎"  # the page's lead, not the file name


def test_search_quotes_equal_the_source(fullwidth_index):
    searcher, report, corpus = fullwidth_index
    hits = searcher.search("广西受理举报的部门如何处理举报人信息？", top_k=5)
    top = hits[0].chunk
    assert top.source == GUANGXI
    assert "严格保密。泄漏举报人信息的，依法依纪追究责任。" in top.text
    assert top.section == ["四、有关要求", "（二）受理举报的部门应对举报人信息严格保密"]
    for hit in hits:
        source = (corpus / hit.chunk.source).read_bytes()
        raw = source.decode("utf-16") if hit.chunk.source.startswith("utf16") else source.decode(
            "gbk" if hit.chunk.source.startswith("gbk") else "utf-8")
        assert _squeeze(hit.chunk.text) in _squeeze(raw), hit.chunk.chunk_id


def test_one_sentence_files_in_gbk_and_utf16_are_indexed_and_found(fullwidth_index):
    searcher, report, _ = fullwidth_index
    assert report.errors == [] and report.documents == 4
    (gbk,) = searcher.search("校车什么时候停运？", top_k=1)
    assert gbk.chunk.source == "gbk-notice.txt" and "腊月二十起停运。" in gbk.chunk.text
    (utf16,) = searcher.search("图书馆哪天闭馆", top_k=1, mode="bm25")
    assert utf16.chunk.source == "utf16-notice.txt" and "周三闭馆消毒一天。" in utf16.chunk.text


def test_a_paragraph_ending_in_ellipsis_is_prose_not_a_teaser():
    text = ("学校安全工作总结\n一、主要做法\n"
            "我们开展了防溺水、防交通事故、防校园欺凌、防食物中毒、防火灾、防地震、防踩踏、防触电、防传染病等专题教育……\n"
            "二、下一步打算\n继续抓好安全教育。")
    cleaned = clean(text)
    assert cleaned.text == text and cleaned.dropped == []


def test_two_teasers_of_a_related_list_are_chrome():
    teaser = "今年以来,在区委区政府的正确领导下,在上级主管部门的精心指导下,我们按照科学发展要求,坚持以全面提升教育教学质量为中心..."
    cleaned = clean(f"教育工作总结\n正文第一段。\n相关文章一\n{teaser}\n相关文章二\n{teaser}")
    assert teaser not in cleaned.text
    assert [rule for rule, _ in cleaned.dropped] == ["drop_excerpt_stubs", "drop_excerpt_stubs"]


def test_clean_corpus_keeps_every_file_and_sentence():
    """The government reports are clean pages: no file dropped, >= 99.5% of
    sentences verbatim (traditional -> simplified and whitespace aside)."""
    from qa.ingest.loading import read_file
    from qa.text.fold import repair_chars

    corpus = Path(__file__).resolve().parent / "data" / "fullwidth"
    result = ingest(corpus)
    assert result.errors == [] and {d.source for d in result.documents} == {p.name for p in corpus.glob("*.txt")}
    text = _squeeze("".join(d.text for d in result.documents))
    sentences = [_squeeze(s) for p in corpus.glob("*.txt") for raw in read_file(p)
                 for s in re.findall(r"[^。！？；\n]+[。！？；]?", repair_chars(raw.text)) if len(_squeeze(s)) >= 4]
    kept = sum(s in text for s in sentences)
    assert kept / len(sentences) >= 0.995, (kept, len(sentences))


def test_chunks_dropped_lists_every_removed_line_by_rule():
    env_python = [sys.executable, "-m", "qa", "chunks", "--corpus", str(ROOT / "corpus")]
    listed = subprocess.run([*env_python, "--dropped", "--json"], capture_output=True, text=True, check=True, cwd=ROOT)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    summary = subprocess.run(env_python, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    runs = [r for r in rows if r["rule"].endswith("_mojibake")]  # mojibake runs, repaired or cut out of a line
    rows = [r for r in rows if r not in runs]
    assert f"cleaning dropped {len(rows)} lines and repaired or cut {len(runs)} mojibake runs" in summary
    assert {"source": "000_31ca190cb7e5fb0d.txt", "rule": "drop_boilerplate", "line": "- 37.5 KB |"} in rows
    assert sum(r["rule"] == "drop_excerpt_stubs" for r in rows) == 3
    assert {"source": "004_ff206d9b35db66e5.txt", "rule": "repair_mojibake", "line": "?,F", "replacement": "。現"} in runs
    for row in rows:  # a dropped line is no line of the cleaned text (a repeated title keeps one copy)
        lines = clean_text((ROOT / "corpus" / row["source"]).read_text(encoding="utf-8")).split("\n")
        assert (row["line"] in lines) == (row["rule"] == "drop_repeated_titles" and lines.count(row["line"]) == 1), row
