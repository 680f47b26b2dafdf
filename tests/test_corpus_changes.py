"""A corpus change from the app (add, replace, delete) happens together with
its index update or not at all: a failed build puts the folder back, and a
process killed half-way is undone when the app next starts, so the corpus
always holds what the index serves. Real builds on private copies of the
seed index; the kill is a real SIGKILL at the moment the new version is written.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from conftest import kill_process_when, tmp_versions
from qa.index.storage import BuildLocked, build_lock, current_dir, read_manifest
from qa.ingest.corpus import corpus_files, file_hash
from qa.settings import Settings
from qa.ui import corpus_changes

NEW_REPORT = "二〇二五年校园足球工作总结\n\n一、基本情况\n全县新建校园足球特色学校十二所，组建青训梯队三十支。\n"


@pytest.fixture()
def private(built_index, tmp_path) -> Settings:
    """A private copy of the session's seed corpus and index (no re-embedding)."""
    settings = built_index[0]
    shutil.copytree(settings.corpus, tmp_path / "corpus")
    shutil.copytree(settings.index, tmp_path / "index", symlinks=True)
    return Settings.from_env(corpus=tmp_path / "corpus", index=tmp_path / "index")


def _folder(settings: Settings) -> dict[str, str]:
    """What the build would read: corpus name -> sha256."""
    return {p.relative_to(settings.corpus).as_posix(): file_hash(p) for p in corpus_files(settings.corpus)}


def _upload(tmp_path: Path) -> Path:
    path = tmp_path / "upload" / "足球.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text(NEW_REPORT, encoding="utf-8")
    return path


def test_a_failed_build_leaves_folder_and_index_as_they_were(private, tmp_path):
    """Another build holds the index (a CLI build, say): the change fails and nothing moved."""
    before, version = _folder(private), current_dir(private.index)
    victim = sorted(before)[0]
    with build_lock(private.index):
        applied = corpus_changes.apply(private, corpus_changes.Change(add={"足球.txt": _upload(tmp_path)},
                                                                      delete=[victim]))
    assert isinstance(applied.error, BuildLocked) and applied.report is None
    assert _folder(private) == before
    assert current_dir(private.index) == version
    assert not (private.corpus / corpus_changes.PENDING).exists()


def test_a_change_that_succeeds_leaves_no_backup(private, tmp_path):
    victim = sorted(_folder(private))[0]
    applied = corpus_changes.apply(private, corpus_changes.Change(add={"足球.txt": _upload(tmp_path)},
                                                                  delete=[victim]))
    assert applied.error is None and applied.report.added == ["足球.txt"] and applied.report.removed == [victim]
    assert not (private.corpus / victim).exists() and (private.corpus / "足球.txt").is_file()
    assert set(read_manifest(private.index)["sources"]) == set(_folder(private))
    assert not (private.corpus / corpus_changes.PENDING).exists()


SCRIPT = """
import sys
from pathlib import Path
from qa.settings import Settings
from qa.ui import corpus_changes
corpus, index, upload, victim, replaced = sys.argv[1:]
settings = Settings.from_env(corpus=Path(corpus), index=Path(index))
corpus_changes.apply(settings, corpus_changes.Change(add={"足球.txt": Path(upload), replaced: Path(upload)},
                                                     delete=[victim]))
"""


def test_a_change_killed_while_the_index_is_written_is_undone_at_start(private, tmp_path):
    """SIGKILL while the new index version is being written: the previous
    index still serves (qa.index.build), and ``recover`` (run by app.py at
    start) puts the deleted and the replaced file back and removes the new one."""
    before, version = _folder(private), current_dir(private.index)
    victim, replaced = sorted(before)[:2]
    leftovers = set(tmp_versions(private.index))
    cmd = [sys.executable, "-c", SCRIPT, str(private.corpus), str(private.index), str(_upload(tmp_path)), victim,
           replaced]
    outcome = kill_process_when(cmd, lambda: bool(set(tmp_versions(private.index)) - leftovers))
    assert outcome == "killed", "the change finished before its index version was written"
    assert current_dir(private.index) == version  # the index never switched
    assert (private.corpus / "足球.txt").exists() and not (private.corpus / victim).exists()  # the folder did move
    done = corpus_changes.recover(private)
    assert sorted(done) == sorted([f"restored {victim}", f"restored {replaced}", "removed 足球.txt"]), done
    assert _folder(private) == before
    assert not (private.corpus / corpus_changes.PENDING).exists()
    assert corpus_changes.recover(private) == []  # nothing left to do


def test_recover_keeps_a_change_the_index_already_holds(private, tmp_path):
    """Killed after the switch (or `make run` built the half-moved folder
    first): the index holds the change, so the backups are dropped."""
    victim = sorted(_folder(private))[0]
    applied = corpus_changes.apply(private, corpus_changes.Change(add={"足球.txt": _upload(tmp_path)},
                                                                  delete=[victim]))
    assert applied.error is None
    after = _folder(private)
    left = private.corpus / corpus_changes.PENDING / "20260101T000000-abcdef"  # as a kill before clean-up leaves it
    left.mkdir(parents=True)
    shutil.copy(Path(private.corpus).parent / "upload" / "足球.txt", left / victim)  # not the bytes the index had
    (left / corpus_changes.JOURNAL).write_text(f'{{"add": ["足球.txt"], "backup": ["{victim}"]}}', encoding="utf-8")
    assert corpus_changes.recover(private) == []
    assert _folder(private) == after and not (private.corpus / corpus_changes.PENDING).exists()
