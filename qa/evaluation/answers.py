"""``qa eval FILE --answers``: how often the answer says what retrieval found.

Per kind of question, next to retrieval's R@5 on the same passages:

- answerable questions: the share whose answer is given (``found``) and
  contains an evidence string (normalised like ``score.py``);
- ``"kind": "none"`` questions (the reports cannot answer them): the share declined;
- questions about several reports (``documents``): the share of the
  documents they need that the answer cites (document recall);
- the share of citations that are exact spans of a retrieved passage
  (``document.text[start:end]`` within one chunk, as ``score_answers.py`` checks);
- the median answer length of the given answers.

The same rules as ``../shared/eval/score_answers.py``, so a figure here is
one the held-out check reproduces.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from qa.evaluation.relevance import is_relevant
from qa.text.fold import evidence_form
from qa.models import Answer
from qa.questions import Question

ANSWER_TOP_K = 6  # passages an answer is composed from (as ``qa ask``)


@dataclass
class KindResult:
    kind: str
    questions: int = 0
    answerable: int = 0
    answered_with_evidence: int = 0
    retrieved_at_5: int = 0
    unanswerable: int = 0
    declined: int = 0
    citations: int = 0
    exact_citations: int = 0
    #: questions about several reports: the documents they need, and those the answer cites
    documents: int = 0
    documents_cited: int = 0
    lengths: list[int] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        share = lambda a, b: round(a / b, 3) if b else None  # noqa: E731
        return {
            "kind": self.kind, "questions": self.questions,
            "answered_with_evidence": share(self.answered_with_evidence, self.answerable),
            "retrieval_r5": share(self.retrieved_at_5, self.answerable),
            "declined": share(self.declined, self.unanswerable),
            "exact_citations": share(self.exact_citations, self.citations),
            "document_recall": share(self.documents_cited, self.documents),
            "median_answer_chars": int(statistics.median(self.lengths)) if self.lengths else None,
        }

    def add(self, other: "KindResult") -> None:
        for name, value in asdict(other).items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)
        self.lengths += other.lengths


def is_exact(c: dict, chunks: list[dict]) -> bool:
    """A citation lies within one chunk's span of its document, with that text."""
    return any(c["doc_id"] == k["doc_id"] and k["start"] <= c["start"] and c["end"] <= k["end"]
               and k["text"][c["start"] - k["start"]:c["end"] - k["start"]] == c["text"] for k in chunks)


def score_answer(q: Question, answer: dict, chunks: list[dict], retrieved: list[dict] | None = None,
                 doc_match: bool = False) -> KindResult:
    """One answer (``qa ask --json`` shape) against its question; ``chunks``
    are the passages its citations must lie in, ``retrieved`` the top
    passages for R@5."""
    citations = answer.get("citations") or []
    found = bool(answer.get("found"))
    r = KindResult(q.kind, questions=1, citations=len(citations),
                   exact_citations=sum(is_exact(c, chunks) for c in citations))
    if q.kind == "none":
        r.unanswerable, r.declined = 1, int(not found)
        return r
    if q.documents:
        cited = {c.get("doc_id") for c in citations} if found else set()
        r.documents, r.documents_cited = len(set(q.documents)), len(set(q.documents) & cited)
    evidence = [evidence_form(e) for e in q.evidence]
    text = evidence_form(answer.get("answer", ""))
    r.answerable = 1
    r.answered_with_evidence = int(found and any(e and e in text for e in evidence))
    r.retrieved_at_5 = int(any(is_relevant(q, h, doc_match, evidence) for h in (retrieved or [])[:5]))
    if found:
        r.lengths.append(len(answer.get("answer", "")))
    return r


def _with_total(by_kind: dict[str, KindResult]) -> dict[str, KindResult]:
    total = KindResult("all")
    for r in by_kind.values():
        total.add(r)
    return dict(sorted(by_kind.items())) | {"all": total}


def evaluate_answers(assistant, questions: list[Question], doc_match: bool = False,
                     progress=None) -> tuple[dict[str, KindResult], list[str]]:
    """Per-kind results (and ``all``), plus the ids of the questions missed."""
    from qa.search.query import QueryError

    by_kind: dict[str, KindResult] = {}
    missed: list[str] = []
    for i, q in enumerate(questions):
        try:
            answer = assistant.ask(q.question, top_k=ANSWER_TOP_K, history=q.history or None)
        except QueryError:
            answer = Answer(q.question, "", [], "extractive", False, [])
        passages = [h.to_dict() for h in answer.hits]
        r = score_answer(q, answer.to_dict(), passages, passages, doc_match)
        if not (r.answered_with_evidence or r.declined):
            missed.append(q.id)
        by_kind.setdefault(q.kind, KindResult(q.kind)).add(r)
        if progress is not None:
            progress(i + 1, len(questions))
    return _with_total(by_kind), missed


def render(by_kind: dict[str, KindResult]) -> str:
    header = ["kind", "n", "answered w/ evidence", "R@5", "declined", "exact citations", "documents", "median chars"]
    rows = [header]
    for r in by_kind.values():
        f = r.figures()
        rows.append([f["kind"], str(f["questions"])] + ["-" if f[k] is None else str(f[k]) for k in (
            "answered_with_evidence", "retrieval_r5", "declined", "exact_citations", "document_recall",
            "median_answer_chars")])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows)
