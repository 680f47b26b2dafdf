"""Question sets in JSONL: ``id``, ``question``, relevance as ``evidence``
strings or ``relevant`` chunk/document ids, optional ``kind``, ``doc`` (the
document the answer must come from), ``history`` (a chat's earlier
questions, oldest first) and ``documents`` (every document an answer about
several reports must cover; ``evidence`` may then map each to its strings).

Reading never stops at a bad line: each problem is reported with its line
number and the line is skipped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

KNOWN_KINDS = {"fact", "list", "paraphrase", "english", "traditional", "number", "cleaning", "draft", "negative", "none",
               "ncp", "colloquial", "multi", "switch", "ordinal", "pronoun", "unrelated"}


@dataclass
class Question:
    id: str
    question: str
    evidence: list[str] = field(default_factory=list)
    relevant: list[str] = field(default_factory=list)
    kind: str = "other"
    doc: str | None = None
    #: a chat's earlier questions, oldest first: this one is asked as their follow-up
    history: list[str] = field(default_factory=list)
    #: a question about several reports: every document a good answer covers
    documents: list[str] = field(default_factory=list)


def read_questions(path: Path, need_relevance: bool = True) -> tuple[list[Question], list[str]]:
    """Valid questions and a list of problems (``file:line: reason``)."""
    questions: list[Question] = []
    problems: list[str] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}: cannot read ({exc})"]
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"{where}: expected a JSON object")
            continue
        qid, text = obj.get("id"), obj.get("question")
        if qid is None or str(qid).strip() == "":
            problems.append(f"{where}: missing field 'id'")
            continue
        qid = str(qid)
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: missing field 'question'")
            continue
        if qid in seen:
            problems.append(f"{where}: duplicate id {qid!r}; line skipped")
            continue
        evidence = obj.get("evidence") or []
        relevant = obj.get("relevant") or []
        documents = obj.get("documents") or []
        if isinstance(evidence, dict):  # a multi-report question: evidence per document
            documents = documents or list(evidence)
            evidence = [e for strings in evidence.values() for e in ([strings] if isinstance(strings, str) else strings)]
        if isinstance(evidence, str):
            evidence = [evidence]
        if isinstance(relevant, str):
            relevant = [relevant]
        if not all(isinstance(e, str) and e.strip() for e in evidence) or not all(isinstance(r, str) for r in relevant):
            problems.append(f"{where}: 'evidence' and 'relevant' must be lists of strings")
            continue
        if need_relevance and not evidence and not relevant:
            problems.append(f"{where}: needs 'evidence' or 'relevant'")
            continue
        history = obj.get("history") or []
        if isinstance(history, str):
            history = [history]
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            problems.append(f"{where}: 'history' must be a list of earlier questions (strings)")
            continue
        kind = str(obj.get("kind") or "other")
        if kind not in KNOWN_KINDS and kind != "other":
            problems.append(f"{where}: unknown kind {kind!r} (kept; known: {', '.join(sorted(KNOWN_KINDS))})")
        seen.add(qid)
        questions.append(Question(qid, text, list(evidence), list(relevant), kind, obj.get("doc"), list(history),
                                  [str(d) for d in documents]))
    return questions, problems


def fold(qid: str) -> int:
    """The half (0 or 1) a question falls in, by a hash of its id: the two
    folds of ``bench/answer_cv.py`` and of the reader (``qa.reader``, trained
    on fold 0 and measured on fold 1), stable across runs and machines.

    >>> fold("q0"), fold("q1")
    (1, 0)
    """
    return int(hashlib.md5(str(qid).encode()).hexdigest(), 16) % 2
