"""The size-dependent vector index (qa.index.local.make_vector_index): with
the flat limit lowered, a few thousand random vectors go to IVF, which must
still find the exact nearest neighbour, survive save/load (memory-mapped) and
deletes, and keep growing incrementally. No timings are asserted."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import FUSION
from qa.index.local import LocalIndex
from qa.index.passages import probe_phrases
from qa.index.vectors import ivf_cells, vector_kind
from qa.models import Chunk

DIM = 32
N = 5000


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype("float32")


def clustered(n: int, seed: int = 0) -> np.ndarray:
    """Vectors around 50 centres: structured like embeddings, unlike pure noise."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(50, DIM)))
    return unit(centres[rng.integers(0, 50, n)] + 0.35 * rng.normal(size=(n, DIM)) / np.sqrt(DIM) * 4)


def chunks(n: int, start: int = 0, docs: int = 100) -> list[Chunk]:
    return [Chunk(f"c{i}", f"doc{i % docs}", f"报告{i % docs}", f"doc{i % docs}.txt", ["一、总结"],
                  f"第{i}段 教育 学校 {i % 7} 号", 0, 10, {"year": 2012 + i % 3}) for i in range(start, start + n)]


def tokens(n: int, start: int = 0) -> list[list[str]]:
    return [["教育", "学校", f"t{i % 97}", f"u{i}"] for i in range(start, start + n)]


@pytest.fixture(scope="module")
def ivf():
    vectors = clustered(N)
    index = LocalIndex(DIM, flat_max=1000)
    index.add(chunks(N), vectors, tokens=tokens(N))
    return index, vectors


def nearest_share(index: LocalIndex, vectors: np.ndarray, queries: np.ndarray) -> float:
    truth = np.argmax(queries @ vectors.T, axis=1)
    found = [index.search_dense(q, 1)[0][0] for q in queries]
    return float(np.mean(np.asarray(found) == truth))


def queries(seed: int = 1, n: int = 200) -> np.ndarray:
    return clustered(n, seed=seed)


def test_kind_follows_size():
    assert vector_kind(99_999) == "flat" and vector_kind(100_001) == "ivf"
    assert vector_kind(10, "hnsw") == "hnsw"
    assert 4 * 1000 <= ivf_cells(1_000_000) <= 16 * 1000
    with pytest.raises(ValueError):
        vector_kind(10, "lsh")


def test_small_index_stays_flat():
    index = LocalIndex(DIM, flat_max=1000)
    index.add(chunks(500), clustered(500), tokens=tokens(500))
    assert index.stats()["vector_kind"] == "flat"


