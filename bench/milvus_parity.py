#!/usr/bin/env python
"""Retrieval quality of the local and the Milvus backend side by side, in one run.

Both indexes must already hold the same corpus: ``--index DIR`` (local) and
``--milvus-uri URI --milvus-collection ALIAS`` (a served endpoint, e.g.
``milvus-lite server --host 127.0.0.1``). For every question set, backend and
rerank setting (``QA_RERANK``), it runs ``python -m qa search --batch SET
--top-k 10 --json`` and scores the run with ``score.py``; the raw runs and
score outputs go under ``--out``.

    .venv/bin/python bench/milvus_parity.py --index index --milvus-uri http://127.0.0.1:19530 \\
        --sets /work/shared/eval/dev_questions.jsonl tests/data/own_questions.jsonl \\
        --score /work/shared/eval/score.py --out bench/results/milvus-parity

With ``--score-answers score_answers.py`` it also runs ``python -m qa ask
--batch SET --json`` (default settings) on both backends for every set and
every ``--answer-sets`` file (answer-only sets, e.g. dev_unanswerable.jsonl)
and scores the answers: answered with evidence, declined when not in the reports.

A set with a corpus of its own (the NCP dev set of issue 9, scored with
``--doc-match``) is a second run with its index, collection and ``--out``:

    .venv/bin/python bench/milvus_parity.py --index /tmp/ncp --milvus-uri http://127.0.0.1:19530 \\
        --milvus-collection ncp --sets /work/shared/eval/ncp/dev_questions.jsonl --doc-match \\
        --score /work/shared/eval/score.py --out bench/results/milvus-parity/ncp --gzip
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import machine, md_table, write_results  # noqa: E402


def _run(cmd: list[str], env: dict, out: Path) -> str:
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):  # score.py exits 1 when a minimum fails; none is set here
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    out.write_text(done.stdout, encoding="utf-8")
    return done.stdout


def _side_by_side(figures: list[dict], keys: tuple[str, ...], values: tuple[str, ...]) -> list[list]:
    """One table row per ``keys`` with each value of both backends next to
    each other (local first), ``-`` where a value does not apply."""
    rows: dict[tuple, dict] = {}
    for f in figures:
        rows.setdefault(tuple(f[k] for k in keys), {})[f["backend"]] = f
    show = {True: "on", False: "off"}
    return [[show.get(k, k) if isinstance(k, bool) else k for k in key]
            + ["-" if by[b][v] is None else by[b][v] for v in values for b in ("local", "milvus")]
            for key, by in rows.items()]


def _gzip(path: Path) -> None:
    """Replace a scored raw run by its .gz (NCP runs are ~5 MB each)."""
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    path.unlink()


def _answers(args: argparse.Namespace, backends: dict[str, list[str]]) -> list[dict]:
    """Answer-level figures of both backends with the default settings, from
    score_answers.py's last line (answerable and unanswerable counts)."""
    figures = []
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("QA_RERANK", None)
    for qset in [*args.sets, *args.answer_sets]:
        for backend, flags in backends.items():
            name = f"{qset.stem}-{backend}-answers"
            run = args.out / f"{name}.jsonl"
            _run([sys.executable, "-m", "qa", "ask", "--batch", str(qset), "--json", *flags], env, run)
            scored = _run([sys.executable, str(args.score_answers), str(qset), str(run)], env,
                          args.out / f"{name}.score.txt")
            if args.gzip:
                _gzip(run)
            found = re.search(r"answered with evidence ([\d.]+) \(n=(\d+)\), declined when not in the reports "
                              r"([\d.]+) \(n=(\d+)\)", scored)
            figures.append({"set": qset.name, "backend": backend,
                            "answered": float(found.group(1)) if int(found.group(2)) else None,
                            "declined": float(found.group(3)) if int(found.group(4)) else None,
                            "n_answerable": int(found.group(2)), "n_none": int(found.group(4))})
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="the local index directory")
    parser.add_argument("--milvus-uri", required=True)
    parser.add_argument("--milvus-collection", default="policy_qa")
    parser.add_argument("--sets", type=Path, nargs="+", required=True, help="question sets (JSONL)")
    parser.add_argument("--score", type=Path, required=True, help="score.py")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "milvus-parity")
    parser.add_argument("--doc-match", action="store_true",
                        help="score with score.py --doc-match (a hit counts only from the gold document)")
    parser.add_argument("--score-answers", type=Path, help="score_answers.py: also compare answers (qa ask --batch)")
    parser.add_argument("--answer-sets", type=Path, nargs="*", default=[],
                        help="sets only answered, not searched (e.g. dev_unanswerable.jsonl)")
    parser.add_argument("--gzip", action="store_true", help="keep the raw runs as .jsonl.gz once scored")
    parser.add_argument("--no-run-facts", action="store_true",
                        help="do not write summary.run.json (commit, date, load: what differs between runs)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    backends = {
        "local": ["--index", str(args.index)],
        "milvus": ["--backend", "milvus", "--milvus-uri", args.milvus_uri, "--milvus-collection", args.milvus_collection],
    }
    figures = []
    facts = machine()  # load average at the start, before this run's own load
    started = time.time()
    for qset in args.sets:
        for rerank in ("1", "0"):
            for backend, flags in backends.items():
                env = {**os.environ, "QA_RERANK": rerank, "HF_HUB_OFFLINE": "1"}
                name = f"{qset.stem}-{backend}-rerank{rerank}"
                run = args.out / f"{name}.jsonl"
                _run([sys.executable, "-m", "qa", "search", "--batch", str(qset), "--top-k", "10", "--json", *flags],
                     env, run)
                scored = _run([sys.executable, str(args.score), str(qset), str(run), *(["--doc-match"] * args.doc_match)],
                              env, args.out / f"{name}.score.txt")
                if args.gzip:
                    _gzip(run)
                found = re.search(r"R@5=([\d.]+) MRR@10=([\d.]+)", scored)
                r5, mrr = float(found.group(1)), float(found.group(2))
                figures.append({"set": qset.name, "backend": backend, "rerank": rerank == "1", "R@5": r5, "MRR@10": mrr})
    table = md_table(["set", "sentence rerank", "local R@5", "Milvus R@5", "local MRR@10", "Milvus MRR@10"],
                     _side_by_side(figures, ("set", "rerank"), ("R@5", "MRR@10")))
    answers = _answers(args, backends) if args.score_answers else []
    if answers:
        table += "\n\n" + md_table(["set", "local answered with evidence", "Milvus answered with evidence",
                                    "local declined when not in the reports", "Milvus declined when not in the reports"],
                                   _side_by_side(answers, ("set",), ("answered", "declined")))
    # summary.json holds what the code and data decide (rewritten byte for byte by the same code);
    # the run's facts go beside it
    write_results(args.out, "summary", {"figures": figures, "answers": answers, "doc_match": args.doc_match,
                                        "command": "bench/milvus_parity.py (make figures: bench/figures.py)"}, table)
    if not args.no_run_facts:
        (args.out / "summary.run.json").write_text(json.dumps(
            {"machine": facts, "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M"),
             "seconds": round(time.time() - started, 1), "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
             "command": " ".join(["bench/milvus_parity.py", *(argv or sys.argv[1:])])}, ensure_ascii=False, indent=1)
            + "\n", encoding="utf-8")
    print(table)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
