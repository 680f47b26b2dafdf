"""Fusion and rerank settings on a built index, through the real ``Searcher``.

Every question is encoded once; each setting of the first stage (dense weight,
RRF constant) and of the second (``qa/search/second_stage.py``: the similarity and
answer-sentence weights, its RRF constant) then ranks with the index's own
BM25, vectors and sentence vectors. The answer-sentence model was fitted on
the development sets, so on them its rows are in sample (``bench/answer_cv.py``
gives the out-of-sample figure). Scored like ``score.py`` (``--doc-match``: the passage must
come from the question's document, or name it in ``also_in``).

    python bench/fusion_grid.py /tmp/ncp ../shared/eval/ncp/dev_questions.jsonl --doc-match
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import machine, md_table, write_results  # noqa: E402

from qa.text.fold import evidence_form as norm  # noqa: E402  (score.py's normalisation)
from qa.search.query import normalize_query
from qa.answer import sentence_scorer  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402
from qa.settings import Settings  # noqa: E402


class CachedQueries:
    """Stands in for the embedder's query side: each question's vector, encoded once.

    ``Searcher.search`` encodes the normalised question (width, script folded),
    so that is what is encoded here too; encoding the raw question gave other
    dense vectors for traditional and full-width questions than ``qa search``."""

    def __init__(self, embedder, questions: list[str]):
        texts = [normalize_query(q) for q in questions]
        self.vectors = dict(zip(texts, embedder.encode_queries(texts)))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


def evaluate(searcher: Searcher, questions: list[dict], mode: str, doc_match: bool) -> tuple[float, float]:
    r5 = mrr = 0.0
    for q in questions:
        evidence = [norm(e) for e in q["evidence"]]
        hits = searcher.search(q["question"], 10, mode)
        hit = next((r for r, h in enumerate(hits) if any(e in norm(h.chunk.text) for e in evidence)
                    and (not doc_match or q.get("doc", "") in " ".join([h.chunk.source, *h.also_in]))), None)
        r5 += hit is not None and hit < 5
        mrr += 0 if hit is None else 1 / (hit + 1)
    return round(r5 / len(questions), 3), round(mrr / len(questions), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--doc-match", action="store_true")
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    settings = Settings.from_env(index=args.index)
    searcher = Searcher(settings, sentence_scorer(settings))
    searcher.embedder = CachedQueries(searcher.embedder, [q["question"] for q in questions])
    rows = [["bm25", "", "", "", "", "", *evaluate(searcher, questions, "bm25", args.doc_match)],
            ["dense", "", "", "", "", "", *evaluate(searcher, questions, "dense", args.doc_match)]]
    # first stage: dense weight and RRF k (the grid of the first round, fusion-grid-*.md, chose 0.3 and 10);
    # second stage (qa/search/second_stage.py): similarity and answer-sentence weights (0 and 0: none) and its RRF k
    for dense, k, similarity, evidence, rerank_k in itertools.product(
            (settings.dense_weight,), (settings.rrf_k,), (0.0, 0.2, 0.3, 0.4, 0.6), (0.0, 0.4, 0.5, 0.6), (3, 10)):
        if similarity + evidence >= 1 or (similarity == evidence == 0 and rerank_k != 3):
            continue
        searcher.settings = dataclasses.replace(settings, dense_weight=dense, rrf_k=k, rerank_weight=similarity,
                                                evidence_weight=evidence, rerank_rrf_k=rerank_k,
                                                rerank=similarity + evidence > 0)
        rows.append(["hybrid", dense, k, similarity, evidence, rerank_k,
                     *evaluate(searcher, questions, "hybrid", args.doc_match)])
        print(rows[-1], flush=True)
    table = md_table(["mode", "dense weight", "rrf k", "similarity weight", "answer-sentence weight", "rerank rrf k",
                      "R@5", "MRR@10"], rows)
    name = args.name or f"fusion-grid-{args.questions.stem}"
    write_results(ROOT / "bench" / "results", name, {"machine": machine(), "index": str(args.index),
                                                       "questions": str(args.questions), "doc_match": args.doc_match,
                                                       "defaults": {f: getattr(settings, f) for f in
                                                                    ("dense_weight", "rrf_k", "rerank_weight",
                                                                    "evidence_weight", "rerank_rrf_k")},
                                                       "rows": rows}, table)


if __name__ == "__main__":
    main()
