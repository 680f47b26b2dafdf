"""Outline detection and section-following chunks, on the real seeds.

Chunks must be exact, citable slices of their document, carry the heading path
of the section they come from, end at sentence ends (unless a section or an
over-long sentence ends there) and stay within ``max_chars * stretch``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.ingest.chunking import chunk_document, chunk_documents, pack
from qa.ingest.cleaning import clean_text
from qa.ingest.corpus import ingest
from qa.ingest.outline import display, find_headings, sections
from qa.models import Document
from qa.settings import ChunkSettings
from qa.text.numbers import cn_to_int
from qa.text.sentences import sentence_spans

SEEDS = Path(__file__).resolve().parents[1] / "corpus"
SETTINGS = [ChunkSettings(), ChunkSettings(max_chars=150, min_chars=40), ChunkSettings(max_chars=800, min_chars=200)]
_ENDS_SENTENCE = re.compile(r"[。!?;]+[”’」』]*$")


@pytest.fixture(scope="module")
def seed_docs():
    result = ingest(SEEDS)
    assert result.errors == []
    return result.documents


@pytest.fixture(scope="module")
def seed_chunks(seed_docs):
    return chunk_documents(seed_docs)


def _headings(text: str) -> list[tuple[int, int | None, str]]:
    return [(h.level, h.number, h.label) for h in find_headings(clean_text(text))]


def _doc(text: str) -> Document:
    return Document("doc", "标题", clean_text(text), "doc.txt")


# --- offsets --------------------------------------------------------------------

@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"max{s.max_chars}")
def test_chunks_slice_back_into_their_document(seed_docs, settings):
    for doc in seed_docs:
        chunks = chunk_document(doc, settings)
        assert chunks, doc.doc_id
        previous_end = 0
        for chunk in chunks:
            assert doc.text[chunk.start:chunk.end] == chunk.text
            assert chunk.text == chunk.text.strip() and chunk.text
            assert chunk.start >= previous_end  # in order, no overlap
            assert (chunk.doc_id, chunk.title, chunk.source) == (doc.doc_id, doc.title, doc.source)
            assert chunk.chunk_id == f"{doc.doc_id}@{chunk.start}"
            previous_end = chunk.end
        # nothing but whitespace falls between chunks
        covered = "".join(c.text for c in chunks)
        assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", doc.text)


# --- sizes and sentence ends -------------------------------------------------------

def _allowed_end(doc: Document, end: int, limit: int) -> bool:
    """A chunk may end at a sentence end, a line end, a section end, or inside a
    sentence too long for any chunk."""
    if _ENDS_SENTENCE.search(doc.text[:end]) or doc.text[end:end + 1] in ("\n", ""):
        return True
    if any(s.end >= end and not doc.text[end:s.end].strip() for s in sections(doc.text)):
        return True
    return any(a < end < b and b - a > limit for a, b in sentence_spans(doc.text, 0, len(doc.text)))


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"max{s.max_chars}")
def test_chunks_end_at_sentence_ends_and_are_bounded(seed_docs, settings):
    limit = int(settings.max_chars * settings.stretch)
    for doc in seed_docs:
        for chunk in chunk_document(doc, settings):
            assert len(chunk.text) <= limit, (chunk.chunk_id, len(chunk.text))
            assert _allowed_end(doc, chunk.end, limit), (chunk.chunk_id, chunk.text[-30:])


def test_default_chunks_never_cut_a_sentence(seed_docs, seed_chunks):
    docs = {d.doc_id: d for d in seed_docs}
    for chunk in seed_chunks:
        doc = docs[chunk.doc_id]
        ends = _ENDS_SENTENCE.search(chunk.text) or doc.text[chunk.end:chunk.end + 1] in ("\n", "")
        at_section_end = any(s.end >= chunk.end and not doc.text[chunk.end:s.end].strip() for s in sections(doc.text))
        assert ends or at_section_end, chunk.text[-40:]


def test_a_long_sentence_is_cut_at_clause_marks():
    text = "，".join(f"第{k}项任务要认真落实到位" for k in range(60)) + "。"
    pieces = pack(clean_text(text), 0, len(clean_text(text)), ChunkSettings(max_chars=100, min_chars=20))
    assert len(pieces) > 1
    for a, b in pieces[:-1]:
        assert clean_text(text)[b - 1] == "，" and b - a <= 150  # the source's own comma


def test_short_last_piece_joins_the_previous_chunk():
    text = "甲" * 90 + "。" + "乙" * 90 + "。" + "丙" * 10 + "。"
    assert pack(text, 0, len(text), ChunkSettings(max_chars=100, min_chars=30)) == [(0, 91), (91, len(text))]


# --- section paths on the seeds ----------------------------------------------------

def test_teacher_exchange_measures_stay_together_under_their_heading(seed_chunks):
    (chunk,) = [c for c in seed_chunks if "实行划片交流" in c.text]
    assert chunk.doc_id == "004_ff206d9b35db66e5.txt#11"
    assert chunk.section == ["二、强力推进，确保全市教育重点工作圆满完成", "（三）开展校长、教师交流工作，大力加强队伍建设"]
    assert "开展校长、教师交流工作" in chunk.section[-1]
    enumeration = ["一是实行划片交流", "二是中小学教师的交流与职称评审挂钩", "三是中小学教师的交流与特级教师评选",
                   "四是建立教师交流工作的保障机制", "五是加强教师交流工作的考核"]
    positions = [chunk.text.find(item) for item in enumeration]
    assert -1 not in positions and positions == sorted(positions)


def test_001_section_path_example(seed_chunks):
    path = ["一、上半年工作总结", "（五）教师为基，持续激发教师队伍活力"]
    under = [c for c in seed_chunks if c.section == path]
    assert under and all(c.doc_id == "001_8088773ffad2292a.txt" for c in under)
    assert any("三是健全县域内教师交流机制" in c.text for c in under)
    assert any(c.section == ["二、下半年工作打算", "（二）全面抓好教师队伍建设"] for c in seed_chunks)


def test_003_part_lines_head_their_sections(seed_chunks):
    chunks = [c for c in seed_chunks if c.doc_id.startswith("003")]
    assert chunks[1].section == ["一、夯实教育发展基础"] and chunks[1].text.startswith("一、夯实教育发展基础\n保障校园平安和谐")
    tops = [c.section[0] for c in chunks if c.section]
    assert tops[-1] == "工作措施"
    assert [c.section for c in chunks if c.section and c.section[0] == "工作措施"][0] == [
        "工作措施", "一、深入学习贯彻十八届四中全会精神，进一步增强教育治理能力"]


def _paths(chunk) -> list[tuple[str, ...]]:
    """The chunk's path and, for a chunk packing short items, each item's."""
    return [tuple(chunk.section)] + [tuple(path) for _, path in chunk.meta.get("parts") or ()]


def test_002_headings_glued_into_one_line_are_found(seed_chunks):
    sections_002 = {p for c in seed_chunks if c.doc_id.startswith("002") for p in _paths(c)}
    assert ("三、大力发展学前教育，全面提高学前教育普及程度", "2、提高学前教育质量") in sections_002
    assert ("1、学前教育快速发展",) in sections_002


def test_first_chunk_of_a_document_carries_its_title_and_no_path(seed_docs, seed_chunks):
    for doc in seed_docs:
        first = next(c for c in seed_chunks if c.doc_id == doc.doc_id)
        assert first.start == 0 and first.text.startswith(doc.title)


def test_merged_short_items_carry_their_shared_path(seed_chunks):
    # 004 篇四: "(2)表彰…;(3)…换届;…(6)大会经验交流" are one-line items merged into one chunk;
    # it sits under （一）常规工作, not under its last item (6)
    (chunk,) = [c for c in seed_chunks if c.doc_id.endswith("#4") and "(2)表彰学会先进集体" in c.text]
    assert chunk.section_at(chunk.start + chunk.text.index("(2)表彰学会先进集体")) == ["一、活动组织", "（一）常规工作"]
    # items 1、 … 6、 of （一） are a list of what was done (three long statements, three one-liners),
    # not headings: "4、完成兼职教员考核" is text of （一）常规工作 (qa.ingest.outline.list_items)
    (mixed,) = [c for c in seed_chunks if c.doc_id.endswith("#4") and "4、完成兼职教员考核" in c.text]
    assert mixed.section_at(mixed.start + mixed.text.index("4、完成兼职教员考核")) == ["一、活动组织", "（一）常规工作"]


def test_every_path_label_is_a_heading_of_the_document(seed_docs, seed_chunks):
    labels = {d.doc_id: {h.label for h in find_headings(d.text)} for d in seed_docs}
    for chunk in seed_chunks:
        assert set(chunk.section) <= labels[chunk.doc_id], chunk.section


# --- outline detection ----------------------------------------------------------

def test_all_marker_levels_are_detected():
    text = ("工作总结\n第一章 总体情况\n一、基本情况\n全市现有学校56所。\n二、主要做法\n（一）抓均衡\n投入资金改善条件。\n"
            "（二）抓质量\n1、加强教研。开展教研活动100次。\n2.强化培训。培训教师500人。\n（1）国培计划\n参加200人。\n"
            "（2）省培计划\n参加300人。\n三、存在问题\n经费不足。")
    assert _headings(text) == [
        (0, 1, "第一章总体情况"),
        (1, 1, "一、基本情况"), (1, 2, "二、主要做法"),
        (2, 1, "（一）抓均衡"), (2, 2, "（二）抓质量"),
        (3, 1, "1、加强教研"), (3, 2, "2.强化培训"),
        (4, 1, "（1）国培计划"), (4, 2, "（2）省培计划"),
        (1, 3, "三、存在问题"),
    ]
    doc = clean_text(text)
    (span,) = [s for s in sections(doc) if doc[s.start:s.end].startswith("（2）") or doc[s.start:s.end].startswith("(2)")]
    assert span.path == ["第一章总体情况", "二、主要做法", "（二）抓质量", "2.强化培训", "（2）省培计划"]


def test_heading_inside_a_line_after_a_sentence_end():
    # 000 lost its line breaks: "…窗口作用。一、理论联系实际,…"
    labels = [label for _, _, label in _headings("标题\n真正起到了示范和窗口作用。一、理论联系实际。局党委周密部署。二、抓党务群团工作。")]
    assert labels == ["一、理论联系实际", "二、抓党务群团工作"]


@pytest.mark.parametrize("body", [
    "全年投资1.5亿元,建成学校3所。",
    "截至目前投入1.5亿元。2.5万名学生受益。",
    "20xx年,全市新增学位2000个。",
    "2019年,全市新增学位2000个。",
    "增长了12.5%,位居全省第一。",
])
def test_quantities_and_years_are_not_headings(body):
    assert _headings("总结\n工作开展情况如下。\n" + body) == []


def test_long_sentence_starting_with_a_number_is_body_text():
    sentence = "1、今年以来我们认真贯彻落实上级部门的各项决策部署并且取得了显著成效得到了社会各界的广泛认可和好评。"
    assert _headings("总结\n" + sentence) == []
    assert _headings("总结\n1、加强领导。今年以来我们认真贯彻落实上级部门的各项决策部署。") == [(3, 1, "1、加强领导")]


def test_enumerations_are_not_headings():
    text = "总结\n主要措施有:一是加强领导;二是完善制度;三是强化考核。\n一是\n按照统一部署推进。\n二要\n加强管理。"
    assert _headings(text) == []


def test_bylines_and_link_fragments_are_not_part_headings():
    text = ("政府工作报告\n国务院总理\n李 强\n各位代表:\n现在,我代表国务院报告工作。\n"
            "党的十八届六中全会\n正式明确\n习近平\n总书记的核心地位。\n结束语\n让我们团结奋斗!")
    assert _headings(text) == [(0, None, "结束语")]


def test_part_line_after_a_paragraph_is_a_heading():
    assert _headings("县教育局总结规划\n规范民办教育机构办学行为。\n工 作 措 施\n一、深入学习贯彻全会精神\n正文。") == [
        (0, None, "工作措施"), (1, 1, "一、深入学习贯彻全会精神")]


def test_chinese_numerals():
    assert [cn_to_int(x) for x in ("一", "十", "十二", "二十", "三十五", "第七章", "(三)", "12", "百", "一二")] == [
        1, 10, 12, 20, 35, 7, 3, 12, None, None]


def test_headings_are_displayed_with_chinese_punctuation():
    assert display("(三)开展校长、教师交流工作,大力加强队伍建设。") == "（三）开展校长、教师交流工作，大力加强队伍建设"
    assert display("工 作 措 施") == "工作措施"


def test_heading_only_section_joins_its_first_subsection():
    doc = _doc("报告\n现将上半年工作情况汇报如下:\n一、上半年工作总结。\n(一)民生为本,重点项目全力推进。一是重点建设项目时间过半,任务过半,按期完成各项目节点任务。")
    chunks = chunk_document(doc, ChunkSettings(pack_chars=0))  # packing short sections is tested below
    assert len(chunks) == 2
    assert chunks[1].text.startswith("一、上半年工作总结。\n(一)民生为本")
    assert chunks[1].section == ["一、上半年工作总结", "（一）民生为本，重点项目全力推进"]


# --- packing short items ----------------------------------------------------------

def test_short_items_of_a_notice_are_packed_and_each_cites_its_own_item():
    # a real notice: eight numbered items of 18-208 characters, each too little text alone
    (doc,) = [d for d in ingest(Path(__file__).parent / "data" / "fullwidth").documents
              if d.doc_id.startswith("3d7c3d97")]
    single = chunk_document(doc, ChunkSettings(pack_chars=0))
    packed = chunk_document(doc)
    assert len(single) == 8 and len(packed) == 2
    assert all(c.text == doc.text[c.start:c.end] and len(c.text) <= ChunkSettings.max_chars for c in packed)
    first = packed[0]
    assert first.section == []  # items under different top-level headings share no path
    assert first.section_at(first.start + first.text.index("二、降价措施")) == ["二、降价措施"]
    assert first.section_at(first.start + first.text.index("（一）各地价格主管部门要高度重视")) == [
        "四、工作要求", "（一）各地价格主管部门要高度重视"]
    assert first.section_at(first.start) == []  # the title and lead before the first item


def test_a_long_section_is_not_packed_with_the_short_one_before_it():
    long_item = "二、严格落实防控责任。" + "各单位要落实主体责任，做好人员排查和健康监测工作。" * 14
    doc = _doc(f"通知\n一、加强组织领导。成立工作专班，明确责任分工，每日调度。\n{long_item}\n三、本通知自发布之日起施行。")
    chunks = chunk_document(doc)
    assert len(long_item) > ChunkSettings.pack_chars
    assert [c.text.split("。")[0] for c in chunks] == ["通知\n一、加强组织领导", "二、严格落实防控责任"]
    assert chunks[1].text.endswith("三、本通知自发布之日起施行。")  # a short item joins the run before it
    assert chunks[1].section == [] and chunks[1].section_at(chunks[1].end - 3) == ["三、本通知自发布之日起施行"]
