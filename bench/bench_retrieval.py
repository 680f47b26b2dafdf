"""Retrieval quality on the three development sets, next to the naive
baseline, in one run, scored by the official scorer (``score.py``).

Each set is (name, built index, its corpus, questions, doc-match?). For every
set it writes the runs of ``qa search --batch --json`` (bm25, dense, hybrid) and,
for the sets that name a corpus of raw files, of ``bench/naive_baseline.py``;
then it calls the scorer on each run, as the held-out checks do.

    python bench/bench_retrieval.py \\
        --set seeds-dev:index:corpus:../shared/eval/dev_questions.jsonl \\
        --set own:index:corpus:tests/data/own_questions.jsonl \\
        --set ncp-dev:/tmp/ncp:../shared/eval/ncp/corpus:../shared/eval/ncp/dev_questions.jsonl:doc-match
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import machine, write_results  # noqa: E402

MODES = ("bm25", "dense", "hybrid")
DEFAULT_SCORER = ROOT.parent / "shared" / "eval" / "score.py"


def search_runs(index: Path, questions: Path, out: Path, name: str) -> dict[str, Path]:
    """The three modes' runs through one CLI process per mode (cold, like a user)."""
    runs = {}
    for mode in MODES:
        run = out / f"run-{name}-{mode}.jsonl"
        with run.open("w", encoding="utf-8") as handle:
            subprocess.run([sys.executable, "-m", "qa", "search", "--batch", str(questions), "--index", str(index),
                            "--mode", mode, "--top-k", "10", "--json"], stdout=handle, check=True, cwd=ROOT)
        runs[mode] = run
    return runs


def score(scorer: Path, questions: Path, run: Path, doc_match: bool) -> dict[str, float]:
    args = [sys.executable, str(scorer), str(questions), str(run)] + (["--doc-match"] if doc_match else [])
    last = subprocess.run(args, capture_output=True, text=True, cwd=ROOT).stdout.strip().splitlines()[-1]
    r5, mrr = re.search(r"R@5=([\d.]+) MRR@10=([\d.]+)", last).groups()
    return {"R@5": float(r5), "MRR@10": float(mrr), "scorer_line": last}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", required=True,
                        help="NAME:INDEX:CORPUS:QUESTIONS[:doc-match]")
    parser.add_argument("--scorer", type=Path, default=DEFAULT_SCORER)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--runs", type=Path, default=Path("/tmp/policy-qa-retrieval-runs"))
    parser.add_argument("--name", default="retrieval", help="results file name under --out")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "sets": {}}
    rows = ["| set | pipeline | R@5 | MRR@10 |", "|---|---|---|---|"]
    for spec in args.set:
        name, index, corpus, questions, *flags = spec.split(":")
        doc_match = "doc-match" in flags
        questions = Path(questions)
        runs = search_runs(Path(index), questions, args.runs, name)
        naive = args.runs / f"run-{name}-naive.jsonl"
        with naive.open("w", encoding="utf-8") as handle:
            subprocess.run([sys.executable, str(ROOT / "bench" / "naive_baseline.py"), corpus, str(questions)],
                           stdout=handle, check=True, cwd=ROOT)
        runs["naive 500/100 BM25"] = naive
        scores = {label: score(args.scorer, questions, run, doc_match) for label, run in runs.items()}
        results["sets"][name] = {"index": index, "corpus": corpus, "questions": str(questions),
                                 "doc_match": doc_match, "scores": scores}
        for label, s in scores.items():
            rows.append(f"| {name} | {label} | {s['R@5']:.3f} | {s['MRR@10']:.3f} |")
    write_results(args.out, args.name, results, "\n".join(rows))


if __name__ == "__main__":
    main()
