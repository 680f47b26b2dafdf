"""The index a reader serves: the local directory's current version, or the
Milvus collection an alias points at (``Settings.backend``)."""

from __future__ import annotations

from typing import Any

from qa.index.protocol import Index
from qa.index.storage import current_dir, load_index


def current_version(settings: Any) -> Any:
    """What identifies the index a reader of ``settings`` should serve: the
    local directory's current version, or for ``backend == "milvus"`` the
    collection the Milvus alias points at (None when there is none)."""
    if settings.backend == "milvus":
        from qa.index.milvus_versions import MilvusVersions  # pymilvus only for a Milvus index

        return MilvusVersions.for_settings(settings).live()
    return current_dir(settings.index)


def open_current(settings: Any) -> tuple[Index, dict[str, Any]]:
    """The index a reader of ``settings`` serves and its manifest: Milvus
    (everything from the URI, no local directory) or ``--index DIR``."""
    if settings.backend == "milvus":
        from qa.index.milvus_versions import MilvusVersions

        return MilvusVersions.for_settings(settings).open(settings.model)
    return load_index(settings.index, settings.model, milvus_uri=settings.milvus_uri,
                      milvus_token=settings.milvus_token)
