"""Which retrieved passages answer a question, as the official scorer decides.

Relevance, as in ``shared/eval/score.py``:

* ``evidence`` strings: a passage is relevant when, after normalization
  (traditional -> simplified, ``(pinyin)`` annotations and all whitespace
  removed, exactly as ``score.py`` does: ``qa.text.fold.evidence_form``), it
  contains one of the strings. There is no pre-judged passage list, so
  relevance is judged per *retrieved* passage: the qrels of a question are
  the retrieved chunk ids that match, pooled over all configurations
  evaluated together (TREC-style pooling), so every configuration is scored
  against the same qrels.
* ``relevant`` ids: a hit is relevant when its ``chunk_id`` or ``doc_id`` is
  in the list (listed ids nobody retrieved stay in the qrels as relevant but
  unretrieved items).

>>> from qa.questions import Question
>>> q = Question("q1", "教师交流有哪些措施？", evidence=["教師交流"])
>>> is_relevant(q, {"text": "推进教师 交流轮岗"}), is_relevant(q, {"text": "教师培训"})
(True, False)
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

from qa.questions import Question
from qa.text.fold import evidence_form

DEPTH = 10  # every metric is cut at 10; deeper hits are not scored
#: placeholder qrels entry for a question with no relevant retrieved passage
NO_RELEVANT = "__no_relevant_retrieved__"

Ranking = list[Mapping[str, Any]]  # hit dicts, best first (Hit.to_dict() shape)


def hit_id(hit: Mapping[str, Any]) -> str:
    """The id a hit has in qrels and run files: its chunk id, else a stable
    stand-in built from its position (``score.py``-style runs have no chunk id).
    Whitespace would break TREC's column format, so it is replaced."""
    raw = hit.get("chunk_id")
    if not raw:
        base = hit.get("doc_id") or hit.get("source") or "hit"
        raw = f"{base}@{hit.get('start', '')}-{hit.get('end', '')}" if "start" in hit else f"{base}#{hit.get('rank', '')}"
    return re.sub(r"\s+", "_", str(raw))


def _as_dict(hit: Any) -> Mapping[str, Any]:
    return hit.to_dict() if hasattr(hit, "to_dict") else hit


def is_relevant(question: Question, hit: Mapping[str, Any], doc_match: bool = False,
                _evidence: Sequence[str] | None = None) -> bool:
    """Whether one retrieved passage answers the question: it contains an
    evidence string (normalized) or its chunk/doc id is listed in ``relevant``.
    With ``doc_match`` (score.py ``--doc-match``) it must also come from the
    question's ``doc``: its source, or one of the documents that publish the
    same passage (``also_in``)."""
    if doc_match and question.doc and not any(question.doc in str(source) for source in
                                              [hit.get("source", ""), *(hit.get("also_in") or [])]):
        return False
    if question.relevant:
        ids = set(question.relevant)
        if hit.get("chunk_id") in ids or hit.get("doc_id") in ids:
            return True
    evidence = _evidence if _evidence is not None else [evidence_form(e) for e in question.evidence]
    if evidence:
        text = evidence_form(str(hit.get("text", "")))
        return any(e and e in text for e in evidence)
    return False


def build_qrels(questions: Sequence[Question], runs: Iterable[Mapping[str, Sequence[Any]]],
                doc_match: bool = False, depth: int = DEPTH) -> dict[str, dict[str, int]]:
    """TREC qrels ``{qid: {chunk_id: 1}}`` pooled over several runs' top ``depth``.

    Evidence relevance can only be judged on passages someone retrieved, so
    the pool is the union of the runs; listed ``relevant`` ids are added as
    they are (relevant though maybe never retrieved), except doc ids that
    matched retrieved chunks (those chunks stand for them)."""
    runs = list(runs)
    qrels: dict[str, dict[str, int]] = {}
    for q in questions:
        evidence = [evidence_form(e) for e in q.evidence]
        rel: dict[str, int] = {}
        matched_ids: set[str] = set()
        for rankings in runs:
            for hit in map(_as_dict, list(rankings.get(q.id, []))[:depth]):
                if is_relevant(q, hit, doc_match, evidence):
                    rel[hit_id(hit)] = 1
                    matched_ids.update({str(hit.get("chunk_id")), str(hit.get("doc_id"))})
        for rid in q.relevant:
            if rid not in matched_ids:
                rel.setdefault(re.sub(r"\s+", "_", rid), 1)
        qrels[q.id] = rel or {NO_RELEVANT: 1}
    return qrels


def to_run(questions: Sequence[Question], rankings: Mapping[str, Sequence[Any]],
           depth: int = DEPTH) -> dict[str, dict[str, float]]:
    """TREC run ``{qid: {chunk_id: score}}``, top ``depth`` per question.

    Scores are ``1/rank``, not the retrieval scores: fused RRF scores tie
    often, and ranx (like trec_eval) re-sorts by score, so rank-derived scores
    keep the searcher's order exactly. A repeated id keeps its first rank."""
    run: dict[str, dict[str, float]] = {}
    for q in questions:
        docs: dict[str, float] = {}
        for hit in map(_as_dict, rankings.get(q.id, [])):
            if len(docs) == depth:
                break
            docs.setdefault(hit_id(hit), 1.0 / (len(docs) + 1))
        run[q.id] = docs
    return run
