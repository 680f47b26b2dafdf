"""Recall@k, MRR@10 and nDCG@10 of ranked passages, overall and per kind of question.

Metrics are computed with ``ranx`` from the same TREC qrels and run that
``qa eval --report`` writes out (``qrels.txt``, ``run-<config>.txt``), so anyone can
recompute them. **Recall@k here is the hit rate** -- 1 when at least one
relevant passage is in the top k, else 0 (ranx ``hit_rate@k``) -- not the
fraction of relevant passages retrieved: with evidence strings the number of
relevant passages is unknown (and duplicates of one report are deduplicated
at search time), and the hit rate is what ``score.py`` reports as R@5. MRR@10
is the reciprocal rank of the first relevant passage in the top 10 (0 if
none), again as ``score.py``. nDCG@10 is binary-gain nDCG against the pooled
qrels, so unlike R@k and MRR it depends on which configurations were pooled.
A question none of whose relevant passages was retrieved by any configuration
gets a placeholder relevant id, which keeps it in the mean with score 0.
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from qa.evaluation.relevance import NO_RELEVANT, _as_dict, build_qrels, to_run
from qa.questions import Question

RECALL_KS = (1, 3, 5, 10)
#: our metric name -> ranx metric name (Recall@k is deliberately the hit rate, see module docstring)
RANX_METRICS: dict[str, str] = {
    **{f"R@{k}": f"hit_rate@{k}" for k in RECALL_KS},
    "MRR@10": "mrr@10",
    "nDCG@10": "ndcg@10",
}
METRICS = tuple(RANX_METRICS)


@dataclass
class QuestionResult:
    """One question under one configuration, for the worst-first report."""

    id: str
    question: str
    kind: str
    #: 1-based rank of the first relevant hit in the top 10, None when missed
    first_relevant: int | None
    scores: dict[str, float]
    evidence: list[str] = field(default_factory=list)
    relevant: list[str] = field(default_factory=list)
    #: what came back instead: rank, title, section, first 80 chars of the top 3
    returned: list[dict[str, Any]] = field(default_factory=list)

    @property
    def missed(self) -> bool:
        return self.first_relevant is None


@dataclass
class Metrics:
    """Mean metrics overall and per ``kind``, plus per-question results worst first."""

    n: int
    overall: dict[str, float]
    by_kind: dict[str, dict[str, float]]
    kind_counts: dict[str, int]
    questions: list[QuestionResult]


#: ranx runs numba ``parallel=True`` kernels, and numba's default threading layer
#: (workqueue) aborts the whole process when two Python threads enter them at
#: once (the app's start-up warm-up and a user's evaluation, or two users)
_RANX_LOCK = threading.Lock()


def _ranx_per_query(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """ranx per-query scores ``{metric: {qid: value}}`` for our METRICS (one thread at a time)."""
    from ranx import Qrels, Run, evaluate

    with _RANX_LOCK, warnings.catch_warnings():
        # ranx's numba kernels warn about an int cast that cannot overflow for our sizes
        warnings.filterwarnings("ignore", message=".*unsafe cast.*")
        ranx_run = Run.from_dict({qid: dict(docs) for qid, docs in run.items()})
        evaluate(Qrels.from_dict(qrels), ranx_run, list(RANX_METRICS.values()), return_mean=False)
    per_query = ranx_run.scores
    return {ours: {qid: float(v) for qid, v in per_query[theirs].items()} for ours, theirs in RANX_METRICS.items()}


def auc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """ROC AUC: the chance that a positive outscores a negative, ties
    counting half (every pair compared: the sets here are small); None
    unless there are both.

    >>> auc([0.9, 0.4, 0.4, 0.1], [True, True, False, False])
    0.875
    """
    s, y = np.asarray(scores, dtype=float), np.asarray(positive, dtype=bool)
    pos, neg = s[y][:, None], s[~y][None, :]
    if not pos.size or not neg.size:
        return None
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def evaluate_rankings(questions: Sequence[Question], rankings: Mapping[str, Sequence[Any]],
                      qrels: dict[str, dict[str, int]] | None = None, doc_match: bool = False) -> Metrics:
    """Score one configuration's rankings ``{qid: [hit, ...]}`` (best first;
    hit dicts in the ``qa search --json`` shape or ``Hit`` objects).

    ``qrels`` defaults to the pool of these rankings alone; ``run_eval``
    passes the pool of all configurations so nDCG is comparable. A question
    without a ranking counts as a miss, as in ``score.py``.

    >>> q = Question("q1", "教师交流？", evidence=["教师交流"])
    >>> ranking = [{"chunk_id": "x", "text": "校车"}, {"chunk_id": "y", "text": "推进教师交流"}]
    >>> m = evaluate_rankings([q], {"q1": ranking})
    >>> m.overall["R@1"], m.overall["R@3"], m.overall["MRR@10"]
    (0.0, 1.0, 0.5)
    """
    if not questions:
        return Metrics(0, {m: 0.0 for m in METRICS}, {}, {}, [])
    qrels = qrels if qrels is not None else build_qrels(questions, [rankings], doc_match)
    run = to_run(questions, rankings)
    per_query = _ranx_per_query({q.id: qrels.get(q.id) or {NO_RELEVANT: 1} for q in questions}, run)

    results: list[QuestionResult] = []
    for q in questions:
        ranked = list(run[q.id])
        relevant = qrels.get(q.id, {})
        first = next((i for i, doc in enumerate(ranked, 1) if relevant.get(doc, 0) > 0), None)
        top = [_as_dict(h) for h in list(rankings.get(q.id, []))[:3]]
        results.append(QuestionResult(
            id=q.id, question=q.question, kind=q.kind, first_relevant=first,
            scores={m: per_query[m][q.id] for m in METRICS},
            evidence=list(q.evidence), relevant=list(q.relevant),
            returned=[{
                "rank": h.get("rank", i), "title": h.get("title", ""),
                "section": " > ".join(h.get("section") or []) if isinstance(h.get("section"), list) else str(h.get("section") or ""),
                "text": re.sub(r"\s+", " ", str(h.get("text", "")))[:80],
            } for i, h in enumerate(top, 1)],
        ))

    kinds: dict[str, list[QuestionResult]] = {}
    for r in results:
        kinds.setdefault(r.kind, []).append(r)
    overall = {m: _mean([r.scores[m] for r in results]) for m in METRICS}
    by_kind = {k: {m: _mean([r.scores[m] for r in rs]) for m in METRICS} for k, rs in sorted(kinds.items())}
    # worst first: missed, then found lowest, then by nDCG; ties by id for a stable report
    results.sort(key=lambda r: (r.first_relevant is not None, -(r.first_relevant or 0), r.scores["nDCG@10"], r.id))
    return Metrics(len(results), overall, by_kind, {k: len(v) for k, v in sorted(kinds.items())}, results)
