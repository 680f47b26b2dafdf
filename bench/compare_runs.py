"""Before/after retrieval of one change, scored by the official scorer, with the questions that moved.

    python bench/compare_runs.py --name NAME \\
        --set seeds-dev:QUESTIONS:BEFORE_RUN:AFTER_RUN[:doc-match] [--set …]

Each run is ``qa search --batch QUESTIONS --top-k 10 --json`` against the index built by
the code before and after the change (commands in the results file); the scorer is
``../shared/eval/score.py``, the same as the held-out checks. Written to bench/results/NAME.{json,md}.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import machine, md_table, write_results  # noqa: E402

SCORER = ROOT.parent / "shared" / "eval" / "score.py"


def figures(questions: str, run: str, doc_match: bool) -> tuple[float, float, str]:
    args = [sys.executable, str(SCORER), questions, run] + (["--doc-match"] if doc_match else [])
    line = subprocess.run(args, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    r5, mrr = re.search(r"R@5=([\d.]+) MRR@10=([\d.]+)", line).groups()
    return float(r5), float(mrr), line


def first_hits(questions: str, run: str, doc_match: bool) -> dict[str, int | None]:
    """Rank of each question's first relevant result, as the scorer counts it."""
    spec = importlib.util.spec_from_file_location("score", SCORER)
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    qs = {json.loads(line)["id"]: json.loads(line) for line in open(questions, encoding="utf-8") if line.strip()}
    out = {}
    for line in open(run, encoding="utf-8"):
        row = json.loads(line)
        q = qs[row["id"]]
        evidence = [score.norm(e) for e in q["evidence"]]
        out[row["id"]] = next((i + 1 for i, r in enumerate(row["results"][:10])
                               if any(e in score.norm(r["text"]) for e in evidence)
                               and (not doc_match or q.get("doc", "") in " ".join([str(r.get("source", ""))]
                                                                                     + [str(a) for a in r.get("also_in") or []]))),
                              None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", required=True, help="NAME:QUESTIONS:BEFORE:AFTER[:doc-match]")
    parser.add_argument("--name", required=True)
    parser.add_argument("--note", default="")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    rows, sets = [], {}
    for spec in args.set:
        name, questions, before, after, *flags = spec.split(":")
        doc_match = "doc-match" in flags
        b, a = figures(questions, before, doc_match), figures(questions, after, doc_match)
        hb, ha = first_hits(questions, before, doc_match), first_hits(questions, after, doc_match)
        moved = {q: [hb[q], ha.get(q)] for q in hb if hb[q] != ha.get(q)}
        sets[name] = {"questions": questions, "doc_match": doc_match, "before": b[2], "after": a[2], "moved": moved}
        rows.append([name, f"{b[0]:.3f}", f"{a[0]:.3f}", f"{b[1]:.3f}", f"{a[1]:.3f}",
                     ", ".join(f"{q[:8]} {r[0]}→{r[1]}" for q, r in moved.items()) or "–"])
    table = md_table(["set", "R@5 before", "R@5 after", "MRR@10 before", "MRR@10 after",
                      "questions whose first hit moved (rank before→after, None: not in the top 10)"], rows)
    write_results(args.out, args.name, {"machine": machine(), "note": args.note, "sets": sets}, table)


if __name__ == "__main__":
    main()
