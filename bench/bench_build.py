"""Build throughput per stage and peak memory, against the common baseline.

    python bench/bench_build.py --corpus corpus --out bench/results

Runs the real ``qa.build.build`` into a temporary index (stage timings from
its report: ingest = loading + cleaning + splitting, chunk, embed = chunk
vectors + sentence vectors for the reranker, index, save), then the baseline
in the same process on the same cleaned documents: fixed 400-character chunks
with 80 overlap + the same model + FAISS flat, and BM25 alone. Peak memory is
``resource.getrusage`` (max RSS of this process).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from baseline import Baseline, fixed_chunks  # noqa: E402
from common import machine, md_table, peak_rss_mb, run_facts, write_results  # noqa: E402

from qa.embedding.embedder import get_embedder  # noqa: E402
from qa.index.build import build, embed_sentences  # noqa: E402
from qa.index.passages import search_text  # noqa: E402
from qa.ingest.chunking import chunk_documents  # noqa: E402
from qa.ingest.corpus import ingest  # noqa: E402
from qa.settings import Settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="build", help="results file name (default build)")
    parser.add_argument("--build-only", action="store_true",
                        help="time the build alone: no chunk/sentence split, no baseline (large corpora)")
    args = parser.parse_args(argv)

    facts = machine()
    settings = Settings.from_env(corpus=args.corpus)
    embedder = get_embedder(settings.model, settings.batch_size, settings.encoder)  # model load is not a build stage
    embedder.encode_documents(["预热"])
    rss_model = peak_rss_mb()
    tmp = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        t = time.perf_counter()
        report = build(Settings.from_env(corpus=args.corpus, index=tmp / "index"), rebuild=True)
        total = time.perf_counter() - t
        index_mb = sum(p.stat().st_size for p in (tmp / "index").rglob("*") if p.is_file()) / 1e6
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    peak_ours = peak_rss_mb()
    docs, n = report.documents, report.chunks
    stages = []
    for stage, seconds in report.seconds.items():
        stages.append({"stage": stage, "seconds": seconds, "docs_per_s": round(docs / seconds, 1) if seconds else None,
                       "chunks_per_s": round(n / seconds, 1) if seconds else None})
    stage_table = md_table(["stage", "seconds", "docs/s", "chunks/s"],
                           [[s["stage"], s["seconds"], s["docs_per_s"], s["chunks_per_s"]] for s in stages])
    if args.build_only:
        facts["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
        results = {"machine": facts, "corpus": str(args.corpus), "documents": docs, "chunks": n,
                   "build_total_s": round(total, 2), "index_mb": round(index_mb, 2), "stages": stages,
                   "peak_rss_mb": {"after_model_load": round(rss_model, 1), "after_build": round(peak_ours, 1)}}
        table = stage_table + "\n\n" + md_table(["", "value"], [
            ["documents / chunks", f"{docs} / {n}"], ["build total s", results["build_total_s"]],
            ["peak RSS MB (model loaded / after build)", f"{rss_model:.0f} / {peak_ours:.0f}"],
            ["index on disk MB", results["index_mb"]]])
        write_results(args.out, args.name, results, table + "\n\n" + run_facts(facts))
        return 0

    # split embed into chunk vectors and sentence vectors, on the same chunks
    documents = ingest(args.corpus).documents
    chunks = chunk_documents(documents, settings.chunking)
    t = time.perf_counter()
    embedder.encode_documents([search_text(c) for c in chunks])
    embed_chunks_s = time.perf_counter() - t
    t = time.perf_counter()
    sentences = embed_sentences(embedder, chunks)
    embed_sentences_s = time.perf_counter() - t
    n_sentences = sum(len(s) for s in sentences)

    # the baseline on the same cleaned documents
    t = time.perf_counter()
    texts = fixed_chunks(ingest(args.corpus).documents)
    fixed_s = time.perf_counter() - t
    bm25_only = Baseline(texts, None)
    baseline = Baseline(texts, embedder)
    base_total = fixed_s + baseline.seconds["bm25_index"] + baseline.seconds["embed"] + baseline.seconds["faiss_index"]

    results = {
        "machine": facts, "corpus": str(args.corpus), "documents": docs, "chunks": n, "sentences": n_sentences,
        "build_total_s": round(total, 2), "index_mb": round(index_mb, 2), "stages": stages,
        "embed_split_s": {"chunk_vectors": round(embed_chunks_s, 2), "sentence_vectors": round(embed_sentences_s, 2)},
        "peak_rss_mb": {"after_model_load": round(rss_model, 1), "after_build": round(peak_ours, 1)},
        "baseline": {"chunks": len(texts), "load_clean_fixed_chunk_s": round(fixed_s, 2),
                     "bm25_index_s": round(bm25_only.seconds["bm25_index"], 3),
                     "embed_s": round(baseline.seconds["embed"], 2), "faiss_index_s": round(baseline.seconds["faiss_index"], 4),
                     "total_s": round(base_total, 2), "bm25_alone_total_s": round(fixed_s + bm25_only.seconds["bm25_index"], 2)},
        "peak_rss_mb_end": round(peak_rss_mb(), 1),
    }
    results["ratios"] = {
        "build_over_baseline": round(total / base_total, 2),
        "build_over_bm25_alone": round(total / results["baseline"]["bm25_alone_total_s"], 1),
        "embed_sentences_over_chunks": round(embed_sentences_s / embed_chunks_s, 2),
        "chunks_per_s_ours_vs_baseline_embed": round((n / embed_chunks_s) / (len(texts) / baseline.seconds["embed"]), 2),
    }
    facts["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    table = stage_table + "\n\n" + md_table(["", "value"], [
        ["documents / chunks / sentences", f"{docs} / {n} / {n_sentences}"],
        ["build total s (ours)", results["build_total_s"]],
        ["embed: chunk vectors s / sentence vectors s", f"{embed_chunks_s:.2f} / {embed_sentences_s:.2f}"],
        ["baseline (400/80 fixed + flat + same model) total s", results["baseline"]["total_s"]],
        ["BM25 alone total s", results["baseline"]["bm25_alone_total_s"]],
        ["peak RSS MB (model loaded / after build / end)", f"{rss_model:.0f} / {peak_ours:.0f} / {results['peak_rss_mb_end']:.0f}"],
        ["index on disk MB", results["index_mb"]],
        *[[k, v] for k, v in results["ratios"].items()],
    ])
    write_results(args.out, args.name, results, table + "\n\n" + run_facts(facts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
