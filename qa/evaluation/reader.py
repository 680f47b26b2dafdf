"""Held-out figures of a trained reader (``qa.reader``, issue 24).

- DRCD test (a fixed sample of 1,000 questions): sentence P@1, the
  top-scored sentence of the question's paragraph overlaps the answer span;
  also on the questions whose article is not in DRCD dev, the training file
  (DRCD's dev and test share two thirds of their article titles, though no
  paragraph);
- policy sets, fold 1 (both folds of the sets never trained on:
  colloquial2), with the real pipeline's candidates: the sentences of the
  passages ``qa ask`` reads (``Searcher.retrieve(q, 6)``). P@1 = the
  top-scored sentence holds an evidence string (``holds_evidence``), over
  the questions whose candidates hold one at all; next to it the same figure
  for today's logistic sentence model (``Assistant.judge``'s first sentence);
- answerability: how well the largest reader probability over a question's
  candidates separates answerable questions (candidates hold the evidence)
  from unanswerable ones: ROC AUC and the best balanced accuracy (with its
  threshold); next to it the same for today's ``found`` probability.

Today's model was fitted on every set but colloquial2, fold 1 included, so
its figures are in sample there and the reader's are not (docs/answers.md says
what a cross-fitted comparison gave).

    python -m qa.evaluation.reader READER_DIR --ncp-index DIR [--seeds-index DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.evaluation.metrics import auc
from qa.questions import fold
from qa.reader import data as D
from qa.reader.inputs import chunk_pairs
from qa.reader.model import Reader
from qa.settings import Settings
from qa.text.fold import holds_evidence

logger = logging.getLogger(__name__)

#: passages whose sentences are the candidates: what ``qa ask`` reads
TOP_K = 6
SEED_ANSWERABLE = ("dev", "own", "colloquial")
SEED_UNANSWERABLE = ("dev_unanswerable", "own_unanswerable", "colloquial_unanswerable", "ncp_cross100")


def best_balanced(pos: list[float], neg: list[float]) -> tuple[float | None, float | None]:
    """The best balanced accuracy of ``score >= t`` and its threshold ``t``.

    >>> best_balanced([0.9, 0.6, 0.3], [0.4, 0.1])
    (0.8333333333333333, 0.6)
    """
    if not pos or not neg:
        return None, None
    best: tuple[float, float | None] = (0.0, None)
    for t in sorted(set(pos) | set(neg)):
        ba = 0.5 * (np.mean(np.asarray(pos) >= t) + np.mean(np.asarray(neg) < t))
        if ba > best[0]:
            best = (float(ba), float(t))
    return best


def drcd(reader: Reader, inputs: D.Inputs, path: Path, trained_on: Path | None, limit: int | None) -> dict:
    """Sentence P@1 on the held-out RC file (``limit`` questions), overall
    and on the questions whose article title ``trained_on`` does not hold."""
    groups = D.paragraph_groups(path, inputs, limit=limit)
    seen = {a["title"] for a in D.load_rc(trained_on, D.Inputs(training=False))} if trained_on else set()
    hits, unseen = [], []
    for g in groups:
        top = g.cands[int(np.argmax(reader.score(g.question, [c.pair for c in g.cands])))].label
        hits.append(top)
        if g.title not in seen:
            unseen.append(top)
    return {"questions": len(groups), "p_at_1": float(np.mean(hits)),
            "sentences_per_question": sum(len(g.cands) for g in groups) / len(groups),
            "random_p_at_1": float(np.mean([g.positives / len(g.cands) for g in groups])),
            "unseen_articles": {"questions": len(unseen), "p_at_1": float(np.mean(unseen)) if unseen else None}}


def pipeline_rows(sets: tuple[D.PolicySet, ...], indexes: dict[str, Path], inputs: D.Inputs) -> list[dict]:
    """Each held-out question with its pipeline candidates (``PairText``),
    their evidence labels and today's answer layer's choice and ``found``."""
    from qa.answer import Assistant

    assistants: dict[Path, Assistant] = {}
    rows = []
    for s in sets:
        index = indexes[s.corpus]
        if index not in assistants:
            assistants[index] = Assistant(replace(Settings.from_env(), index=index))
        assistant = assistants[index]
        folds = (1,) if s.trained else (0, 1)
        for q in D.read_set(s.path, inputs):
            if fold(q.id) not in folds:
                continue
            answerable = not s.unanswerable and q.kind != "none"
            retrieval = assistant.searcher.retrieve(q.question, TOP_K)
            pairs = [pair for hit in retrieval.hits for pair in chunk_pairs(q.question, hit.chunk)]
            cands, _, p_found = assistant.judge(q.question, retrieval.hits, retrieval.sentences)
            top = cands.spans[0].text if cands.spans else ""
            rows.append({"set": s.name, "id": q.id, "question": q.question, "answerable": answerable, "pairs": pairs,
                         "labels": [int(answerable and holds_evidence(p.sentence, q.evidence)) for p in pairs],
                         "baseline_top_holds": int(answerable and bool(top) and holds_evidence(top, q.evidence)),
                         "baseline_found": p_found})
    return rows


def _separation(rows: list[dict], answerable_sets: tuple[str, ...], unanswerable_sets: tuple[str, ...],
                key: str) -> dict:
    pos = [r[key] for r in rows if r["set"] in answerable_sets and r["answerable"] and any(r["labels"])]
    neg = [r[key] for r in rows if r["set"] in unanswerable_sets and not r["answerable"]]
    ba, t = best_balanced(pos, neg)
    return {"answerable": len(pos), "unanswerable": len(neg),
            "auc": auc(pos + neg, [True] * len(pos) + [False] * len(neg)),
            "best_balanced_accuracy": ba, "threshold": t}


def _p_at_1(tally: dict) -> dict:
    if tally["coverable"]:
        tally["reader_p_at_1"] = tally["reader_hits"] / tally["coverable"]
        tally["baseline_p_at_1"] = tally["baseline_hits"] / tally["coverable"]
    return tally


def pipeline(reader: Reader, rows: list[dict]) -> dict:
    """P@1 per set (reader and today's model) and answerability."""
    per_set: dict[str, dict] = {}
    for row in rows:
        probs = reader.score(row["question"], row["pairs"]) if row["pairs"] else np.zeros(0)
        row["max_prob"] = float(probs.max()) if len(probs) else 0.0
        top_holds = int(row["labels"][int(np.argmax(probs))]) if len(probs) else 0
        s = per_set.setdefault(row["set"], {"questions": 0, "answerable": 0, "coverable": 0, "reader_hits": 0,
                                            "baseline_hits": 0, "candidates": 0})
        s["questions"] += 1
        s["candidates"] += len(row["pairs"])
        if row["answerable"]:
            s["answerable"] += 1
            if any(row["labels"]):
                s["coverable"] += 1
                s["reader_hits"] += top_holds
                s["baseline_hits"] += row["baseline_top_holds"]
    for s in per_set.values():
        s["candidates_per_question"] = round(s.pop("candidates") / max(s["questions"], 1), 1)
        _p_at_1(s)
    seeds = [per_set[n] for n in SEED_ANSWERABLE if n in per_set]
    combined = _p_at_1({k: sum(s[k] for s in seeds) for k in ("coverable", "reader_hits", "baseline_hits")})
    answerability = {label: {"reader": _separation(rows, pos, neg, "max_prob"),
                             "baseline_found": _separation(rows, pos, neg, "baseline_found")}
                     for label, pos, neg in (
                         ("seeds_fold1", SEED_ANSWERABLE, SEED_UNANSWERABLE),
                         ("seeds_fold1+ncp_fold1", SEED_ANSWERABLE + ("ncp",), SEED_UNANSWERABLE),
                         ("colloquial2", ("colloquial2",), ("colloquial2_unanswerable",)))}
    return {"sets": per_set, "seeds_fold1": combined, "answerability": answerability}


def headline(figures: dict) -> dict[str, Any]:
    """The few numbers compared across runs (the keys of the committed run's ``held_out.headline``)."""

    def get(*keys: str) -> Any:
        value: Any = figures
        for k in keys:
            value = value.get(k) if isinstance(value, dict) else None
        return round(value, 3) if isinstance(value, float) else value

    return {"drcd_p1": get("drcd_test", "p_at_1"), "drcd_unseen_p1": get("drcd_test", "unseen_articles", "p_at_1"),
            "ncp_p1": get("pipeline", "sets", "ncp", "reader_p_at_1"),
            "ncp_base_p1": get("pipeline", "sets", "ncp", "baseline_p_at_1"),
            "seeds_p1": get("pipeline", "seeds_fold1", "reader_p_at_1"),
            "seeds_base_p1": get("pipeline", "seeds_fold1", "baseline_p_at_1"),
            "coll2_p1": get("pipeline", "sets", "colloquial2", "reader_p_at_1"),
            "coll2_base_p1": get("pipeline", "sets", "colloquial2", "baseline_p_at_1"),
            "auc_seeds": get("pipeline", "answerability", "seeds_fold1", "reader", "auc"),
            "auc_seeds_base": get("pipeline", "answerability", "seeds_fold1", "baseline_found", "auc"),
            "auc_all": get("pipeline", "answerability", "seeds_fold1+ncp_fold1", "reader", "auc"),
            "auc_coll2": get("pipeline", "answerability", "colloquial2", "reader", "auc")}


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m qa.evaluation.reader", description=__doc__.split("\n\n")[0])
    parser.add_argument("reader", type=Path, help="a trained reader's folder (python -m qa.reader.train --out)")
    parser.add_argument("--ncp-index", type=Path, required=True,
                        help="an index of the NCP corpus (qa build --corpus ../shared/eval/ncp/corpus --index DIR)")
    parser.add_argument("--seeds-index", type=Path, default=settings.index,
                        help="an index of the seed reports (default: the index setting, QA_INDEX)")
    parser.add_argument("--shared", type=Path, default=D.SHARED_EVAL,
                        help="the team's evaluation data: rc/DRCD_test.json, rc/DRCD_dev.json, ncp/dev_questions.jsonl")
    parser.add_argument("--drcd-limit", type=int, default=1000, help="DRCD test questions (a fixed sample; 0: all)")
    parser.add_argument("--threads", type=int, default=2, help="torch compute threads")
    parser.add_argument("--json", type=Path, help="write every figure here (the headline is printed)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    reader = Reader.load(args.reader)
    inputs = D.Inputs(training=False)
    figures: dict[str, Any] = {"runtime": "torch", "precision": "f32"}
    figures["drcd_test"] = drcd(reader, inputs, args.shared / "rc" / D.RC_HELD_OUT, args.shared / "rc" / "DRCD_dev.json",
                                args.drcd_limit or None)
    logger.info("DRCD test: P@1 %.3f (%d questions)", figures["drcd_test"]["p_at_1"], figures["drcd_test"]["questions"])
    sets = D.policy_sets(args.shared / "ncp" / "dev_questions.jsonl")
    rows = pipeline_rows(sets, {"seeds": args.seeds_index, "ncp": args.ncp_index}, inputs)
    figures["pipeline"] = pipeline(reader, rows)
    for name, s in figures["pipeline"]["sets"].items():
        if s.get("coverable"):
            logger.info("%s: reader P@1 %.3f, today's model %.3f (%d questions with the evidence among candidates)",
                        name, s["reader_p_at_1"], s["baseline_p_at_1"], s["coverable"])
    figures["seconds"] = round(time.perf_counter() - started, 1)
    figures["data_files"] = inputs.files
    figures["headline"] = headline(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(figures["headline"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
