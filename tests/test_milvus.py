"""The Milvus backend on real milvus-lite: the seed corpus built through the
real build path (real model), searched, updated incrementally, and compared
with the local FAISS + bm25s backend on the dev set."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from qa.build import build  # noqa: E402
from qa.evaluation import is_relevant  # noqa: E402
from qa.index.local import search_text  # noqa: E402
from qa.index.milvus import MilvusIndex, filter_expr, quote  # noqa: E402
from qa.index.protocol import Filter  # noqa: E402
from qa.index.storage import load_index, read_manifest  # noqa: E402
from qa.questions import read_questions  # noqa: E402
from qa.retrieval import Searcher  # noqa: E402

from conftest import DATA, SEED_CORPUS  # noqa: E402

CHANGED = "003_23cd2b7cd9c0da57.txt"


class _ReusingEmbedder:
    """The real embedder, answering passages the local index already embedded
    from those vectors (same model, same text), so the module does not pay
    for embedding the seed corpus twice; new text goes to the model."""

    def __init__(self, embedder, known: dict[str, np.ndarray]):
        self._embedder, self.known, self.encoded = embedder, known, 0

    def encode_documents(self, texts, progress=False):
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            self.encoded += len(missing)
            self.known.update(zip(missing, self._embedder.encode_documents(missing)))
        return np.stack([self.known[t] for t in texts]) if texts else np.zeros((0, self.dim), dtype="float32")

    def __getattr__(self, name):
        return getattr(self._embedder, name)


def _local_vectors(index) -> dict[str, np.ndarray]:
    """search_text -> stored vector of every chunk of a LocalIndex (empty if
    its internals changed: the build then simply embeds)."""
    try:
        if hasattr(index, "_all_vectors"):
            ids, vectors = index._all_vectors()
        else:
            ids = np.asarray(sorted(index._chunks), dtype="int64")
            vectors = np.stack([index._vectors.reconstruct(int(i)) for i in ids])
        return {search_text(index._chunks[int(i)]): v for i, v in zip(ids, vectors)}
    except Exception:
        return {}


@pytest.fixture(scope="module")
def milvus(searcher, tmp_path_factory):
    """(settings, first build report, embedder) of the seeds built into milvus-lite."""
    base = tmp_path_factory.mktemp("milvus")
    shutil.copytree(SEED_CORPUS, base / "corpus")
    settings = dataclasses.replace(searcher.settings, corpus=base / "corpus", index=base / "index",
                                   backend="milvus", milvus_uri=str(base / "m.db"))
    embedder = _ReusingEmbedder(searcher.embedder, _local_vectors(searcher.index))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("qa.build.get_embedder", lambda *a, **k: embedder)
        yield settings, build(settings), embedder


def _milvus_index(settings) -> MilvusIndex:
    index, _ = load_index(settings.index, settings.model)
    assert isinstance(index, MilvusIndex)
    return index


def test_build_stores_every_chunk_with_its_citation_fields(milvus, searcher):
    settings, report, _ = milvus
    print("milvus build seconds:", report.seconds)
    manifest = read_manifest(settings.index)
    assert manifest["backend"] == "milvus" and manifest["milvus"]["uri"].endswith("m.db")
    index = _milvus_index(settings)
    local = {c.chunk_id: c for c in searcher.index.chunks()}
    stored = {c.chunk_id: c for c in index.chunks()}
    assert report.chunks == len(stored) == len(local) == len(index)
    assert stored == local  # same ids, same sections, offsets, meta
    assert index.stats()["documents"] == report.documents == len(manifest["documents"])


def test_search_gives_cited_passages_and_filters_work(milvus):
    settings, *_ = milvus
    milvus_searcher = Searcher(settings)
    hits = milvus_searcher.search("教师交流的主要措施有哪些？", top_k=3)
    match = [h for h in hits if "实行划片交流" in h.chunk.text]
    assert match and any("开展校长、教师交流工作" in s for s in match[0].chunk.section)
    for mode in ("bm25", "dense", "hybrid"):
        hits = milvus_searcher.search("安全工作", top_k=5, mode=mode, where=Filter(title_contains="篇十一"))
        assert hits and all("篇十一" in h.chunk.title for h in hits), mode
        doc = hits[0].chunk.doc_id
        hits = milvus_searcher.search("安全工作", top_k=5, mode=mode, where=Filter(doc_ids=frozenset({doc, 'x"y'})))
        assert hits and {h.chunk.doc_id for h in hits} == {doc}, mode
    assert {c.meta.get("year") for c in milvus_searcher.index.chunks()} == {None}  # the seeds have no years


#: a passage of the 1975 report (in tests/data/gov_reports, public domain)
MODERNISATION_1975 = "在本世纪内,全面实现农业、工业、国防和科学技术的现代化"


@pytest.fixture(scope="module")
def milvus_years(searcher, tmp_path_factory):
    """Searcher over milvus-lite holding reports that have years: the 1960 and
    1975 government work reports and a resolution without a year."""
    base = tmp_path_factory.mktemp("milvus-years")
    (base / "corpus").mkdir()
    sample = (DATA / "gov_reports" / "government_work_reports.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [line for line in sample if json.loads(line)["year"] in ("1960", "1975", None)]
    (base / "corpus" / "government_work_reports.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    settings = dataclasses.replace(searcher.settings, corpus=base / "corpus", index=base / "index",
                                   backend="milvus", milvus_uri=str(base / "years.db"))
    build(settings)
    return Searcher(settings)


def test_year_filter_on_reports_that_have_years(milvus_years):
    index = milvus_years.index
    assert {c.meta.get("year") for c in index.chunks()} == {"1960", "1975", None}
    of_1960 = sum(c.meta.get("year") == "1960" for c in index.chunks())
    assert of_1960 > 10
    vector = milvus_years.embedder.encode_queries([MODERNISATION_1975])[0]
    for mode in ("bm25", "dense", "hybrid"):
        # a 1975 passage asked for in 1960: the filter runs in Milvus, so it still fills the page
        hits = index.search(MODERNISATION_1975, vector, 5, mode=mode, where=Filter(year=1960))
        assert [c.meta["year"] for c, _ in hits] == ["1960"] * 5, mode
        hits = milvus_years.search(MODERNISATION_1975, top_k=3, mode=mode, where=Filter(year=1975))
        assert hits and all(h.chunk.meta["year"] == "1975" for h in hits), mode
        assert MODERNISATION_1975 in hits[0].chunk.text.replace("，", ","), mode
        assert milvus_years.search(MODERNISATION_1975, top_k=3, mode=mode, where=Filter(year=1999)) == []


def test_filter_expressions_escape_quotes():
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    expr = filter_expr(Filter(doc_ids=frozenset({'x" or doc_id != "'}), title_contains="总结", year=2015))
    assert expr == 'doc_id in ["x\\" or doc_id != \\""] and title like "%总结%" and year == 2015'


def _top(searcher, questions, mode, k=5):
    return {q.id: [h.to_dict() for h in searcher.search(q.question, top_k=k, mode=mode)] for q in questions}


def _recall(questions, runs):
    return sum(any(is_relevant(q, h) for h in runs[q.id]) for q in questions) / len(questions)


def test_dev_set_results_match_the_local_backend(milvus, searcher):
    settings, *_ = milvus
    questions, _ = read_questions(DATA / "dev_questions.jsonl")
    local = _no_rerank(searcher)  # the local hybrid without the sentence reranker Milvus lacks
    remote = Searcher(settings)
    local.embedder = remote.embedder = _QueryCache(searcher.embedder)  # each question encoded once
    figures = {}
    for mode in ("bm25", "dense", "hybrid"):
        a, b = _top(local, questions, mode), _top(remote, questions, mode)
        top1 = sum(bool(a[q.id]) and bool(b[q.id]) and a[q.id][0]["chunk_id"] == b[q.id][0]["chunk_id"]
                   for q in questions) / len(questions)
        figures[mode] = (round(_recall(questions, a), 3), round(_recall(questions, b), 3), round(top1, 3))
    print("R@5 local / milvus / top-1 overlap:", figures)
    for mode, (r_local, r_milvus, top1) in figures.items():
        assert abs(r_local - r_milvus) <= 0.1, (mode, figures)
    assert figures["bm25"][2] >= 0.7, figures
    assert figures["dense"][2] >= 0.9, figures


class _QueryCache:
    def __init__(self, embedder):
        self._embedder, self._cache = embedder, {}

    def encode_queries(self, texts):
        for text in texts:
            if text not in self._cache:
                self._cache[text] = self._embedder.encode_queries([text])[0]
        return np.stack([self._cache[t] for t in texts])

    def __getattr__(self, name):
        return getattr(self._embedder, name)


def _no_rerank(searcher):
    import copy

    variant = copy.copy(searcher)
    variant.settings = dataclasses.replace(searcher.settings, rerank=False)
    return variant


def test_incremental_update_replaces_only_the_changed_file(milvus):
    settings, _, embedder = milvus
    path = settings.corpus / CHANGED
    original = path.read_bytes()
    before = {c.chunk_id: c for c in _milvus_index(settings).chunks()}
    collection = read_manifest(settings.index)["milvus"]["collection"]
    try:
        path.write_bytes(original + "\n六、新增工作\n全面推进校园足球特色学校建设,新建足球场12块。\n".encode())
        encoded = embedder.encoded
        report = build(settings)
        assert report.changed == [CHANGED] and not report.added and not report.removed
        assert read_manifest(settings.index)["milvus"]["collection"] == collection  # updated in place
        after = {c.chunk_id: c for c in _milvus_index(settings).chunks()}
        of_file = [c for c in after.values() if c.source == CHANGED]
        assert report.embedded == len(of_file) and embedder.encoded > encoded
        assert {i: c for i, c in after.items() if c.source != CHANGED} == \
               {i: c for i, c in before.items() if c.source != CHANGED}
        hits = Searcher(settings).search("新建足球场多少块", 3)
        assert any("新建足球场12块" in h.chunk.text for h in hits)
    finally:
        path.write_bytes(original)
        build(settings)
    assert {c.chunk_id: c for c in _milvus_index(settings).chunks()} == before


def test_removed_file_is_deleted_from_milvus(milvus):
    settings, *_ = milvus
    path = settings.corpus / CHANGED
    original = path.read_bytes()
    count = len(_milvus_index(settings))
    try:
        path.unlink()
        report = build(settings)
        assert report.removed == [CHANGED]
        index = _milvus_index(settings)
        assert all(c.source != CHANGED for c in index.chunks()) and len(index) == report.chunks < count
        hits = Searcher(settings).search("县教育局教育工作开展实施情况", 10)
        assert all(h.chunk.source != CHANGED for h in hits)
    finally:
        path.write_bytes(original)
        build(settings)
    assert len(_milvus_index(settings)) == count


def test_rebuild_writes_a_new_collection_and_drops_the_old(milvus):
    settings, *_ = milvus
    old = read_manifest(settings.index)["milvus"]["collection"]
    report = build(settings, rebuild=True)
    new = read_manifest(settings.index)["milvus"]["collection"]
    index = _milvus_index(settings)
    assert new != old and len(index) == report.chunks
    assert old not in index._client.list_collections()


def test_cli_flags_select_the_backend():
    from qa.cli import _settings, build_parser

    for argv in (["build", "--backend", "milvus", "--milvus-uri", "/tmp/x.db"],
                 ["search", "q", "--backend", "milvus", "--milvus-uri", "/tmp/x.db"],
                 ["ask", "q", "--backend", "milvus", "--milvus-uri", "/tmp/x.db"]):
        settings = _settings(build_parser().parse_args(argv))
        assert (settings.backend, settings.milvus_uri) == ("milvus", "/tmp/x.db")
    args = build_parser().parse_args(["eval", "q.jsonl", "--backend", "milvus", "--milvus-uri", "/tmp/x.db"])
    assert (args.backend, args.milvus_uri) == ("milvus", "/tmp/x.db")
