"""Incremental builds, crash safety and manifest checks on a real index."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, SEED_CORPUS, kill_build_when

from qa.index.build import build
from qa.index.storage import BuildLocked, IndexCorrupt, IndexMismatch, build_lock, current_dir, load_index
from qa.answer import sentence_scorer
from qa.search.searcher import Searcher
from qa.settings import Settings

QUERIES = ["教师交流的主要措施有哪些？", "校车专项督查", "学前教育新增学位"]


@pytest.fixture(scope="module")
def own_index(built_index, tmp_path_factory):
    """A private copy of the session's seed corpus and index (built once,
    from scratch, by ``built_index``): these tests change and rebuild it."""
    base = tmp_path_factory.mktemp("build")
    shutil.copytree(built_index[0].corpus, base / "corpus")
    shutil.copytree(built_index[0].index, base / "index", symlinks=True)
    return Settings.from_env(corpus=base / "corpus", index=base / "index")


@pytest.fixture()
def small_index(tmp_path):
    """Two seed reports, built here: what a killed full rebuild needs (its
    new version half on disk), in a fraction of the seeds' embedding time."""
    (tmp_path / "corpus").mkdir()
    for path in sorted(SEED_CORPUS.glob("*.txt"))[:2]:
        shutil.copy(path, tmp_path / "corpus" / path.name)
    settings = Settings.from_env(corpus=tmp_path / "corpus", index=tmp_path / "index")
    build(settings)
    return settings


def _results(settings):
    searcher = Searcher(settings, sentence_scorer(settings))
    return [[(h.chunk.chunk_id, round(h.score, 6)) for h in searcher.search(q, 5)] for q in QUERIES]


def test_unchanged_corpus_is_not_rebuilt(own_index):
    report = build(own_index)
    assert not report.touched and report.embedded == 0


def test_incremental_build_reembeds_only_the_changed_file(own_index):
    path = own_index.corpus / "003_23cd2b7cd9c0da57.txt"
    original = path.read_bytes()
    try:
        path.write_bytes(original + "\n六、新增工作\n全面推进校园足球特色学校建设,新建足球场12块。\n".encode())
        report = build(own_index)
        assert report.changed == ["003_23cd2b7cd9c0da57.txt"] and not report.added and not report.removed
        index, _ = load_index(own_index.index)
        chunks_of_file = [c for c in index.chunks() if c.source == "003_23cd2b7cd9c0da57.txt"]
        assert report.embedded == len(chunks_of_file) < report.chunks
        hits = Searcher(own_index, sentence_scorer(own_index)).search("新建足球场多少块", 3)
        assert any("新建足球场12块" in h.chunk.text for h in hits)
    finally:
        path.write_bytes(original)
        build(own_index)


def test_removed_and_broken_files(own_index):
    broken = own_index.corpus / "broken.txt"
    broken.write_bytes(bytes(range(256)) * 10)
    report = build(own_index)
    assert report.added == ["broken.txt"]
    assert any("broken.txt" in e and "binary" in e for e in report.errors)
    assert not build(own_index).touched  # a broken file is retried only when it changes
    broken.unlink()
    report = build(own_index)
    assert report.removed == ["broken.txt"]


def test_killed_build_leaves_previous_index_intact(small_index):
    """A full rebuild killed while its new version is half on disk: the kill
    is timed by watching the index directory, not by a guessed sleep."""
    own_index = small_index
    before = _results(own_index)
    version = current_dir(own_index.index)

    def half_written(index, leftovers) -> bool:
        """A version other than the current one holds vectors but no manifest yet."""
        return any((p / "vectors.faiss").exists() and not (p / "manifest.json").exists()
                   for p in index.iterdir() if p.is_dir() and p != version and p not in leftovers)

    cmd = [sys.executable, "-m", "qa", "build", "--rebuild", "--corpus", str(own_index.corpus),
           "--index", str(own_index.index)]
    # both reports are embedded first: seconds idle, far longer on a loaded machine
    assert kill_build_when(cmd, own_index.index, half_written, timeout=1800) == "killed"
    assert current_dir(own_index.index) == version
    assert _results(own_index) == before
    report = build(own_index, rebuild=True)
    assert report.chunks > 0 and _results(own_index) == before


def test_mismatched_model_is_refused(own_index):
    with pytest.raises(IndexMismatch, match="built with model"):
        load_index(own_index.index, model="BAAI/bge-small-zh-v1.5")
    out = subprocess.run(
        [sys.executable, "-m", "qa", "search", "校车", "--index", str(own_index.index), "--model", "other/model"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2 and "built with model" in out.stderr


def test_second_build_is_locked_out(own_index):
    with build_lock(own_index.index):
        with pytest.raises(BuildLocked, match="another build"):
            build(own_index)


def test_tampered_index_is_detected(own_index, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(own_index.index, copy, symlinks=True)
    version = current_dir(copy)
    with open(version / "chunks.sqlite", "r+b") as handle:
        handle.seek(200)
        handle.write(b"tampered")
    with pytest.raises(IndexCorrupt, match="rebuild"):
        load_index(copy)
