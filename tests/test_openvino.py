"""QA_ENCODER=openvino (what ``auto`` picks on CPUs with bf16): the same model run by OpenVINO instead of torch must
give the same vectors (so either can search an index the other built) and
the same retrieval quality on the dev set."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.embedding.embedder import Embedder, get_embedder
from qa.evaluation.runner import make_configs, run_eval
from qa.index.passages import search_text
from qa.questions import read_questions
from qa.answer import sentence_scorer
from qa.search.searcher import Searcher

pytest.importorskip("openvino")

DATA = Path(__file__).resolve().parent / "data"
QA_DATA = DATA.parent.parent / "qa" / "data"


@pytest.fixture(scope="module")
def openvino_embedder():
    return get_embedder(encoder="openvino")


def test_vectors_match_torch(openvino_embedder, searcher):
    torch_embedder = get_embedder(encoder="torch")
    texts = [search_text(c) for c in searcher.index.chunks()[:24]]
    queries = ["县里采取了哪些措施推进教师交流？", "What measures promote teacher exchange?", "學校安全"]
    for encode in ("encode_documents", "encode_queries"):
        items = texts if encode == "encode_documents" else queries
        a = getattr(torch_embedder, encode)(items)
        b = getattr(openvino_embedder, encode)(items)
        assert b.shape == a.shape and np.min(np.sum(a * b, axis=1)) >= 0.999


def test_dev_set_quality_is_unchanged(searcher, openvino_embedder):
    questions, _ = read_questions(QA_DATA / "dev_questions.jsonl")
    scores = {}
    for run in (Searcher(replace(searcher.settings, encoder="torch"), sentence_scorer(replace(searcher.settings, encoder="torch"))),
                Searcher(replace(searcher.settings, encoder="openvino"), sentence_scorer(replace(searcher.settings, encoder="openvino")))):
        scores[run.embedder.encoder] = run_eval(run, questions, make_configs(["hybrid"])).configs[0].metrics.overall
    assert scores["openvino"]["R@5"] >= scores["torch"]["R@5"] - 0.01


def test_unknown_encoder_is_refused():
    with pytest.raises(ValueError, match="unknown encoder 'onnx'"):
        Embedder("intfloat/multilingual-e5-small", encoder="onnx")
