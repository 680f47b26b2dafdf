"""One change to the corpus (files added, replaced, deleted) applied together
with the index update, or not at all.

The index is already crash-safe: ``qa.index.build.build`` writes a new
version and swaps it in atomically, so a failed or killed build leaves the
previous index serving. This module keeps the *corpus folder* in step with it:
a file that is replaced or deleted is first moved into a hidden folder
(``corpus/.qa-pending/<change>/``, which the build never reads), new files are
copied in, the index is updated, and only then are the old copies thrown away.
When the build fails the folder is put back as it was. When the process dies
half-way, ``recover`` (called when the app starts) compares what is left with
the index it finds: a backed-up file the index still holds is put back, a new
file the index never took is removed, so the corpus again equals what the app
serves.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qa.ingest.corpus import file_hash
from qa.settings import Settings

logger = logging.getLogger(__name__)

#: hidden, so ``corpus_files`` never indexes what waits here
PENDING = ".qa-pending"
JOURNAL = "change.json"


@dataclass
class Change:
    """``add``: corpus name -> the uploaded file to copy there (a name that
    exists is replaced); ``delete``: corpus names to remove."""

    add: dict[str, Path] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)


@dataclass
class Applied:
    """What came of a change: the build's report, the added files the build
    could not read after all (taken out again: name -> stored error), or the
    error that stopped the build (then nothing changed)."""

    report: object | None = None
    unreadable: dict[str, str] = field(default_factory=dict)
    error: BaseException | None = None


def _indexed_hashes(settings: Settings) -> dict[str, str]:
    """source -> sha256 of every file the current index has seen (read or failed)."""
    from qa.index.build import current_manifest, known_hashes

    return known_hashes(current_manifest(settings))


def _move(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)


def _copy_in(src: Path, dst: Path) -> None:
    """Copy next to the target under a hidden name, then rename: the build
    never sees half a file."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    part = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:8]}.part")
    shutil.copyfile(src, part)
    os.replace(part, dst)


def _undo(corpus: Path, backup: Path, names: list[str], backed_up: list[str]) -> None:
    """Remove the added ``names`` and put the backed-up originals back."""
    for name in names:
        (corpus / name).unlink(missing_ok=True)
    for name in backed_up:
        if (backup / name).exists():
            _move(backup / name, corpus / name)


def _discard(folder: Path) -> None:
    """Remove one change's folder, and the pending folder when it is empty."""
    shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.parent.rmdir()
    except OSError:  # another change's folder is still there
        pass


def apply(settings: Settings, change: Change,
          progress: Callable[[str, int, int], None] | None = None) -> Applied:
    """Apply ``change`` to ``settings.corpus`` and update the index
    incrementally. The caller holds ``qa.ui.state.build_lock``."""
    from qa.index.build import build

    corpus = Path(settings.corpus)
    backup = corpus / PENDING / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    backup.mkdir(parents=True)
    added = list(change.add)
    backed_up = [n for n in dict.fromkeys(change.delete + added) if (corpus / n).exists()]
    (backup / JOURNAL).write_text(json.dumps({"add": added, "backup": backed_up}, ensure_ascii=False),
                                  encoding="utf-8")
    try:
        for name in backed_up:
            _move(corpus / name, backup / name)
        for name, src in change.add.items():
            _copy_in(Path(src), corpus / name)
        report = build(settings, progress=progress)
    except Exception as exc:  # the previous index still serves: put the folder back as it was
        logger.warning("corpus change failed, undone: %s", exc)
        _undo(corpus, backup, added, backed_up)
        _discard(backup)
        return Applied(error=exc)

    from qa.index.build import current_manifest

    failed = (current_manifest(settings) or {}).get("failed", {})
    unreadable = {n: failed[n].get("error", "") for n in added if n in failed}
    if unreadable:  # checked before copying, so rare: take them out again and index the corpus without them
        _undo(corpus, backup, list(unreadable), [n for n in backed_up if n in unreadable])
        try:
            report = build(settings, progress=progress)
        except Exception as exc:
            logger.warning("rebuild after taking out unreadable files failed: %s", exc)
    _discard(backup)
    return Applied(report=report, unreadable=unreadable)


def recover(settings: Settings) -> list[str]:
    """Finish or undo the changes a killed process left in ``corpus/.qa-pending``
    so the corpus holds what the index holds; returns what was done (for the log)."""
    corpus = Path(settings.corpus)
    pending = corpus / PENDING
    if not pending.is_dir():
        return []
    done: list[str] = []
    indexed = _indexed_hashes(settings)
    for folder in sorted(p for p in pending.iterdir() if p.is_dir()):
        try:
            plan = json.loads((folder / JOURNAL).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            plan = {"add": [], "backup": []}
        for name in plan.get("backup", []):
            old = folder / name
            if old.is_file() and indexed.get(name) == file_hash(old):
                _move(old, corpus / name)  # the index still holds the old file
                done.append(f"restored {name}")
        for name in plan.get("add", []):
            new = corpus / name
            if new.is_file() and indexed.get(name) != file_hash(new):
                new.unlink()  # never reached the index
                done.append(f"removed {name}")
        _discard(folder)
    return done