def test_ivf_above_the_limit_finds_the_exact_neighbour(ivf):
    index, vectors = ivf
    stats = index.stats()
    assert stats["vector_kind"] == "ivf" and stats["cells"] == min(ivf_cells(N), N // 39) and stats["nprobe"] >= 1
    assert index.calibration["recall"] >= 0.95 and index.calibration["probes"] == "mixtures"
    assert nearest_share(index, vectors, queries()) >= 0.95


def test_ivf_hybrid_and_filters(ivf):
    index, vectors = ivf
    ranked = index.search("教育 u5", vectors[5], 10, "hybrid", None, **FUSION)
    assert ranked and ranked[0][0].chunk_id == "c5"
    only = index.search("学校", vectors[0], 10, "dense", where=_filter(doc="doc3"), **FUSION)
    assert only and {c.doc_id for c, _ in only} == {"doc3"} and len(only) == 10


def _filter(doc: str):
    from qa.index.protocol import Filter

    return Filter(doc_ids=frozenset({doc}))


def test_ivf_save_load_mmap_delete_and_add(ivf, tmp_path):
    index, vectors = ivf
    index.save(tmp_path)
    loaded = LocalIndex.load(tmp_path, DIM)
    assert loaded.stats()["vector_kind"] == "ivf" and loaded.stats()["memory_mapped"]
    q = queries(seed=2, n=50)
    assert [loaded.search_dense(v, 5) for v in q] == [index.search_dense(v, 5) for v in q]
    # delete a document: its vectors go, the rest is found as before (copy-on-write of the mmap)
    gone = {i for i in range(N) if i % 100 == 7}
    assert loaded.delete(["doc7"]) == len(gone)
    assert not loaded.stats()["memory_mapped"]
    for i in sorted(gone)[:10]:
        assert all(c.doc_id != "doc7" for c, _ in loaded.search("", vectors[i], 10, "dense", None, **FUSION))
    keep = np.asarray(sorted(set(range(N)) - gone))
    truth = keep[np.argmax(q @ vectors[keep].T, axis=1)]
    found = [loaded.search_dense(v, 1)[0][0] for v in q]
    assert np.mean(np.asarray(found) == truth) >= 0.95
    # incremental add keeps ids counting and the new vectors findable
    extra = clustered(300, seed=9)
    loaded.add(chunks(300, start=N), extra, tokens=tokens(300, start=N))
    assert loaded.search("", extra[0], 1, "dense", None, **FUSION)[0][0].chunk_id == f"c{N}"
    assert len(loaded) == N - len(gone) + 300


def test_ivf_retrains_when_it_outgrows_its_cells():
    index = LocalIndex(DIM, flat_max=1000)
    index.add(chunks(1200), clustered(1200), tokens=tokens(1200))
    cells = index.stats()["cells"]
    more = clustered(8000, seed=4)
    index.add(chunks(8000, start=1200), more, tokens=tokens(8000, start=1200))
    assert index.stats()["cells"] > cells
    assert index.search("", more[123], 1, "dense", None, **FUSION)[0][0].chunk_id == "c1323"


def test_flat_mmap_round_trip_and_write_after_load(tmp_path):
    index = LocalIndex(DIM)
    vectors = clustered(2000)
    index.add(chunks(2000), vectors, tokens=tokens(2000))
    index.save(tmp_path)
    loaded = LocalIndex.load(tmp_path, DIM)
    assert loaded.stats()["memory_mapped"] and loaded.stats()["vector_kind"] == "flat"
    assert loaded.search_dense(vectors[42], 1)[0][0] == 42
    loaded.delete(["doc42"])
    assert loaded.search_dense(vectors[42], 1)[0][0] != 42


def test_hnsw_option_deletes_by_rebuilding(tmp_path):
    index = LocalIndex(DIM, kind="hnsw")
    vectors = clustered(3000)
    index.add(chunks(3000), vectors, tokens=tokens(3000))
    assert index.stats()["vector_kind"] == "hnsw"
    assert nearest_share(index, vectors, queries()) >= 0.95
    assert index.delete(["doc1"]) == 30
    assert all(c.doc_id != "doc1" for c, _ in index.search("", vectors[1], 10, "dense", None, **FUSION))
    index.save(tmp_path)
    loaded = LocalIndex.load(tmp_path, DIM)
    assert loaded.stats()["vector_kind"] == "hnsw" and loaded.search_dense(vectors[2], 1)[0][0] == 2


def test_sentence_vectors_are_dropped_beyond_the_limit():
    index = LocalIndex(DIM, sentence_limit=100)
    sentences = [np.stack([v, v]) for v in clustered(80)]
    index.add(chunks(80), clustered(80), tokens=tokens(80), sentence_vectors=sentences)
    assert index.sentence_similarities(index.chunks()[:3], sentences[0][0]) is not None
    assert index.wants_sentence_vectors(20) and not index.wants_sentence_vectors(21)
    index.add(chunks(40, start=80), clustered(40, seed=3), tokens=tokens(40, start=80),
              sentence_vectors=[np.stack([v]) for v in clustered(40, seed=3)])
    assert index.sentence_similarities(index.chunks()[:3], sentences[0][0]) is None
    assert index.stats()["sentence_vectors"] == 0


def test_vectorised_sentence_similarities_match_the_loop():
    index = LocalIndex(DIM)
    rng = np.random.default_rng(0)
    sentences = [unit(rng.normal(size=(int(rng.integers(1, 6)), DIM))) for _ in range(50)]
    index.add(chunks(50), clustered(50), tokens=tokens(50), sentence_vectors=sentences)
    q = unit(rng.normal(size=(1, DIM)))[0]
    picked = [index.chunks()[i] for i in (5, 0, 49, 17)]
    expected = [sentences[int(c.chunk_id[1:])] @ q for c in picked]
    got = index.sentence_similarities(picked, q)
    assert [len(g) for g in got] == [len(e) for e in expected]
    assert np.concatenate(got) == pytest.approx(np.concatenate(expected), abs=1e-6)


def test_calibration_on_query_vectors_reaches_the_target_and_is_saved(tmp_path):
    """Far-off queries (random directions) need more cells probed than the
    stand-in mixtures the index calibrates on by itself; ``calibrate`` on
    such queries must raise nprobe until they reach recall@10 ≥ 0.95."""
    vectors = clustered(N, seed=5)
    index = LocalIndex(DIM, flat_max=1000)
    index.add(chunks(N), vectors, tokens=tokens(N))
    assert index.needs_calibration() and index.calibration["probes"] == "mixtures"
    far = unit(np.random.default_rng(7).normal(size=(400, DIM)))
    before = index.stats()["nprobe"]
    calibration = index.calibrate(far[:200])
    assert calibration["probes"] == "queries" and calibration["recall"] >= 0.95
    assert index.stats()["nprobe"] > before and not index.needs_calibration()
    truth = np.argsort(-(far[200:] @ vectors.T), axis=1)[:, :10]  # held-out far queries, exact top 10
    found = [[i for i, _ in index.search_dense(q, 10)] for q in far[200:]]
    assert np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth.tolist(), found)]) >= 0.95
    index.save(tmp_path)
    loaded = LocalIndex.load(tmp_path, DIM)
    assert loaded.calibration == calibration and loaded.stats()["nprobe"] == calibration["nprobe"]
    flat = LocalIndex(DIM)
    flat.add(chunks(10), clustered(10), tokens=tokens(10))
    assert flat.calibrate(far[:5]) is None and not flat.needs_calibration()


