"""What runs the embedding model: torch (sentence-transformers) or OpenVINO.

Both take a list of texts and a prompt name (``"query"`` / ``"document"``)
and return L2-normalised float32 vectors that agree to cosine >= 0.999
(``tests/test_openvino.py``), so an index built by one is searched by the other.

The OpenVINO encoder never imports torch or sentence-transformers: it runs a
converted copy of the model with the model's own ``tokenizer.json`` and does
the pooling in numpy. Converting needs torch (a few seconds, plus importing
sentence-transformers), so it happens once: the conversion is cached on disk
next to the materialised model (``QA_MODEL_CACHE``, or ``QA_ENCODER_CACHE``),
keyed by model, OpenVINO version and CPU precision, and every later process
only compiles it (from OpenVINO's own compiled-blob cache in the same folder).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from qa.settings import Settings

logger = logging.getLogger(__name__)

#: bump when the cached layout or the conversion changes
CONVERSION_VERSION = 1
META_FILE = "conversion.json"


class UnsupportedModel(ValueError):
    """The model has parts the OpenVINO encoder does not reproduce (use torch)."""


def encoder_cache() -> Path:
    """Where conversions and probe results live: ``QA_ENCODER_CACHE``, else
    ``encoders/`` inside the model cache."""
    return Settings.from_env().encoder_dir


def model_dir(name: str, path: str) -> Path | None:
    """The local directory holding the model's files (a path, or its snapshot
    in the Hugging Face cache); None when it is only a hub name."""
    if Path(path).is_dir():
        return Path(path)
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, "config.json")
        return Path(found).parent if isinstance(found, str) else None
    except Exception:  # no hub library or cache: not local
        return None


def model_key(name: str, path: str) -> str:
    """A folder name that changes when the model's files change: the model's
    name plus a hash of its directory and its weight files' sizes and times
    (a re-materialised model is converted again)."""
    folder = model_dir(name, path)
    facts: list[Any] = [name, str(folder or path)]
    if folder is not None:
        for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            stat = weights.stat()
            facts += [weights.name, stat.st_size, stat.st_mtime_ns]
    slug = re.sub(r"[^\w.-]+", "-", Path(name).name or name).strip("-")[:60]
    return f"{slug}-{hashlib.sha1(json.dumps(facts).encode()).hexdigest()[:12]}"


def openvino_precision() -> str:
    """The precision OpenVINO's CPU plugin computes in here: bf16 where the CPU
    has it (AMX/AVX512-BF16), else f32."""
    import openvino as ov

    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "bf16" if "BF16" in capabilities else "f32"


def conversion_dir(name: str, path: str) -> Path:
    import openvino as ov

    version = ov.get_version().split("-")[0]
    return encoder_cache() / model_key(name, path) / f"openvino-{version}-{openvino_precision()}"


# ------------------------------------------------------------------- torch


class TorchEncoder:
    """sentence-transformers on torch, the reference every other encoder matches."""

    name = "torch"

    def __init__(self, path: str, prompts: dict[str, str] | None = None):
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(path, device="cpu")
        if prompts and "query" not in (self.model.prompts or {}):
            self.model.prompts = {**(self.model.prompts or {}), **prompts}
        self.dim = int(self.model.get_embedding_dimension())
        self.precision = "f32"

    def encode(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
        encode = self.model.encode_query if kind == "query" else self.model.encode_document
        vectors = encode(texts, batch_size=batch_size, normalize_embeddings=True,
                         show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vectors, dtype="float32").reshape(len(texts), self.dim)


# ---------------------------------------------------------------- openvino


def _pipeline(model) -> dict:
    """What the numpy side must reproduce of a sentence-transformers model:
    prompts, pooling, normalisation, sequence length, padding token."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if not (kinds[:2] == ["Transformer", "Pooling"] and kinds[2:] in ([], ["Normalize"])
            and hasattr(modules[0], "auto_model")):
        raise UnsupportedModel(f"the OpenVINO encoder handles Transformer + Pooling (+ Normalize) models, not {kinds}")
    pooling = modules[1].pooling_mode
    pooling = pooling if isinstance(pooling, str) else "+".join(pooling)
    if pooling not in ("mean", "cls") or not getattr(modules[1], "include_prompt", True):
        raise UnsupportedModel(f"the OpenVINO encoder handles mean or cls pooling over the prompt, not {pooling!r}")
    tokenizer = modules[0].tokenizer
    return {"pooling": pooling, "prompts": dict(model.prompts or {}), "max_seq_length": int(model.max_seq_length),
            "pad_id": int(tokenizer.pad_token_id), "pad_token": str(tokenizer.pad_token),
            "dim": int(model.get_embedding_dimension())}


