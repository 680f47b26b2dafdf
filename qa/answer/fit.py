"""Fit ``qa/data/answer_model.json`` from development question sets.

usage: python -m qa.answer.fit --set INDEX=QUESTIONS.jsonl[:none] [--set ...] [--out FILE]

Each ``--set`` answers a question file against an index. Questions of kind
``none`` (or every question of a set marked ``:none``, e.g. another corpus's
questions asked of this one) are ones the reports cannot answer; the others
are answerable and their ``evidence`` strings label the sentences that hold
the answer. The sentence model is fitted on the answerable questions'
sentences, then the found model on each question's best sentence; the
threshold maximises the balanced share of answerable questions answered and
unanswerable ones declined. The sets used are written into the model file.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.answer.enumeration import list_match, question_enumeration
from qa.answer.sentence_model import MODEL_FILE, AnswerModel, Logistic
from qa.answer.signals import QUESTION_FEATURES, SENTENCE_FEATURES, candidates, question_features
from qa.questions import read_questions
from qa.settings import Settings
from qa.text.fold import holds_evidence

logger = logging.getLogger(__name__)


@dataclass
class Example:
    """One question's candidate sentences with their labels."""

    set_name: str
    qid: str
    answerable: bool
    cands: object  # qa.answer.signals.Candidates
    labels: np.ndarray  # 1 where the sentence holds an evidence string


def collect(spec: str, top_k: int = 6) -> list[Example]:
    """Answer one ``INDEX=QUESTIONS[:none]`` set and label its candidates."""
    from qa.answer.assistant import Assistant

    index, _, rest = spec.partition("=")
    path, _, flag = rest.partition(":")
    assistant = Assistant(replace(Settings.from_env(), index=Path(index)))
    questions, problems = read_questions(Path(path), need_relevance=False)
    for problem in problems:
        logger.warning(problem)
    out = []
    for q in questions:
        retrieval = assistant.searcher.retrieve(q.question, top_k)
        facts = assistant.facts(q.question, retrieval.hits, retrieval.sentences)
        cands = candidates(q.question, retrieval.hits, facts, assistant.searcher.colloquial)
        answerable = flag != "none" and q.kind != "none"
        labels = np.array([holds_evidence(s.text, q.evidence) if answerable else False for s in cands.spans])
        out.append(Example(f"{Path(path).name}@{Path(index).name}{':none' if flag else ''}", q.id, answerable,
                           cands, labels.astype(float)))
    return out


def fit(examples: list[Example], sources: list[str]) -> AnswerModel:
    rows = [e for e in examples if e.answerable and e.labels.any()]
    x = np.concatenate([e.cands.matrix() for e in rows])
    y = np.concatenate([e.labels for e in rows])
    sentence = Logistic.fit(list(SENTENCE_FEATURES), x, y)
    qx, qy = [], []
    for e in examples:
        if not e.cands.spans or (e.answerable and not e.labels.any()):
            continue  # retrieval missed the answer: no answer to find, whatever is decided
        probs = sentence.prob(e.cands.matrix())
        for span, p in zip(e.cands.spans, probs):
            span.prob = float(p)
        best = e.cands.spans[int(np.argmax(probs))]
        qx.append(question_features(e.cands, best, list_match(question_enumeration(e.cands))))
        qy.append(float(e.answerable))
    found = Logistic.fit(list(QUESTION_FEATURES), np.array(qx), np.array(qy))
    p = found.prob(np.array(qx))
    qy_arr = np.array(qy)
    grid = np.linspace(0.05, 0.95, 91)
    balanced = [((p >= t)[qy_arr > 0].mean() + (p < t)[qy_arr == 0].mean()) / 2 for t in grid]
    found.threshold = float(grid[int(np.argmax(balanced))])
    sets: dict[str, list[int]] = {}
    for e in examples:
        sets.setdefault(e.set_name, [0, 0])[e.answerable] += 1
    fitted_on = {
        "sets": {name: {"answerable": n[1], "unanswerable": n[0]} for name, n in sets.items()},
        "sources": sources,
        "sentence_rows": int(len(y)), "sentence_positives": int(y.sum()),
        "threshold_balanced_accuracy": round(max(balanced), 4),
        "command": "python -m qa.answer.fit " + " ".join(f"--set {s}" for s in sources),
    }
    return AnswerModel(sentence, found, fitted_on)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.answer.fit", description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", required=True, metavar="INDEX=QUESTIONS[:none]")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    examples = [e for spec in args.set for e in collect(spec)]
    model = fit(examples, args.set)
    model.save(args.out)
    print(f"wrote {args.out}: threshold {model.found.threshold:.2f}, "
          f"balanced accuracy {model.fitted_on['threshold_balanced_accuracy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
