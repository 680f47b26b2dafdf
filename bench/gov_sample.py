#!/usr/bin/env python
"""The government-report questions in the repository (issue 27).

``tests/data/gov_questions.jsonl`` asks 40 questions of 36 of the 72
government work reports (``../shared/corpus-extra/government_work_reports.jsonl``,
3.2 MB; its index takes five minutes and more to build on two cores). The
8-report sample of ``tests/data/gov_reports`` was chosen for the cleaning
tests and answers only 6 of the questions. This script writes the ``--reports``
shortest reports the questions are asked of (ties by year; lines byte for
byte, in the file's order) and the questions asked of them, so that
``make test`` builds them in its temporary folder and gates retrieval, answers
and drafting on them (bench/figures.py measures the same).

    python bench/gov_sample.py --source ../shared/corpus-extra/government_work_reports.jsonl --reports 12

Rerunning the command rewrites the same files (tests/data/README.md names it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
QUESTIONS = DATA / "gov_questions.jsonl"
REPORTS = DATA / "gov_asked" / "government_work_reports.jsonl"
ASKED = DATA / "gov_asked_questions.jsonl"


def choose(source: Path, reports: int) -> tuple[list[str], list[str]]:
    """(report lines in the source's order, the question lines asked of them)."""
    questions = [line for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    asked = {json.loads(line)["doc_title"] for line in questions}
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [(json.loads(line), i) for i, line in enumerate(lines)]
    shortest = sorted((r for r in rows if r[0]["title"] in asked),
                      key=lambda r: (len(r[0]["content"]), r[0]["year"] or "", r[1]))[:reports]
    picked = sorted(i for _, i in shortest)
    titles = {rows[i][0]["title"] for i in picked}
    return [lines[i] for i in picked], [line for line in questions if json.loads(line)["doc_title"] in titles]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path,
                        default=ROOT.parent / "shared" / "corpus-extra" / "government_work_reports.jsonl")
    parser.add_argument("--reports", type=int, default=12)
    parser.add_argument("--out", type=Path, default=REPORTS, help="the reports (a corpus folder's JSONL)")
    parser.add_argument("--questions-out", type=Path, default=ASKED)
    args = parser.parse_args(argv)
    reports, questions = choose(args.source, args.reports)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(line + "\n" for line in reports), encoding="utf-8")
    args.questions_out.write_text("".join(line + "\n" for line in questions), encoding="utf-8")
    chars = sum(len(json.loads(line)["content"]) for line in reports)
    years = ", ".join(str(json.loads(line)["year"]) for line in reports)
    print(f"wrote {args.out}: {len(reports)} reports ({years}; {chars} characters); "
          f"{args.questions_out}: {len(questions)} questions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