def test_probe_phrases_are_cut_from_chunk_texts():
    pieces = chunks(50)
    phrases = probe_phrases(pieces, n=30)
    assert len(phrases) == 30 and all(any(p in c.text for c in pieces) for p in phrases)
    assert probe_phrases(pieces, n=30) == phrases and probe_phrases([], n=5) == []


def test_bm25_is_memory_mapped_on_load_and_rebuilt_from_stored_tokens(tmp_path):
    """Loading maps the saved BM25 matrix (tokens stay on disk); a write after
    the load rebuilds it from the stored tokens, even once the directory it
    was loaded from is gone, and the next save carries every chunk's tokens."""
    index = LocalIndex(DIM)
    index.add(chunks(300), clustered(300), tokens=tokens(300))
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    index.save(first)
    assert {p.name for p in first.glob("bm25.*")} >= {"bm25.data.npy", "bm25.vocab.json", "bm25.params.json"}
    loaded = LocalIndex.load(first, DIM)
    assert loaded._bm25 is not None and not loaded._tokens  # mapped, no token lists in memory
    query = "u7 t7 学校"
    assert loaded.search_bm25(query, 10) == index.search_bm25(query, 10)
    shutil.rmtree(first)  # an incremental build removes the version it loaded from
    loaded.delete(["doc7"])
    loaded.add(chunks(20, start=300), clustered(20, seed=8), tokens=tokens(20, start=300))
    expected = LocalIndex(DIM)
    keep = [c for c in chunks(300) if c.doc_id != "doc7"] + chunks(20, start=300)
    expected.add(keep, np.zeros((len(keep), DIM), dtype="float32"),
                 tokens=[["教育", "学校", f"t{int(c.chunk_id[1:]) % 97}", f"u{c.chunk_id[1:]}"] for c in keep])
    names = lambda hits: [(loaded._chunks[i].chunk_id, round(s, 4)) for i, s in hits]  # noqa: E731
    assert names(loaded.search_bm25(query, 10)) == [(expected._chunks[i].chunk_id, round(s, 4))
                                                    for i, s in expected.search_bm25(query, 10)]
    loaded.save(second)
    again = LocalIndex.load(second, DIM)
    (second / "bm25.params.json").unlink()  # an index saved without the matrix re-indexes the stored tokens
    rebuilt = LocalIndex.load(second, DIM)
    assert rebuilt._bm25 is None
    for q in (query, "u305 教育", "t3"):
        assert rebuilt.search(q, None, 10, "bm25", None, **FUSION) == again.search(q, None, 10, "bm25", None, **FUSION) == loaded.search(q, None, 10, "bm25", None, **FUSION)
