"""Scale benchmark of LocalIndex on a synthetic corpus (bench/synth.py).

    python bench/bench_scale.py --chunks 100000 300000 1000000 --out bench/results

For each size: build a LocalIndex (FAISS type picked by size: IVF above 100k),
measure hybrid/bm25/dense query latency on the index side (the query vector
is precomputed; model encoding is measured by bench_query.py), recall@10 of
the approximate dense search against exact flat search on the same queries,
memory (RSS delta of the process) and on-disk size, save and (mmap) load times.

The dense vectors are deterministic random projections of tf-idf token bags,
not model embeddings (see bench/synth.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import dir_mb, machine, md_table, percentiles, rss_mb, write_results  # noqa: E402
from synth import Synth  # noqa: E402

from qa.index.local import LocalIndex  # noqa: E402
from qa.index.passages import probe_phrases
from qa.index.protocol import Filter  # noqa: E402
from qa.search.query import normalize_query  # noqa: E402
from qa.settings import Settings  # noqa: E402

#: the fusion arguments the Searcher hands the index (Settings' defaults)
FUSION = {"dense_weight": Settings().dense_weight, "rrf_k": Settings().rrf_k}


def dev_questions() -> list[str]:
    root = Path(__file__).resolve().parent.parent
    out = []
    for path in (root / "qa" / "data" / "dev_questions.jsonl", root / "tests" / "data" / "own_questions.jsonl"):
        if path.exists():
            out += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def dense_recall(index: LocalIndex, qvecs: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len({i for i, _ in index.search_dense(q, 10)} & set(t)) for q, t in zip(qvecs, truth.tolist()))
    return round(hits / (10 * len(qvecs)), 4)


def sweep_nprobe(index: LocalIndex, qvecs: np.ndarray, truth: np.ndarray, pairs: list, depth: int) -> list[dict]:
    """Recall@10 on the benchmark queries and hybrid latency at powers of two
    from 512 to every cell, and at the calibrated value (restored afterwards)."""
    ivf = faiss.extract_index_ivf(index._vectors)
    calibrated, rows = ivf.nprobe, []
    ladder = sorted({calibrated, ivf.nlist, *(p for p in (2 ** e for e in range(9, 20)) if p < ivf.nlist)})
    for nprobe in ladder:
        ivf.nprobe = nprobe
        seconds = []
        for q, v in pairs:
            start = time.perf_counter()
            index.search(q, v, depth, "hybrid", None, **FUSION)
            seconds.append(time.perf_counter() - start)
        rows.append({"nprobe": nprobe, "calibrated": nprobe == calibrated,
                     "recall_at_10": dense_recall(index, qvecs, truth), "hybrid_latency": percentiles(seconds)})
    ivf.nprobe = calibrated
    return rows


def run_size(synth: Synth, n: int, queries: list[str], qvecs: np.ndarray, k: int, depth: int,
             save: bool, kind: str) -> dict:
    result: dict = {"chunks": n, "kind_requested": kind}
    t = time.perf_counter()
    chunks, tokens, vectors = synth.chunks(n, seed=n)
    result["synth_s"] = round(time.perf_counter() - t, 1)
    gc.collect()
    base = rss_mb()
    index = LocalIndex(synth.dim, kind=kind)
    t = time.perf_counter()
    index.add(chunks, vectors, tokens=tokens)
    result["add_s"] = round(time.perf_counter() - t, 1)
    if index.needs_calibration():  # as qa/index/build.py does, with the projection as the query encoder
        t = time.perf_counter()
        index.calibrate(np.stack([synth.query_vector(p) for p in probe_phrases(chunks)]))
        result["calibrate_s"] = round(time.perf_counter() - t, 1)
    del chunks, tokens
    gc.collect()
    result["rss_after_add_mb"] = round(rss_mb() - base, 1)
    t = time.perf_counter()
    index._bm25_index()
    result["bm25_index_s"] = round(time.perf_counter() - t, 1)
    gc.collect()
    result["rss_index_mb"] = round(rss_mb() - base, 1)
    bm25 = index._bm25
    result["bm25_matrix_mb"] = round(sum(a.nbytes for a in (bm25.data, bm25.indices, bm25.indptr)) / 1e6, 1)
    result["stats"] = index.stats()
    result["calibration"] = index.calibration

    # recall@10 of the dense index vs exact search over the same vectors
    exact = faiss.IndexFlatIP(synth.dim)
    exact.add(vectors)
    _, truth = exact.search(qvecs, 10)
    result["dense_recall_at_10"] = dense_recall(index, qvecs, truth)
    questions = len(dev_questions())  # the first queries are the dev/own questions, the rest phrases
    result["dense_recall_at_10_questions"] = dense_recall(index, qvecs[:questions], truth[:questions])
    result["dense_recall_at_10_phrases"] = dense_recall(index, qvecs[questions:], truth[questions:])
    del exact
    gc.collect()

    pairs = list(zip(queries, qvecs))
    if result["stats"].get("cells"):
        result["nprobe_sweep"] = sweep_nprobe(index, qvecs, truth, pairs, depth)
    for mode in ("bm25", "dense", "hybrid"):
        for q, v in pairs[:5]:
            index.search(q, v, depth, mode, None, **FUSION)
        seconds = []
        for q, v in pairs:
            start = time.perf_counter()
            index.search(q, v, depth, mode, None, **FUSION)
            seconds.append(time.perf_counter() - start)
        result[f"{mode}_latency"] = percentiles(seconds)
    year = Filter(year=2015)
    seconds = []
    for q, v in pairs[:50]:
        start = time.perf_counter()
        index.search(q, v, depth, "hybrid", year, **FUSION)
        seconds.append(time.perf_counter() - start)
    result["hybrid_filtered_latency"] = percentiles(seconds)

    if save:
        tmp = Path(tempfile.mkdtemp(prefix=f"scale{n}-"))
        try:
            t = time.perf_counter()
            index.save(tmp)
            result["save_s"] = round(time.perf_counter() - t, 1)
            result["disk_mb"] = {p.name: round(p.stat().st_size / 1e6, 1) for p in tmp.iterdir()}
            result["disk_total_mb"] = round(dir_mb(tmp), 1)
            del index
            gc.collect()
            before = rss_mb()
            t = time.perf_counter()
            loaded = LocalIndex.load(tmp, synth.dim)
            result["load_s"] = round(time.perf_counter() - t, 1)
            result["rss_loaded_mb"] = round(rss_mb() - before, 1)
            result["memory_mapped"] = loaded.stats()["memory_mapped"]
            t = time.perf_counter()
            loaded.search(*pairs[0], depth, "hybrid", None, **FUSION)  # touches the mapped BM25 matrix and inverted lists
            result["first_query_after_load_ms"] = round((time.perf_counter() - t) * 1000, 1)
            seconds = []
            for q, v in pairs:
                start = time.perf_counter()
                loaded.search(q, v, depth, "hybrid", None, **FUSION)
                seconds.append(time.perf_counter() - start)
            result["hybrid_latency_after_load"] = percentiles(seconds)
            result["rss_after_queries_mb"] = round(rss_mb() - before, 1)
            del loaded
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    gc.collect()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, nargs="+", default=[100_000], help="corpus sizes (default 100000)")
    parser.add_argument("--queries", type=int, default=200, help="synthetic phrase queries (plus the dev/own questions)")
    parser.add_argument("--depth", type=int, default=30, help="candidates per retriever (QA_CANDIDATES)")
    parser.add_argument("--kind", default="auto", help="vector index kind: auto, flat, ivf, hnsw")
    parser.add_argument("--no-save", action="store_true", help="skip the save/load measurement")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)

    t = time.perf_counter()
    synth = Synth()
    pool_s = time.perf_counter() - t
    queries = [normalize_query(q) for q in dev_questions() + synth.queries(args.queries)]
    qvecs = np.stack([synth.query_vector(q) for q in queries]).astype("float32")
    results = {"machine": machine(), "queries": len(queries), "depth": args.depth, "pool_s": round(pool_s, 1),
               "vectors": "random projection of tf-idf token bags (not model embeddings)", "sizes": []}
    for n in args.chunks:
        print(f"--- {n} chunks", flush=True)
        r = run_size(synth, n, queries, qvecs, 10, args.depth, not args.no_save, args.kind)
        print(json.dumps(r, ensure_ascii=False), flush=True)
        results["sizes"].append(r)
        name = "scale" if args.kind == "auto" else f"scale-{args.kind}"
        write_results(args.out, name, results, table(results))
    return 0


def table(results: dict) -> str:
    rows = []
    for r in results["sizes"]:
        s = r["stats"]
        index = s["vector_kind"] + (f" {s.get('cells')} cells nprobe {s.get('nprobe')}" if s["vector_kind"] == "ivf" else "")
        rows.append([f"{r['chunks']:,}", index, r["hybrid_latency"]["p50_ms"], r["hybrid_latency"]["p95_ms"],
                     r["bm25_latency"]["p95_ms"], r["dense_latency"]["p95_ms"], r["hybrid_filtered_latency"]["p95_ms"],
                     r["dense_recall_at_10"], f"{r['dense_recall_at_10_questions']} / {r['dense_recall_at_10_phrases']}",
                     r["add_s"], r.get("calibrate_s", "-"), r["bm25_index_s"], r["rss_index_mb"],
                     r.get("disk_total_mb", "-"), r.get("load_s", "-"), r.get("rss_loaded_mb", "-"),
                     r.get("rss_after_queries_mb", "-")])
    return md_table(["chunks", "vector index", "hybrid p50 ms", "hybrid p95 ms", "bm25 p95 ms", "dense p95 ms",
                     "hybrid+filter p95 ms", "dense recall@10 vs flat", "recall questions / phrases", "add s",
                     "calibrate s", "bm25 index s", "RSS MB", "disk MB", "load s", "RSS after load MB",
                     "RSS after load + queries MB"], rows)


if __name__ == "__main__":
    raise SystemExit(main())
