"""What the drafting tab should show next to a precedent instead of its raw cosine (issue 26).

    python bench/bench_drafting_calibration.py --index /tmp/seed-index

The e5 cosine of any two Chinese policy sentences sits between about 0.88
and 0.98, so "相似度 0.94" reads as "very similar" for a precedent on another
subject. This measures, on the hand-labelled pairs of
``tests/data/drafting/relevance_pairs.jsonl`` (126 draft sentence -> precedent
pairs over the seeds, ``bench/drafting_pairs.py``; label 2 = the same measure
or fact, 1 = the same topic but another point, 0 = unrelated), how well each
candidate figure separates them (ROC AUC) and fits a logistic calibration of
the best one to P(label 2), with 5-fold cross-validated Brier score and
expected calibration error against the raw cosine read as a probability.

Candidate figures, per draft sentence q and precedent p (sims = q's cosine to
every indexed sentence in scope):
* ``cosine``: as shown so far;
* ``z``: (cosine - mean(sims)) / std(sims): how far p stands out of q's background;
* ``percentile``: the share of indexed sentences less similar than p;
* ``margin``: cosine minus the 30th-nearest sentence's (the candidate pool's floor);
* ``coverage``: the share of q's words, weighted by their idf in the index, that p holds
  (``qa.drafting.finder.word_coverage``).
The shown figure is the logistic fit with the best cross-validated Brier score, (margin, coverage):
``relevance`` in qa/drafting/finder.py.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import machine, md_table, write_results  # noqa: E402

from qa.drafting import DraftFinder, precedent_filter  # noqa: E402
from qa.drafting.finder import DENSE_CANDIDATES, background, word_coverage  # noqa: E402
from qa.evaluation.metrics import auc  # noqa: E402
from qa.text.tokenize import tokenize  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402
from qa.settings import Settings  # noqa: E402

LABELS = ROOT / "tests" / "data" / "drafting" / "relevance_pairs.jsonl"
SEED_003 = "003_23cd2b7cd9c0da57.txt"
FEATURES = ("cosine", "z", "percentile", "margin", "coverage")


def features(finder: DraftFinder, pairs: list[dict]) -> list[dict]:
    table = finder.table
    out = []
    for pair in pairs:
        where = precedent_filter(exclude_ids=[SEED_003]) if pair["draft"] == "seed-003" else None
        rows, vectors = table.subset(where)
        query = finder.searcher.embedder.encode_documents([pair["sentence"]])[0]
        sims = vectors @ query
        sims[table.is_title[rows]] = np.nan
        match = _match(table, rows, pair)
        cosine = float(sims[match])
        mean, std, floor = background(sims)
        valid = sims[~np.isnan(sims)]
        words = set(tokenize(pair["sentence"]))
        out.append({**pair, "cosine": cosine, "z": (cosine - mean) / std,
                    "percentile": float((valid < cosine).mean()), "margin": cosine - floor,
                    "coverage": word_coverage(finder.index.idf(words), set(tokenize(pair["precedent"])))})
    return out


def _match(table, rows, pair: dict) -> int:
    """The position in ``rows`` of the labelled precedent: its document's sentence with the same
    text (offsets move when cleaning changes; a sentence whose mojibake was repaired since it was
    labelled is the one of its document that shares the most of its characters)."""
    mine = [k for k, row in enumerate(rows) if table.precedent(int(row), 0.0, 0.0).doc_id == pair["doc_id"]]
    texts = {k: table.precedent(int(rows[k]), 0.0, 0.0).text for k in mine}
    exact = [k for k in mine if texts[k] == pair["precedent"]]
    if exact:
        return exact[0]
    wanted = set(pair["precedent"])
    return max(mine, key=lambda k: len(wanted & set(texts[k])) / max(len(wanted | set(texts[k])), 1))


def logistic(x: np.ndarray, y: np.ndarray, steps: int = 20000, rate: float = 0.2) -> tuple[np.ndarray, float]:
    """(weights, bias) of P = 1 / (1 + exp(-(x @ w + b))) by gradient descent on the log loss
    (columns standardised inside, the result in the original units)."""
    x = x.reshape(len(x), -1)
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    t = (x - mu) / sd
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(t @ w + b)))
        w -= rate * (t.T @ (p - y)) / len(y)
        b -= rate * float((p - y).mean())
    return w / sd, float(b - (w * mu / sd).sum())


def predict(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(x.reshape(len(x), -1) @ w + b)))


def calibration(prob: np.ndarray, y: np.ndarray, bins: int = 5) -> tuple[float, float]:
    """(Brier score, expected calibration error over equal-width bins)."""
    brier = float(((prob - y) ** 2).mean())
    ece = 0.0
    for k in range(bins):
        inside = (prob >= k / bins) & (prob < (k + 1) / bins if k < bins - 1 else prob <= 1)
        if inside.any():
            ece += inside.mean() * abs(prob[inside].mean() - y[inside].mean())
    return brier, float(ece)


def cross_validated(x: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int = 5) -> np.ndarray:
    """Out-of-fold probabilities; a draft sentence's pairs stay in one fold."""
    unique = np.unique(groups)
    fold_of = {g: k % folds for k, g in enumerate(np.random.default_rng(0).permutation(unique))}
    prob = np.zeros(len(x))
    for k in range(folds):
        test = np.array([fold_of[g] == k for g in groups])
        w, b = logistic(x[~test], y[~test])
        prob[test] = predict(x[test], w, b)
    return prob


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="drafting-calibration")
    args = parser.parse_args()
    pairs = [json.loads(line) for line in args.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    finder = DraftFinder(Searcher(Settings.from_env(index=args.index)))
    rows = features(finder, pairs)
    same = [r["label"] == 2 for r in rows]
    related = [r["label"] >= 1 for r in rows]
    aucs = {f: {"same (2 vs 0-1)": round(auc([r[f] for r in rows], same), 3),
                "related (1-2 vs 0)": round(auc([r[f] for r in rows], related), 3)} for f in FEATURES}
    best = max(FEATURES, key=lambda f: aucs[f]["same (2 vs 0-1)"])
    y = np.array(same, dtype=float)
    groups = np.array([f"{r['draft']}#{r['n']}" for r in rows])
    fits = {}
    for combo in (("cosine",), (best,), ("coverage",), ("z", "coverage"), ("cosine", "coverage"), ("margin", "coverage")):
        x = np.array([[r[f] for f in combo] for r in rows])
        prob = cross_validated(x, y, groups)
        brier, ece = calibration(prob, y)
        w, b = logistic(x, y)
        fits["+".join(combo)] = {"weights": [round(float(v), 4) for v in w], "bias": round(b, 4),
                                 "cv_auc": round(auc(list(prob), same), 3), "cv_brier": round(brier, 4),
                                 "cv_ece": round(ece, 4)}
    raw_brier, raw_ece = calibration(np.clip(np.array([r["cosine"] for r in rows]), 0, 1), y)
    base = float(y.mean())
    table = [[f, aucs[f]["same (2 vs 0-1)"], aucs[f]["related (1-2 vs 0)"]] for f in FEATURES]
    lines = [f"pairs {len(rows)} (label 2: {sum(same)}, 1: {sum(related) - sum(same)}, 0: {len(rows) - sum(related)}); "
             f"dense pool {DENSE_CANDIDATES}",
             md_table(["figure", "AUC same measure", "AUC related"], table), "",
             md_table(["as P(same measure)", "5-fold AUC", "5-fold Brier", "5-fold ECE", "weights", "bias"],
                      [["raw cosine", aucs["cosine"]["same (2 vs 0-1)"], round(raw_brier, 4), round(raw_ece, 4), "", ""],
                       ["base rate", 0.5, round(base * (1 - base), 4), 0.0, "", round(math.log(base / (1 - base)), 4)]]
                      + [[f"logistic({f})", v["cv_auc"], v["cv_brier"], v["cv_ece"], v["weights"], v["bias"]]
                         for f, v in fits.items()])]
    by_label = {k: [round(float(np.mean([r[f] for r in rows if r["label"] == k])), 3) for f in FEATURES] for k in (0, 1, 2)}
    lines += ["", md_table(["label", *FEATURES], [[k, *v] for k, v in by_label.items()])]
    write_results(args.out, args.name, {"machine": machine(), "index": str(args.index), "labels": str(args.labels),
                                        "auc": aucs, "best": best, "fits": fits,
                                        "raw_cosine": {"brier": raw_brier, "ece": raw_ece}, "means_by_label": by_label,
                                        "pairs": [{k: r[k] for k in ("draft", "n", "doc_id", "start", "label", *FEATURES)}
                                                  for r in rows]},
                  "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
