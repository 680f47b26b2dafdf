"""Every document's year and issuing place (qa/ingest/metadata.py), on the real
seeds, the government reports and an uploaded report, and the filters and
interfaces they reach: chunk meta, ``search --json``, ``ask --json``
citations, the build manifest, the year filters of both backends.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import DATA, ROOT, SEED_CORPUS

from qa.index.protocol import Filter
from qa.ingest.chunking import chunk_documents
from qa.ingest.corpus import ingest
from qa.ingest.metadata import document_region, document_year, years_in

#: what each seed document gets, and why (corpus/README.md describes the files)
SEEDS = {
    # title: 教育局精神文明工作总结; the text dates only by "XX年11月" and names "**县教育局": anonymised
    "000_31ca190cb7e5fb0d.txt": (None, None),
    # the title's year, although the body reviews "2015年上半年" (the site re-dated the template);
    # 市教育局 of a city the text names only inside school and plan names (株洲市四中, 《株洲市…计划》)
    "001_8088773ffad2292a.txt": (2024, None),
    # no year in the title: the first dated line, "二0一一年工作回顾" (the report reviews 2011); "我市" unnamed
    "002_6921d1475b2d8838.txt": (2011, None),
    # 县教育局 of an unnamed county, no date anywhere
    "003_23cd2b7cd9c0da57.txt": (None, None),
    # 篇一: "20xx年" placeholders and "xx省2019装备标准" (no 年): no year
    "004_ff206d9b35db66e5.txt#1": (None, None),
    "004_ff206d9b35db66e5.txt#2": (None, None),
    "004_ff206d9b35db66e5.txt#3": (None, None),
    # 篇四: "20__年" placeholders; the first real date is a poem's "(二零一一年五月十一日)" (十二五的开局之年)
    "004_ff206d9b35db66e5.txt#4": (2011, None),
    "004_ff206d9b35db66e5.txt#5": (None, None),
    "004_ff206d9b35db66e5.txt#6": (None, None),
    "004_ff206d9b35db66e5.txt#7": (None, None),
    # 篇八: "一年来的安全工作和2014年下学期安全工作打算"; "我县" unnamed (赣州市 is a fire company's name)
    "004_ff206d9b35db66e5.txt#8": (2014, None),
    "004_ff206d9b35db66e5.txt#9": (None, None),
    "004_ff206d9b35db66e5.txt#10": (None, None),
    # 篇十一: "xx市教育局", 20xx年 throughout; 太原 is named but never as 太原市
    "004_ff206d9b35db66e5.txt#11": (None, None),
    "004_ff206d9b35db66e5.txt#12": (None, None),
    # 篇十三: 我市 is 南昌, but the text gives 南昌市 once (and 南昌县 once): not enough to name the issuer
    "004_ff206d9b35db66e5.txt#13": (None, None),
    # 篇十四: 全市 throughout, the opening says "促进当阳经济社会跨越发展" and the text names 当阳市;
    # 宜昌市, the parent city, is named more often but never in the opening
    "004_ff206d9b35db66e5.txt#14": (None, "当阳市"),
}


@pytest.fixture(scope="module")
def seed_docs():
    result = ingest(SEED_CORPUS)
    assert result.errors == []
    return {d.doc_id: d for d in result.documents}


def test_each_seed_document_gets_its_year_and_region(seed_docs):
    assert set(seed_docs) == set(SEEDS)
    got = {doc_id: (d.year, d.region) for doc_id, d in seed_docs.items()}
    assert got == SEEDS
    assert seed_docs["001_8088773ffad2292a.txt"].meta["year_source"] == "title"
    assert seed_docs["002_6921d1475b2d8838.txt"].meta["year_source"] == "text"
    assert seed_docs["004_ff206d9b35db66e5.txt#14"].meta["region_source"] == "text"
    undated = [d for d in seed_docs.values() if d.year is None]
    assert all("year" not in d.meta and "year_source" not in d.meta for d in undated)


def test_every_chunk_carries_its_documents_year_and_region(seed_docs):
    chunks = chunk_documents(list(seed_docs.values()))
    for chunk in chunks:
        doc = seed_docs[chunk.doc_id]
        assert (chunk.year, chunk.region) == (doc.year, doc.region)
        assert chunk.meta.get("year") == doc.meta.get("year")


def test_years_that_are_not_the_documents_date():
    assert years_in("20xx年是我市教育灾后重建的决胜年，20__年教研室，xxxx年，**年") == []
    assert years_in("全市教学设施设备均达到xx省2019装备标准") == []
    assert years_in("《国家中长期教育改革和发展规划纲要(2010-2020年)》") == []
    assert years_in("到2035年基本实现教育现代化；截至2023年底") == [2023]
    assert years_in("二〇二四年三月，2015-2017年") == [2024, 2015]
    assert years_in("发布于２０２４年") == [2024]  # full-width digits
    assert years_in("二ＯＯ五年工作总结，二OO六年计划") == [2005, 2006]  # a letter O for 〇, in either width
    # a title naming two years is dated by the first: the year it reports on
    assert document_year("2023年工作总结和2024年工作计划", "")[0] == 2023


def test_regions_only_where_the_issuer_is_named():
    assert document_region("县教育局教育工作开展实施情况总结规划", "充分发挥县教育局作用。")[0] is None
    assert document_region("工作总结", "工作总结\n**县教育局在深入贯彻……\nxx市教育局团结带领")[0] is None
    assert document_region("国家税务总局南阳市税务局", "")[0] == "南阳市"
    assert document_region("湖北省武汉市教育局关于做好招生工作的通知", "")[0] == "武汉市"
    assert document_region("某报告", "某报告\n2024年12月\n榆阳区教育局")[0] == "榆阳区"
    # a place the body mentions is not the issuer
    assert document_region("工作总结", "工作总结\n全市教育系统……接待和静县考察团，大邑县教育局表彰")[0] is None


def test_government_reports_years_come_from_their_field(rows=None):
    path = DATA / "gov_reports" / "government_work_reports.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = ingest(path.parent, files=[path]).documents
    for row, doc in zip(rows, docs):
        assert doc.region == "全国"
        if row["year"]:
            assert doc.year == int(row["year"]) and doc.meta["year_source"] == "field"
        else:  # the resolution has null: dated by "(2025年3月11日…通过)" or its first dated line
            assert doc.meta["year_source"] == "text" and doc.year == 2025, doc.title


def test_an_uploaded_report_is_dated_and_placed_by_its_name_and_title(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    # the year is only in the file name; the title line names the county
    (corpus / "青禾县教育局2025年课后服务工作总结.txt").write_text(
        "青禾县教育局课后服务工作总结\n一、基本情况\n全县32所学校开展课后服务，收费标准为每生每学期300元。\n",
        encoding="utf-8")
    # neither: the text's first dated line and its closing issuer line
    (corpus / "report.txt").write_text(
        "课后服务工作情况汇报\n二〇二三年，我区课后服务覆盖全部义务教育学校。\n榆阳区教育局\n", encoding="utf-8")
    docs = {d.source: d for d in ingest(corpus).documents}
    upload = docs["青禾县教育局2025年课后服务工作总结.txt"]
    assert (upload.year, upload.meta["year_source"]) == (2025, "file")
    assert (upload.region, upload.meta["region_source"]) == ("青禾县", "title")
    other = docs["report.txt"]
    assert (other.year, other.region, other.meta["region_source"]) == (2023, "榆阳区", "issuer")


def test_year_filter_and_json_fields_on_a_built_index(tmp_path):
    """Seeds plus an uploaded 2025 report: `qa search --year`, the JSON
    results and citations, `qa chunks --json` and the manifest carry year and region."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    (corpus / "青禾县2025年课后服务工作总结.txt").write_text(
        "青禾县2025年课后服务工作总结\n一、收费标准\n课后服务收费标准为每生每学期300元，家庭经济困难学生免收。\n",
        encoding="utf-8")
    env_index = tmp_path / "index"

    def qa(*args):
        run = subprocess.run([sys.executable, "-m", "qa", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=900)
        assert run.returncode == 0, run.stderr
        return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]

    qa("build", "--corpus", str(corpus), "--index", str(env_index), "--json")
    manifest = json.loads(next(env_index.glob("v-*/manifest.json")).read_text(encoding="utf-8"))
    entry = manifest["documents"]["青禾县2025年课后服务工作总结.txt"]
    assert (entry["year"], entry["region"], entry["sections"]) == (2025, "青禾县", 1)
    assert manifest["documents"]["001_8088773ffad2292a.txt"]["year"] == 2024
    assert manifest["documents"]["000_31ca190cb7e5fb0d.txt"]["year"] is None
    assert manifest["documents"]["000_31ca190cb7e5fb0d.txt"]["sections"] >= 7  # 一、 … 七、 and their items

    for year, doc_id in ((2024, "001_8088773ffad2292a.txt"), (2025, "青禾县2025年课后服务工作总结.txt")):
        (out,) = qa("search", "学校工作", "--year", str(year), "--top-k", "5", "--json", "--index", str(env_index))
        assert out["results"] and {r["doc_id"] for r in out["results"]} == {doc_id}
        assert all(r["year"] == year for r in out["results"])
    (out,) = qa("search", "课后服务收费标准", "--json", "--index", str(env_index))
    assert out["results"][0]["region"] == "青禾县" and out["results"][0]["year"] == 2025
    assert all("year" in r and "region" in r for r in out["results"])
    (answer,) = qa("ask", "课后服务收费标准是多少？", "--json", "--index", str(env_index))
    assert answer["citations"] and all("year" in c and "region" in c for c in answer["citations"])
    assert any(c["region"] == "青禾县" and c["year"] == 2025 for c in answer["citations"])

    chunks = qa("chunks", "--corpus", str(corpus), "--json")
    assert {c["meta"].get("year") for c in chunks if c["doc_id"].startswith("001_")} == {2024}
    assert {c["meta"].get("region") for c in chunks if c["doc_id"].startswith("青禾县")} == {"青禾县"}


@pytest.mark.parametrize("undated", [False, True])
def test_before_year_keeps_undated_documents_only_when_asked(undated, seed_docs):
    where = Filter(before_year=2020, undated=undated)
    chunks = chunk_documents(list(seed_docs.values()))
    kept = {c.doc_id for c in chunks if where.accepts(c)}
    dated_before = {d for d, (year, _) in SEEDS.items() if year is not None and year < 2020}
    undated_ids = {d for d, (year, _) in SEEDS.items() if year is None}
    assert kept == (dated_before | undated_ids if undated else dated_before)
    # an exact year never matches a document without one
    assert not any(Filter(year=2011, undated=True).accepts(c) for c in chunks if c.year is None)
