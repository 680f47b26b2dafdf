"""Answer-level figures on the development sets, in one run, scored by the
official ``score_answers.py`` exactly as the held-out checks score them.

Each set is NAME:INDEX:CORPUS:QUESTIONS[+QUESTIONS...] (several question files
are answered together, e.g. answerable + ``kind: none``). For every set it runs
``qa ask --batch --json`` and ``qa chunks --json`` (for the exact-span check),
then the scorer.

    python bench/bench_answers.py \\
        --set seeds-dev:index:corpus:../shared/eval/dev_questions.jsonl+../shared/eval/dev_unanswerable.jsonl \\
        --set own:index:corpus:tests/data/own_questions.jsonl+tests/data/own_unanswerable.jsonl \\
        --set ncp-dev:/tmp/ncp:../shared/eval/ncp/corpus:../shared/eval/ncp/dev_questions.jsonl
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import machine, write_results  # noqa: E402

DEFAULT_SCORER = ROOT.parent / "shared" / "eval" / "score_answers.py"


def qa(args: list[str], out: Path) -> None:
    with out.open("w", encoding="utf-8") as handle:
        subprocess.run([sys.executable, "-m", "qa", *args], stdout=handle, check=True, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", required=True, help="NAME:INDEX:CORPUS:QUESTIONS[+QUESTIONS...]")
    parser.add_argument("--scorer", type=Path, default=DEFAULT_SCORER)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--runs", type=Path, default=Path("/tmp/policy-qa-answer-runs"))
    parser.add_argument("--name", default="answers")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "sets": {}}
    rows = ["| set | answered with evidence | declined (none) | exact citations | median chars |",
            "|---|---|---|---|---|"]
    for spec in args.set:
        name, index, corpus, files = spec.split(":")
        questions = args.runs / f"{name}-questions.jsonl"
        questions.write_text("".join((ROOT / f).read_text(encoding="utf-8") for f in files.split("+")), encoding="utf-8")
        run, chunks = args.runs / f"{name}-answers.jsonl", args.runs / f"{name}-chunks.jsonl"
        qa(["ask", "--batch", str(questions), "--index", index, "--json"], run)
        qa(["chunks", "--corpus", corpus, "--json"], chunks)
        output = subprocess.run([sys.executable, str(args.scorer), str(questions), str(run), "--chunks", str(chunks)],
                                capture_output=True, text=True, cwd=ROOT).stdout
        acc, n_ans, dec, n_none = re.search(
            r"answered with evidence ([\d.]+) \(n=(\d+)\), declined when not in the reports ([\d.]+) \(n=(\d+)\)",
            output).groups()
        exact = re.search(r"citations that are exact spans: (\d+/\d+)", output).group(1)
        median = re.search(r"median answer length (\d+)", output).group(1)
        results["sets"][name] = {"index": index, "questions": files, "scorer_output": output}
        rows.append(f"| {name} (n={n_ans}+{n_none}) | {acc} | {dec if int(n_none) else '–'} | {exact} | {median} |")
    write_results(args.out, args.name, results, "\n".join(rows))


if __name__ == "__main__":
    main()
