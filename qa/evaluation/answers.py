"""``qa eval FILE --answers``: how often the answer says what retrieval found.

Per kind of question, next to retrieval's R@5 on the same passages:

- answerable questions: the share whose answer is given (``found``) and
  contains an evidence string (normalised like ``score.py``);
- ``"kind": "none"`` questions (the reports cannot answer them): the share declined;
- the share of citations that are exact spans of a retrieved passage
  (``document.text[start:end]`` within one chunk, as ``score_answers.py`` checks);
- the median answer length of the given answers.

The same rules as ``../shared/eval/score_answers.py``, so a figure here is
one the held-out check reproduces.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.evaluation.retrieval import is_relevant, normalize_evidence
from qa.models import Answer
from qa.questions import Question, read_questions

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
    lengths: list[int] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        share = lambda a, b: round(a / b, 3) if b else None  # noqa: E731
        return {
            "kind": self.kind, "questions": self.questions,
            "answered_with_evidence": share(self.answered_with_evidence, self.answerable),
            "retrieval_r5": share(self.retrieved_at_5, self.answerable),
            "declined": share(self.declined, self.unanswerable),
            "exact_citations": share(self.exact_citations, self.citations),
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
    evidence = [normalize_evidence(e) for e in q.evidence]
    text = normalize_evidence(answer.get("answer", ""))
    r.answerable = 1
    r.answered_with_evidence = int(found and any(e and e in text for e in evidence))
    r.retrieved_at_5 = int(any(is_relevant(q, h, doc_match, evidence) for h in (retrieved or [])[:5]))
    if found:
        r.lengths.append(len(answer.get("answer", "")))
    return r


def score_run(questions: list[Question], run: list[dict], chunks: list[dict]) -> dict[str, KindResult]:
    """Score saved answers (``qa ask --batch --json`` lines) like
    ``score_answers.py QUESTIONS RUN --chunks CHUNKS``: ``chunks`` are the
    lines of ``qa chunks --json``."""
    by_id = {str(r["id"]): r for r in run}
    by_doc: dict[str, list[dict]] = {}
    for k in chunks:
        by_doc.setdefault(k["doc_id"], []).append(k)
    by_kind: dict[str, KindResult] = {}
    for q in questions:
        answer = by_id.get(q.id, {})
        docs = [k for c in answer.get("citations") or [] for k in by_doc.get(c.get("doc_id"), [])]
        by_kind.setdefault(q.kind, KindResult(q.kind)).add(score_answer(q, answer, docs))
    return _with_total(by_kind)


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
            hits = assistant.searcher.search(q.question, ANSWER_TOP_K)
            answer = assistant.extractive(q.question, hits)
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
    header = ["kind", "n", "answered w/ evidence", "R@5", "declined", "exact citations", "median chars"]
    rows = [header]
    for r in by_kind.values():
        f = r.figures()
        rows.append([f["kind"], str(f["questions"])] + ["-" if f[k] is None else str(f[k]) for k in (
            "answered_with_evidence", "retrieval_r5", "declined", "exact_citations", "median_answer_chars")])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows)


def cmd_answer_eval(args: argparse.Namespace) -> int:
    """``qa eval FILE --answers``."""
    from qa.answer.assistant import Assistant
    from qa.index.storage import IndexProblem
    from qa.settings import Settings

    path = Path(args.questions)
    questions, problems = read_questions(path, need_relevance=False)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    questions = [q for q in questions if q.kind == "none" or q.evidence or q.relevant]
    if not questions:
        print(f"error: no usable questions in {path}", file=sys.stderr)
        return 2
    try:
        assistant = Assistant(Settings.from_env(index=args.index, model=args.model))
    except IndexProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    by_kind, missed = evaluate_answers(assistant, questions, args.doc_match)
    if args.json:
        sys.stdout.write(json.dumps({"questions": str(path), "by_kind": [r.figures() for r in by_kind.values()],
                                     "missed": missed}, ensure_ascii=False) + "\n")
    else:
        print(render(by_kind))
        print("missed: " + (" ".join(missed) or "-"))
    return 0


def add_answers_flag(parser: argparse.ArgumentParser) -> None:
    """``--answers`` on ``qa eval``: score the composed answers instead of the rankings."""
    parser.add_argument("--answers", action="store_true",
                        help="score the answers (evidence in the answer, 'none' questions declined, exact "
                             "citations, length) next to retrieval R@5, by kind")
    search_eval = parser.get_default("func")
    parser.set_defaults(func=lambda args: cmd_answer_eval(args) if args.answers else search_eval(args))
