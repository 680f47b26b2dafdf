"""The answer layer's numbers: the sentence signals (``qa.answer.signals``),
the two logistic models (``qa.answer.sentence_model``) and the command that
fits them (``python -m qa.answer.fit``), on the real seeds and model.

The committed model's figures are gated by tests/test_quality_gates.py; here
each part is checked for what it promises, so a broken signal or fit fails
by name rather than as a few answers less."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA, QA_DATA

from qa.answer.sentence_model import MODEL_FILE, AnswerModel, Logistic, default_model
from qa.answer.signals import (QUESTION_FEATURES, SENTENCE_FEATURES, candidates, has_number_unit, idf_coverages,
                               question_terms)

FEATURE = {name: i for i, name in enumerate(SENTENCE_FEATURES)}


def _candidates(assistant, question: str):
    retrieval = assistant.searcher.retrieve(question, 6)
    facts = assistant.facts(question, retrieval.hits, retrieval.sentences)
    return candidates(question, retrieval.hits, facts, assistant.searcher.colloquial)


def test_signals_of_a_number_question_point_at_the_sentence_with_the_number(assistant):
    """新城第四初中 … 投资了多少: the sentence holding 投资3280万元 has a number
    with its unit, covers the question, and the committed model ranks it first."""
    cands = _candidates(assistant, "新城第四初中整体新建工程投资了多少？")
    assert cands.number_question and len(cands.spans) > 10
    matrix = cands.matrix()
    assert matrix.shape == (len(cands.spans), len(SENTENCE_FEATURES)) and np.isfinite(matrix).all()
    (answer,) = [i for i, s in enumerate(cands.spans) if "3280万元" in s.text]
    row = matrix[answer]
    assert row[FEATURE["number_hit"]] == 1 and row[FEATURE["number_miss"]] == 0
    assert all(matrix[i, FEATURE["number_miss"]] == 1 for i, s in enumerate(cands.spans) if not has_number_unit(s.folded))
    # gaps are measured to the best sentence of the question: 0 there, below elsewhere
    for gap in ("sim_gap", "coverage_gap", "idf_coverage_gap"):
        assert matrix[:, FEATURE[gap]].max() == pytest.approx(0) and (matrix[:, FEATURE[gap]] <= 1e-12).all()
    assert row[FEATURE["coverage"]] == matrix[:, FEATURE["coverage"]].max()
    assert int(np.argmax(default_model().sentence.prob(matrix))) == answer


def test_question_terms_leave_out_question_words_and_read_english_through_the_glossary():
    terms = question_terms("全县现有多少所中小学校？")
    assert {"学校", "全县"} <= terms and "多少" not in terms
    assert "学校" in question_terms("How many primary and secondary schools are there?")


def test_idf_coverage_weighs_the_term_only_one_sentence_holds():
    terms = {"教师", "交流", "职称"}
    grams = [{"教师", "交流"}, {"教师", "交流", "职称"}, {"教师"}]
    weights = idf_coverages(terms, grams)
    assert weights[1] == pytest.approx(1.0) and weights[1] > weights[0] > weights[2] >= 0


def test_logistic_model_fits_separable_data_and_survives_a_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)
    model = Logistic.fit(["a", "b"], x, y)
    assert ((model.prob(x) >= 0.5) == (y > 0)).mean() >= 0.95
    assert model.weights[0] > 0 > model.weights[1]
    pair = AnswerModel(model, Logistic.fit(["c"], x[:, :1], y), {"sets": {"toy": {"answerable": 200}}})
    pair.save(tmp_path / "model.json")
    again = AnswerModel.load(tmp_path / "model.json")
    assert np.allclose(again.sentence.prob(x), model.prob(x), atol=1e-4) and again.fitted_on == pair.fitted_on


def test_the_committed_model_reads_the_features_the_signals_compute():
    model = default_model()
    assert model.sentence.features == list(SENTENCE_FEATURES)
    assert model.found.features == list(QUESTION_FEATURES)
    assert 0 < model.found.threshold < 1 and model.fitted_on["sets"]


def test_fit_command_writes_a_model_that_decides_its_sets(built_index, tmp_path):
    """``python -m qa.answer.fit`` (its ``main``, in this process: the model
    loads once) on the dev set and two unanswerable sets, written to a
    temporary file: the committed model file is left as it is."""
    from qa.answer.fit import main

    committed = MODEL_FILE.read_bytes()
    index = built_index[0].index
    out = tmp_path / "answer_model.json"
    sets = [f"{index}={QA_DATA / 'dev_questions.jsonl'}", f"{index}={QA_DATA / 'dev_unanswerable.jsonl'}",
            f"{index}={DATA / 'ncp_cross100.jsonl'}:none"]
    assert main([arg for s in sets for arg in ("--set", s)] + ["--out", str(out)]) == 0
    assert MODEL_FILE.read_bytes() == committed
    data = json.loads(out.read_text(encoding="utf-8"))
    fitted = data["fitted_on"]
    assert [(v["answerable"], v["unanswerable"]) for v in fitted["sets"].values()] == [(28, 0), (0, 10), (0, 100)]
    assert fitted["command"].startswith("python -m qa.answer.fit --set ")
    model = AnswerModel.load(out)
    assert model.sentence.features == list(SENTENCE_FEATURES) and 0.05 <= model.found.threshold <= 0.95
    # on the questions it was fitted on, the threshold separates answerable from not for nearly all
    assert fitted["threshold_balanced_accuracy"] >= 0.9, fitted
    assert fitted["sentence_positives"] >= 28 and fitted["sentence_rows"] > 10 * fitted["sentence_positives"]
