"""``qa eval``: a question set in, Recall@k / MRR@10 / nDCG@10 out (``--answers``: the answers scored).

``python -m qa eval QUESTIONS.jsonl --mode bm25,dense,hybrid --report out/eval``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from qa.evaluation.relevance import DEPTH
from qa.index.protocol import MODES
from qa.questions import read_questions
from qa.settings import Settings

# the harness (ranx, the runner, the report) loads only when `qa eval` runs: every `qa` command builds this parser


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """``qa eval FILE``: retrieval figures, or with ``--answers`` the answers'."""
    if args.answers:
        return _answers(args, settings)
    from qa.evaluation.report import render_text, write_report
    from qa.evaluation.runner import make_configs, reproducibility_meta, run_eval, split_list

    path = Path(args.questions)
    try:
        configs = make_configs(split_list(args.mode, str) or list(MODES), split_list(args.dense_weight, float),
                               split_list(args.candidates, int))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.top_k < 1:
        print("error: --top-k must be positive", file=sys.stderr)
        return 2
    questions, problems = read_questions(path)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not questions:
        print(f"error: no usable questions in {path}", file=sys.stderr)
        return 2
    if args.top_k < DEPTH:
        print(f"warning: --top-k {args.top_k} < {DEPTH}: metrics @{DEPTH} only see the top {args.top_k}",
              file=sys.stderr)
    from qa.answer import sentence_scorer
    from qa.search import Searcher

    searcher = Searcher(settings, sentence_scorer(settings))
    result = run_eval(searcher, questions, configs, args.top_k, args.doc_match)
    result.meta = reproducibility_meta(searcher, path, len(questions), problems, args.top_k, args.doc_match)
    for cr in result.configs:
        for w in cr.warnings:
            print(f"warning: {cr.config.name}: {w}", file=sys.stderr)

    if args.report:
        written = write_report(result, Path(args.report))
        if not args.json:
            print(f"report: {', '.join(str(p) for p in written)}", file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    else:
        print(render_text(result))
    return 0


def _answers(args: argparse.Namespace, settings: Settings) -> int:
    """``qa eval FILE --answers``: what ``qa ask`` answers, scored like ``score_answers.py``."""
    from qa.answer import Assistant
    from qa.evaluation.answers import evaluate_answers, render

    path = Path(args.questions)
    questions, problems = read_questions(path, need_relevance=False)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    questions = [q for q in questions if q.kind == "none" or q.evidence or q.relevant]
    if not questions:
        print(f"error: no usable questions in {path}", file=sys.stderr)
        return 2
    by_kind, missed = evaluate_answers(Assistant(settings), questions, args.doc_match)
    if args.json:
        sys.stdout.write(json.dumps({"questions": str(path), "by_kind": [r.figures() for r in by_kind.values()],
                                     "missed": missed}, ensure_ascii=False) + "\n")
    else:
        print(render(by_kind))
        print("missed: " + (" ".join(missed) or "-"))
    return 0


def add_eval_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``eval`` on the ``qa`` subparsers (``qa.cli.build_parser``)."""
    p = subparsers.add_parser(
        "eval", help="score retrieval (Recall@k, MRR@10, nDCG@10) or answers on a question set",
        description="Search every question of a JSONL question set under each configuration and report "
                    "Recall@1/3/5/10 (hit rate), MRR@10 and nDCG@10 overall and per kind. A configuration "
                    "is mode x dense weight x candidates. With --answers, score what `qa ask` answers.",
    )
    p.add_argument("questions", help="JSONL: id, question, evidence or relevant, optional kind and history")
    p.add_argument("--mode", default=",".join(MODES), help="comma-separated modes (default: bm25,dense,hybrid)")
    p.add_argument("--top-k", type=int, default=DEPTH, help=f"results per question (default {DEPTH})")
    p.add_argument("--dense-weight", help="comma-separated hybrid dense weights, e.g. 0.3,0.5 (default: settings)")
    p.add_argument("--candidates", help="comma-separated candidate depths, e.g. 30,60 "
                                        "(values below 3 x top-k have no effect)")
    p.add_argument("--doc-match", action="store_true", help="a passage must also come from the question's 'doc'")
    p.add_argument("--report", help="write report.json, report.md, chart.png, qrels.txt and runs here")
    p.add_argument("--answers", action="store_true",
                   help="score the answers (evidence in the answer, 'none' questions declined, exact "
                        "citations, length) next to retrieval R@5, by kind")
    p.set_defaults(func=cmd_eval)
    return p
