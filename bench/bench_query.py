"""Query latency, warm, and cold starts, against the common baseline.

    python bench/bench_query.py --index index --repeat 3 --out bench/results

Warm: the dev set (qa/data/dev_questions.jsonl) repeated ``--repeat``
times through one loaded Searcher/Assistant: query encoding alone, search in
bm25/dense/hybrid mode, and ``Assistant.ask``; the index side alone (encoded
vector given); and the baseline (fixed 400/80 chunks + FAISS flat + same
model; BM25 alone) built in the same run. Cold: wall time of
``python -m qa search …`` and of ``app.py`` until its port answers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from baseline import Baseline, evidence_hit, fixed_chunks  # noqa: E402
from common import free_port, machine, md_table, stop, timed, wait_for_port, write_results  # noqa: E402

from qa.answer.assistant import Assistant  # noqa: E402
from qa.ingest.corpus import ingest  # noqa: E402
from qa.search.query import normalize_query
from qa.answer import sentence_scorer  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402
from qa.settings import Settings  # noqa: E402


def cold_cli(index: Path, runs: int) -> dict:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa", "search", "教师交流的主要措施有哪些？", "--index", str(index)],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - start)
    return {"runs": runs, "median_s": round(sorted(seconds)[len(seconds) // 2], 2), "all_s": [round(s, 2) for s in seconds]}


def cold_app(index: Path, runs: int, timeout: float = 240) -> dict:
    seconds = []
    for _ in range(runs):
        port = free_port()
        env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "QA_INDEX": str(index), "QA_CORPUS": str(ROOT / "corpus")}
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, proc, timeout)
            seconds.append(time.perf_counter() - start)
        finally:
            stop(proc)
    return {"runs": runs, "median_s": round(sorted(seconds)[len(seconds) // 2], 2), "all_s": [round(s, 2) for s in seconds]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="a built index (default index/)")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="corpus for the baseline (default corpus/)")
    parser.add_argument("--questions", type=Path, default=ROOT / "qa" / "data" / "dev_questions.jsonl")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=3, help="cold starts of the CLI and of the app (0 skips)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="query", help="results file name (default query)")
    args = parser.parse_args(argv)

    rows = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [r["question"] for r in rows]
    settings = Settings.from_env(index=args.index, corpus=args.corpus)
    t = time.perf_counter()
    searcher = Searcher(settings, sentence_scorer(settings))
    load_s = time.perf_counter() - t
    assistant = Assistant(settings, searcher)
    index = searcher.index
    results: dict = {"machine": machine(), "index": str(args.index), "chunks": len(index), "questions": len(questions),
                     "repeat": args.repeat, "warm_load_s": round(load_s, 2), "stats": index.stats()}

    texts = [normalize_query(q) for q in questions]
    vectors = {q: searcher.embedder.encode_queries([q])[0] for q in texts}
    r = args.repeat
    lat = results["latency"] = {}
    lat["encode_query"] = timed(lambda q: searcher.embedder.encode_queries([normalize_query(q)]), questions, r)

    def first_time(call):
        """Each timed call encodes its question, as a question asked for the
        first time does: the searcher keeps recent query vectors."""
        def run(q):
            searcher._vectors.clear()
            return call(q)
        return run

    for mode in ("bm25", "dense", "hybrid"):
        lat[f"search_{mode}"] = timed(first_time(lambda q: searcher.search(q, 5, mode)), questions, r)
    lat["ask"] = timed(first_time(lambda q: assistant.ask(q)), questions, r)
    depth = max(settings.candidates, 15)
    fusion = {"dense_weight": settings.dense_weight, "rrf_k": settings.rrf_k}  # what the Searcher hands the index
    for mode in ("bm25", "dense", "hybrid"):
        lat[f"index_{mode}"] = timed(lambda q: index.search(q, vectors[q], depth, mode, None, **fusion), texts, r)

    def index_hybrid_rerank(q):
        ranked = index.search(q, vectors[q], depth, "hybrid", None, **fusion)
        searcher.second_stage.rerank(settings, index, q, ranked, vectors[q], searcher.colloquial,
                                     searcher.encode_passages)
    lat["index_hybrid_with_rerank"] = timed(index_hybrid_rerank, texts, r)

    # the baseline, built in this run from the same cleaned documents and model
    documents = ingest(args.corpus).documents
    base_texts = fixed_chunks(documents)
    t = time.perf_counter()
    baseline = Baseline(base_texts, searcher.embedder)
    results["baseline"] = {"chunks": len(base_texts), "build_s": round(time.perf_counter() - t, 2),
                           "seconds": {k: round(v, 3) for k, v in baseline.seconds.items()}}
    lat["baseline_bm25"] = timed(lambda q: baseline.search_bm25(normalize_query(q)), questions, r)
    lat["baseline_dense_flat"] = timed(lambda q: baseline.search_dense(normalize_query(q)), questions, r)

    # approximate quality next to the speed: evidence substring in the top 5
    hits = {"ours_hybrid": 0, "ours_bm25": 0, "baseline_bm25": 0, "baseline_dense_flat": 0}
    for row in rows:
        ev = row.get("evidence", [])
        hits["ours_hybrid"] += evidence_hit([h.chunk.text for h in searcher.search(row["question"], 5, "hybrid")], ev)
        hits["ours_bm25"] += evidence_hit([h.chunk.text for h in searcher.search(row["question"], 5, "bm25")], ev)
        q = normalize_query(row["question"])
        hits["baseline_bm25"] += evidence_hit([base_texts[i] for i in baseline.search_bm25(q)], ev)
        hits["baseline_dense_flat"] += evidence_hit([base_texts[i] for i in baseline.search_dense(q)], ev)
    results["evidence_hit_at_5"] = {k: round(v / len(rows), 3) for k, v in hits.items()}

    enc = lat["encode_query"]["p50_ms"]
    results["ratios"] = {
        "hybrid_search_over_encode_p50": round(lat["search_hybrid"]["p50_ms"] / enc, 3),
        "hybrid_overhead_vs_encode_p50": round((lat["search_hybrid"]["p50_ms"] - enc) / enc, 3),
        "index_hybrid_rerank_over_encode_p50": round(lat["index_hybrid_with_rerank"]["p50_ms"] / enc, 4),
        "hybrid_over_baseline_dense_p50": round(lat["search_hybrid"]["p50_ms"] / lat["baseline_dense_flat"]["p50_ms"], 3),
        "bm25_over_baseline_bm25_p50": round(lat["search_bm25"]["p50_ms"] / lat["baseline_bm25"]["p50_ms"], 3),
        "ask_over_baseline_dense_p50": round(lat["ask"]["p50_ms"] / lat["baseline_dense_flat"]["p50_ms"], 3),
    }
    results["targets"] = {
        "hybrid_overhead_le_25pct": results["ratios"]["hybrid_overhead_vs_encode_p50"] <= 0.25,
        "ask_p50_lt_500ms": lat["ask"]["p50_ms"] < 500,
        "ask_p95_lt_500ms": lat["ask"]["p95_ms"] < 500,
    }
    if args.cold_runs:
        results["cold"] = {"cli_search": cold_cli(args.index, args.cold_runs), "app_port": cold_app(args.index, args.cold_runs)}

    table = md_table(["what", "p50 ms", "p95 ms", "p99 ms", "n"],
                     [[k, v["p50_ms"], v["p95_ms"], v["p99_ms"], v["n"]] for k, v in lat.items()])
    table += "\n\n" + md_table(["ratio", "value"], [[k, v] for k, v in results["ratios"].items()])
    table += "\n\n" + md_table(["evidence hit@5 (approx.)", "value"], [[k, v] for k, v in results["evidence_hit_at_5"].items()])
    if "cold" in results:
        table += "\n\n" + md_table(["cold start", "median s", "runs s"],
                                   [[k, v["median_s"], v["all_s"]] for k, v in results["cold"].items()])
    write_results(args.out, args.name, results, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