def convert(model, dest: Path, expected: dict) -> None:
    """Convert a loaded sentence-transformers model's encoder into ``dest``
    (OpenVINO IR with fp32 weights, its tokenizer, and ``conversion.json``
    written last), built in a temporary folder and renamed into place so a
    killed or concurrent run never leaves a folder that looks complete."""
    import openvino as ov
    import torch

    meta = {**expected, **_pipeline(model)}
    encoder = model[0].auto_model

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
    started = time.perf_counter()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    trash = work
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            converted = ov.convert_model(Encoder().eval(), example_input=example,
                                         input=[("input_ids", [-1, -1], ov.Type.i64),
                                                ("attention_mask", [-1, -1], ov.Type.i64)])
        ov.save_model(converted, str(work / "model.xml"), compress_to_fp16=False)
        (work / "tokenizer.json").write_text(model[0].tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
        meta["bin_bytes"] = (work / "model.bin").stat().st_size
        (work / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        trash = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        if dest.exists():  # damaged or stale: move aside, then swap in
            os.replace(dest, trash / "old")
        try:
            os.replace(work, dest)
        except OSError:
            if not (dest / META_FILE).exists():  # unless a concurrent run just finished
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)
    logger.info("converted the embedding model to OpenVINO in %.1f s: %s", time.perf_counter() - started, dest)


class OpenVINOEncoder:
    """A cached conversion run by OpenVINO; tokenisation by the model's own
    ``tokenizer.json`` (the Rust ``tokenizers`` library), pooling and
    normalisation in numpy, exactly as sentence-transformers does them."""

    name = "openvino"

    def __init__(self, folder: Path, expected: dict):
        import openvino as ov
        from tokenizers import Tokenizer

        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        stale = {k: (meta.get(k), v) for k, v in expected.items() if meta.get(k) != v}
        if stale:
            raise ValueError(f"conversion made for other settings: {stale}")
        if (folder / "model.bin").stat().st_size != meta["bin_bytes"]:
            raise ValueError("model.bin is incomplete")
        self.meta = meta
        self.dim = int(meta["dim"])
        self.prompts = meta["prompts"]
        # compiling releases the GIL: it overlaps with parsing the tokenizer (the slower of the two)
        with ThreadPoolExecutor(1) as pool:
            # by path, so a compiled blob in CACHE_DIR is used without reading the IR at all
            compiling = pool.submit(ov.Core().compile_model, str(folder / "model.xml"), "CPU",
                                    {"CACHE_DIR": str(folder / "compiled")})
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self.compiled = compiling.result()
        self.tokenizer.enable_truncation(max_length=meta["max_seq_length"])
        self.tokenizer.enable_padding(pad_id=meta["pad_id"], pad_token=meta["pad_token"])
        self.precision = self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()  # bf16 / f32
        self.request = self.compiled.create_infer_request()

    def encode(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
        prompt = self.prompts.get(kind, "")
        out = np.empty((len(texts), self.dim), dtype="float32")
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths pad least
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            encoded = self.tokenizer.encode_batch([prompt + texts[i] for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            tokens = self.request.infer({"input_ids": ids, "attention_mask": mask})[0]
            tokens = np.asarray(tokens, dtype="float32")
            if self.meta["pooling"] == "cls":
                pooled = tokens[:, 0]
            else:
                weights = mask[:, :, None].astype("float32")
                pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


def load_openvino(name: str, path: str, prompts: dict[str, str] | None = None,
                  torch_encoder: TorchEncoder | None = None) -> OpenVINOEncoder:
    """The cached conversion of ``name``, converting it first when there is
    none; a damaged cache is converted again with a warning."""
    folder = conversion_dir(name, path)
    expected = {"conversion_version": CONVERSION_VERSION, "model": name}
    if (folder / META_FILE).exists():
        try:
            return OpenVINOEncoder(folder, expected)
        except Exception as exc:  # noqa: BLE001 - any damage means: convert again
            logger.warning("the cached OpenVINO conversion in %s is unusable (%s); converting the model again",
                           folder, str(exc).splitlines()[0][:200])
    elif folder.exists():
        logger.warning("the cached OpenVINO conversion in %s is incomplete; converting the model again", folder)
    logger.info("converting %s to OpenVINO (once; cached in %s)", name, folder)
    torch_encoder = torch_encoder or TorchEncoder(path, prompts)
    convert(torch_encoder.model, folder, expected)
    return OpenVINOEncoder(folder, expected)
