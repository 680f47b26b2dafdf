"""IVF calibration on real model embeddings, not random projections.

    python bench/bench_ivf_real.py --index /tmp/gov/index --out bench/results

The scale benchmark's vectors are random projections of token bags, which
makes its queries nearly random directions. This benchmark checks the nprobe
calibration on e5 vectors instead. It takes a built index (the 72 government
work reports: `python -m qa build --corpus DIR --index /tmp/gov/index` with the
JSONL in DIR), and puts into an IVF index (the flat limit lowered) either its
chunk vectors or the sentence vectors it keeps for the reranker (~10× more,
so more cells). For each, nprobe is chosen two ways:

* ``mixtures``: what ``LocalIndex`` does alone, on sums of two stored vectors;
* ``queries``: what ``qa build`` does, on the model's query vectors of 200
  phrases cut from the corpus (``probe_phrases``).

Recall@10 against exact search is then measured on queries neither saw: the
dev and own question sets (Chinese, English, traditional characters) and 200
other phrases.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_scale import dense_recall, dev_questions  # noqa: E402
from common import machine, md_table, write_results  # noqa: E402

from qa.embedding.embedder import get_embedder  # noqa: E402
from qa.index.local import CHUNKS_FILE, LocalIndex  # noqa: E402
from qa.index.passages import probe_phrases
from qa.index.storage import current_dir, load_index  # noqa: E402
from qa.models import Chunk  # noqa: E402
from qa.search.query import normalize_query  # noqa: E402


def stored_vectors(version: Path, dim: int, what: str) -> np.ndarray:
    if what == "sentences":
        with sqlite3.connect(f"file:{version / CHUNKS_FILE}?mode=ro", uri=True) as db:
            blobs = [b for (b,) in db.execute("SELECT vectors FROM sentences ORDER BY id")]
        return np.concatenate([np.frombuffer(b, dtype="float32").reshape(-1, dim) for b in blobs])
    index = faiss.read_index(str(version / "vectors.faiss"))
    return index.index.reconstruct_n(0, index.ntotal)


def run(vectors: np.ndarray, probes: np.ndarray, held_out: dict[str, np.ndarray]) -> list[dict]:
    n, dim = vectors.shape
    placeholders = [Chunk(f"v{i}", f"d{i}", "", "", [], "", 0, 0) for i in range(n)]
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    truth = {name: exact.search(q, 10)[1] for name, q in held_out.items()}
    rows = []
    for method in ("mixtures", "queries"):
        index = LocalIndex(dim, flat_max=1000)
        index.add(placeholders, vectors, tokens=[[]] * n)
        if method == "queries":
            index.calibrate(probes)
        stats = index.stats()
        rows.append({"vectors": n, "cells": stats["cells"], "calibrated_on": method, "nprobe": stats["nprobe"],
                     "recall_on_probes": stats["calibration"]["recall"],
                     **{f"recall_{name}": dense_recall(index, q, truth[name]) for name, q in held_out.items()}})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="a built index directory (with sentence vectors)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    index, manifest = load_index(args.index)
    version = current_dir(args.index)
    chunks = index.chunks()
    embedder = get_embedder(manifest["model"])
    probes = embedder.encode_queries(probe_phrases(chunks, seed=0))
    held_out = {"questions": embedder.encode_queries([normalize_query(q) for q in dev_questions()]),
                "phrases": embedder.encode_queries(probe_phrases(chunks, seed=1))}
    rows = []
    for what in ("chunks", "sentences"):
        for row in run(stored_vectors(version, embedder.dim, what), probes, held_out):
            rows.append({"stored": what, **row})
            print(json.dumps(rows[-1]), flush=True)
    header = list(rows[0])
    table = md_table(header, [[r[h] for h in header] for r in rows])
    print(table)
    write_results(args.out, "ivf-real", {"machine": machine(), "index": str(args.index), "chunks": len(chunks),
                                         "questions": len(held_out["questions"]), "results": rows}, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
