"""Index directories: versioned, checksummed, swapped atomically, locked.

Layout of ``--index DIR``::

    DIR/current -> v-<time>-<id>/     symlink, replaced atomically
    DIR/v-.../manifest.json           model, chunking, hashes, checksums
    DIR/v-.../vectors.faiss, chunks.sqlite
    DIR/.lock                         held by the one running build

A build writes a complete new version next to the old one and only then
points ``current`` at it (``os.replace`` of a symlink is atomic), so a build
killed at any moment leaves the previous index loadable, and readers that
already loaded keep answering from memory.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from qa.index.local import LocalIndex
from qa.index.protocol import Index
from qa.ingest.corpus import file_hash

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = 1


class IndexProblem(Exception):
    """Base for index problems the user must act on; the message says how."""


class IndexMissing(IndexProblem):
    pass


class IndexMismatch(IndexProblem):
    pass


class IndexCorrupt(IndexProblem):
    pass


class BuildLocked(IndexProblem):
    pass


def library_versions() -> dict[str, str]:
    versions = {}
    for name in ("sentence-transformers", "faiss-cpu", "bm25s", "jieba", "torch", "transformers", "pymilvus",
                 "milvus-lite"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def current_dir(index_dir: Path) -> Path | None:
    link = index_dir / "current"
    target = link.resolve() if link.is_symlink() else None
    return target if target and (target / MANIFEST).is_file() else None


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    version = current_dir(index_dir)
    if version is None:
        return None
    try:
        return json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexCorrupt(f"{version / MANIFEST} is unreadable ({exc}); run `python -m qa build --rebuild`") from exc


def manifest_hash(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]


def load_index(index_dir: Path, model: str | None = None, verify: bool = True,
               milvus_uri: str | None = None, milvus_token: str = "") -> tuple[Index, dict[str, Any]]:
    """The current index, refusing one built with another model or one whose
    files do not match their recorded checksums. The manifest's ``backend``
    decides what loads: the local files, or (``milvus``) a connection to the
    collection its pointer file names (``milvus_uri`` overrides the recorded URI)."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexMissing(f"no index in {index_dir}; build one with `python -m qa build --index {index_dir}`")
    if model is not None and manifest.get("model") != model:
        raise IndexMismatch(
            f"the index in {index_dir} was built with model {manifest.get('model')!r}, not {model!r}; "
            f"use --model {manifest.get('model')} or rebuild it with `python -m qa build --rebuild --model {model}`"
        )
    version = current_dir(index_dir)
    if verify:
        for name, expected in manifest.get("files", {}).items():
            path = version / name
            if not path.is_file() or file_hash(path) != expected:
                raise IndexCorrupt(
                    f"{path} is missing or was modified (checksum mismatch); "
                    f"run `python -m qa build --rebuild --index {index_dir}`"
                )
    try:
        if manifest.get("backend", "local") == "milvus":
            from qa.index.milvus import MilvusIndex

            try:
                return MilvusIndex.load(version, int(manifest["dim"]), uri=milvus_uri, token=milvus_token), manifest
            except Exception as exc:
                raise IndexMissing(
                    f"cannot open the Milvus collection that {index_dir} points to ({exc}); check --milvus-uri "
                    f"or rebuild with `python -m qa build --rebuild --backend milvus --index {index_dir}`"
                ) from exc
        return LocalIndex.load(version, int(manifest["dim"])), manifest
    except IndexProblem:
        raise
    except Exception as exc:
        raise IndexCorrupt(f"cannot load the index in {version} ({exc}); run `python -m qa build --rebuild`") from exc


def write_version(index_dir: Path, index: Index, manifest: dict[str, Any]) -> Path:
    """Save ``index`` as a new version and make it current atomically."""
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir()
    try:
        index.save(tmp)
        files = {p.name: file_hash(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {**manifest, "format": FORMAT, "files": files, "versions": library_versions(),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        for path in tmp.iterdir():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        final = index_dir / name
        tmp.rename(final)
        link_tmp = index_dir / f".current-{uuid.uuid4().hex[:6]}"
        link_tmp.symlink_to(name)
        os.replace(link_tmp, index_dir / "current")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_old_versions(index_dir, keep=final)
    return final


def _remove_old_versions(index_dir: Path, keep: Path) -> None:
    """Older versions and leftovers of killed builds (``.tmp-*``) go; a reader
    that already loaded an old version holds its data in memory."""
    for path in index_dir.iterdir():
        if path != keep and (path.name.startswith("v-") or path.name.startswith(".tmp-")) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(".current-") and path.is_symlink():
            path.unlink(missing_ok=True)


@contextmanager
def build_lock(index_dir: Path, wait: bool = False) -> Iterator[None]:
    """Only one build writes an index directory at a time; a second one
    refuses at once (or waits, with ``wait=True``)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise BuildLocked(f"another build is writing {index_dir} ({holder}); try again when it ends") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
