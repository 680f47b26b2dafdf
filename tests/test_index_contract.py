"""The contract every index backend must pass (qa.index.protocol.Index).

Runs on small real Chinese chunks with deterministic random vectors, so it
checks the backend's behaviour, not the model's.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from conftest import FUSION
from qa.index import Filter, Index, LocalIndex
from qa.models import Chunk

TEXTS = {
    "a": ["教师交流的主要措施有:一是实行划片交流。", "校车安全专项督查协调交通等13个部门。"],
    "b": ["学前教育新增学位4807个。", "全面落实教师绩效工资。", "防止并纠正学前教育小学化倾向。"],
    "c": ["全市现有中小学校56所。"],
}
DIM = 16


def make_chunks():
    chunks = []
    for doc, texts in TEXTS.items():
        for i, text in enumerate(texts):
            chunks.append(Chunk(f"{doc}@{i}", doc, f"报告{doc}", f"{doc}.txt", ["一、总结"], text, i * 50,
                                i * 50 + len(text), {"year": 2015 if doc == "b" else 2012}))
    return chunks


def vectors(n, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype("float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _milvus(uri):
    from qa.index.milvus import MilvusIndex

    return MilvusIndex(uri, DIM, collection=f"contract_{uuid.uuid4().hex[:8]}")


#: name -> factory(request, tmp_path); every backend runs every test below: Milvus
#: as an embedded file and as a served endpoint (the session's milvus-lite server)
BACKENDS = {
    "local": lambda request, tmp_path: LocalIndex(DIM),
    "milvus-file": lambda request, tmp_path: _milvus(tmp_path / "milvus.db"),
    "milvus-server": lambda request, tmp_path: _milvus(request.getfixturevalue("milvus_server")),
}


def sentence_vectors(chunks, seed=1):
    """Two or three random unit vectors per chunk, standing in for its sentences."""
    return [vectors(2 + i % 2, seed=seed + i) for i in range(len(chunks))]


@pytest.fixture(params=sorted(BACKENDS))
def filled(request, tmp_path):
    index = BACKENDS[request.param](request, tmp_path)
    chunks = make_chunks()
    vecs = vectors(len(chunks))
    index.add(chunks, vecs, sentence_vectors=sentence_vectors(chunks))
    return index, chunks, vecs


def test_is_an_index(filled):
    assert isinstance(filled[0], Index)


def test_dense_search_finds_the_exact_vector(filled):
    index, chunks, vecs = filled
    for chunk, vec in zip(chunks, vecs):
        best, score = index.search("", vec, 1, "dense", None, **FUSION)[0]
        assert best.chunk_id == chunk.chunk_id and score == pytest.approx(1.0, abs=1e-5)


def test_bm25_search_matches_words(filled):
    index, *_ = filled
    ranked = index.search("教师绩效工资", None, 3, "bm25", None, **FUSION)
    assert ranked[0][0].chunk_id == "b@1"


def test_hybrid_fuses_both(filled):
    index, chunks, vecs = filled
    ranked = index.search("划片交流", vecs[5], 6, "hybrid", None, **FUSION)
    ids = [c.chunk_id for c, _ in ranked]
    assert ids[:2] == ["a@0", "c@0"] or set(ids[:2]) == {"a@0", "c@0"}


def test_filters(filled):
    index, _, vecs = filled
    ranked = index.search("学前教育", vecs[0], 10, "hybrid", Filter(year=2015), **FUSION)
    assert ranked and {c.doc_id for c, _ in ranked} == {"b"}
    ranked = index.search("学校", vecs[0], 10, "dense", Filter(doc_ids=frozenset({"c"})), **FUSION)
    assert [c.doc_id for c, _ in ranked] == ["c"]


def test_before_year_keeps_undated_documents_only_when_asked(filled):
    """Drafting's "before year" keeps reports that name no year (Filter.undated); an exact year never does."""
    index, _, _ = filled
    undated = Chunk("d@0", "d", "报告d", "d.txt", ["一、总结"], "全市学校开展教师交流专项督导。", 0, 15, {})
    index.add([undated], vectors(1, seed=7), sentence_vectors=sentence_vectors([undated], seed=9))
    for mode in ("bm25", "dense", "hybrid"):
        vector = vectors(1, seed=7)[0]
        found = {c.doc_id for c, _ in index.search("教师交流", vector, 10, mode, Filter(before_year=2015), **FUSION)}
        assert found == {"a"} if mode == "bm25" else found == {"a", "c"}, mode
        found = {c.doc_id for c, _ in index.search("教师交流", vector, 10, mode,
                                                   Filter(before_year=2015, undated=True), **FUSION)}
        assert found == {"a", "d"} if mode == "bm25" else found == {"a", "c", "d"}, mode
        found = {c.doc_id for c, _ in index.search("教师", vector, 10, mode, Filter(year=2015, undated=True),
                                                   **FUSION)}
        assert found == {"b"}, mode


def test_delete_removes_a_document_everywhere(filled):
    index, _, vecs = filled
    assert index.delete(["a"]) == 2
    assert all(c.doc_id != "a" for c in index.chunks())
    assert all(c.doc_id != "a" for c, _ in index.search("划片交流", vecs[0], 10, "hybrid", None, **FUSION))
    assert index.stats()["chunks"] == 4


def test_sentence_similarities_are_each_chunks_sentences_in_order(filled):
    index, chunks, _ = filled
    query = vectors(1, seed=9)[0]
    expected = [m @ query for m in sentence_vectors(chunks)]
    picked = [chunks[4], chunks[0], chunks[2]]
    sims = index.sentence_similarities(picked, query)
    assert sims is not None and len(sims) == 3
    for got, want in zip(sims, [expected[4], expected[0], expected[2]]):
        assert list(got) == pytest.approx(list(want), abs=1e-5)
    index.delete(["a"])  # a deleted chunk has no sentences left
    assert [len(s) for s in index.sentence_similarities(chunks[:1], query)] == [0]


def test_duplicate_ids_are_refused(filled):
    index, chunks, vecs = filled
    with pytest.raises(ValueError, match="already"):
        index.add(chunks[:1], vecs[:1])


def test_save_and_load_round_trip(filled, tmp_path):
    index, _, vecs = filled
    index.delete(["c"])
    saved = tmp_path / "saved"
    saved.mkdir()
    index.save(saved)
    loaded = type(index).load(saved, DIM)
    for mode in ("bm25", "dense", "hybrid"):
        before = [(c.chunk_id, round(s, 5)) for c, s in index.search("学前教育", vecs[2], 5, mode, None, **FUSION)]
        after = [(c.chunk_id, round(s, 5)) for c, s in loaded.search("学前教育", vecs[2], 5, mode, None, **FUSION)]
        assert before == after
    loaded.add(make_chunks()[-1:], vectors(1, seed=3))  # ids keep counting after a reload
    assert len(loaded.chunks()) == 6
