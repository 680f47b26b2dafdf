"""Versions of a Milvus index behind one alias: what readers follow.

Every build (a rebuild and an incremental one alike) writes a complete new
version, ``<alias>__v<time>_<id>`` with its sentence collection (``_s``) and
its manifest (``_m``), and only then points the alias at it with one
``alter_alias``. A reader resolves the alias and reads that one version, so it
never sees a build half-done; a build killed at any moment leaves the alias
on the previous complete version, and the next build drops the leftovers.

The manifest (model and dimension, chunking and chunker version, prompts,
analyzer, file hashes, documents) lives in Milvus too, so a reader needs only
the URI and the alias name (``QA_MILVUS_URI``, ``QA_MILVUS_COLLECTION``), no
local index directory.

The version the alias left is kept until the next publish: a reader that
resolved the alias just before the switch finishes its queries on it and
picks up the new version at its next check.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from qa.index.milvus import MilvusIndex, analyzer_params, connect, normalize_uri
from qa.index.storage import IndexMismatch, IndexMissing, library_versions

logger = logging.getLogger(__name__)

MANIFEST = "_m"  # suffix of the manifest collection
VERSION_MARK = "__v"
PART_BYTES = 60000  # manifest JSON is ASCII (ensure_ascii), stored in VARCHAR(65535) parts


def milvus_uri(settings: Any) -> str:
    """``--milvus-uri`` / ``QA_MILVUS_URI``, or by default ``INDEX/milvus.db``
    (embedded milvus-lite next to the index directory)."""
    return normalize_uri(settings.milvus_uri or Path(settings.index) / "milvus.db")


def reader_facts(embedder_prompts: dict | None = None) -> dict[str, Any]:
    """What a reader must agree with besides the model: the BM25 analyzer and
    the embedding prompts (stored with each version)."""
    return {"analyzer": analyzer_params(), "prompts": embedder_prompts or {}}


class MilvusVersions:
    """The versions of one index (``alias``) on one Milvus."""

    _shared: dict[tuple[str, str], "MilvusVersions"] = {}
    _shared_lock = threading.Lock()

    def __init__(self, uri: str, alias: str, token: str = ""):
        self.uri = normalize_uri(uri)
        self.alias = alias
        self._client = connect(self.uri, token)

    @classmethod
    def for_settings(cls, settings: Any) -> "MilvusVersions":
        """One instance (one client) per URI and alias in a process: readers
        ask for it before every alias check."""
        key = (milvus_uri(settings), settings.milvus_collection)
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(*key, token=settings.milvus_token)
            return cls._shared[key]

    def live(self) -> str | None:
        """The collection the alias points at (None before the first build).
        ``list_aliases`` first: ``describe_alias`` of a missing alias logs an
        RPC error."""
        if self.alias not in self._client.list_aliases().get("aliases", []):
            return None
        return self._client.describe_alias(self.alias)["collection_name"]

    def versions(self) -> list[str]:
        """Every version collection of this alias, complete or not."""
        prefix = self.alias + VERSION_MARK
        return sorted(n for n in self._client.list_collections()
                      if n.startswith(prefix) and not n.endswith(("_s", MANIFEST)))

    # --- manifest -----------------------------------------------------------

    def manifest(self, collection: str | None = None) -> dict[str, Any] | None:
        """The manifest of ``collection`` (default: the live version)."""
        collection = collection or self.live()
        if collection is None or not self._client.has_collection(collection + MANIFEST):
            return None
        self._client.load_collection(collection + MANIFEST)
        rows = self._client.query(collection + MANIFEST, filter="part >= 0", output_fields=["part", "json"],
                                  limit=16384)
        return json.loads("".join(r["json"] for r in sorted(rows, key=lambda r: r["part"])))

    def _write_manifest(self, collection: str, manifest: dict[str, Any]) -> None:
        """One insert of every part: the manifest is there whole or not at all."""
        from pymilvus import DataType

        name = collection + MANIFEST
        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("part", DataType.INT64, is_primary=True)
        schema.add_field("json", DataType.VARCHAR, max_length=65535)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
        params = self._client.prepare_index_params()
        params.add_index("v", index_type="FLAT", metric_type="L2")
        self._client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")
        text = json.dumps(manifest, ensure_ascii=True, sort_keys=True)
        parts = [text[i:i + PART_BYTES] for i in range(0, len(text), PART_BYTES)] or [""]
        self._client.insert(name, [{"part": n, "json": part, "v": [0.0, 0.0]} for n, part in enumerate(parts)])
        self._client.flush(name)

    # --- reading ------------------------------------------------------------

    def open(self, model: str | None = None) -> tuple[MilvusIndex, dict[str, Any]]:
        """The live version and its manifest; refuses a version built with
        another model (its vectors would not match this reader's queries)."""
        collection = self.live()
        manifest = self.manifest(collection) if collection else None
        if manifest is None:
            raise IndexMissing(f"no Milvus index {self.alias!r} at {self.uri}; build one with "
                               f"`python -m qa build --backend milvus --milvus-uri {self.uri}`")
        if model is not None and manifest.get("model") != model:
            raise IndexMismatch(
                f"the Milvus index {self.alias!r} at {self.uri} was built with model {manifest.get('model')!r}, "
                f"not {model!r}; set QA_MODEL={manifest.get('model')} (--model) or rebuild it with "
                f"`python -m qa build --rebuild --backend milvus --model {model}`")
        return MilvusIndex(self.uri, int(manifest["dim"]), collection, create=False, client=self._client), manifest

    # --- writing ------------------------------------------------------------

    def create(self, dim: int) -> MilvusIndex:
        """A new, empty version nobody reads until ``publish``."""
        name = f"{self.alias}{VERSION_MARK}{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:6]}"
        return MilvusIndex(self.uri, dim, name, client=self._client)

    def publish(self, index: MilvusIndex, manifest: dict[str, Any]) -> list[str]:
        """Flush ``index``, store its manifest, switch the alias to it (the one
        atomic step), then drop every other version but the one just left.
        Returns the dropped collections."""
        index.flush()
        manifest = {**manifest, "milvus": {"collection": index.collection, "alias": self.alias},
                    "versions": library_versions(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self._write_manifest(index.collection, manifest)
        previous = self.live()
        if previous is None:
            self._client.create_alias(index.collection, self.alias)
        else:
            self._client.alter_alias(index.collection, self.alias)
        logger.info("Milvus alias %s -> %s (was %s)", self.alias, index.collection, previous)
        return self.drop_leftovers(keep={index.collection, previous})

    def drop_leftovers(self, keep: set[str | None]) -> list[str]:
        """Versions other than ``keep``: older ones and those of killed builds."""
        doomed = [n for n in self.versions() if n not in keep]
        for name in doomed:
            for suffix in ("", "_s", MANIFEST):
                self._client.drop_collection(name + suffix)
        return doomed

    def drop(self, index: MilvusIndex) -> None:
        """Drop an unpublished version (a build that failed)."""
        if index.collection != self.live():
            for suffix in ("", "_s", MANIFEST):
                self._client.drop_collection(index.collection + suffix)
