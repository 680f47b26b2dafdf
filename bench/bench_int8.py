"""Int8 dynamic quantization of the embedding model: CPU encoding speed and
dev-set quality against the fp32 model, in one run.

The question the performance issue asks: does int8 speed up CPU encoding
without costing more than 1 point of dev-set Recall@5? Both variants build a
fresh index of the same corpus and are scored with the same harness.
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

import torch  # noqa: E402
from common import machine, md_table, write_results  # noqa: E402

from qa.embedding.embedder import get_embedder  # noqa: E402
from qa.evaluation.runner import make_configs, run_eval  # noqa: E402
from qa.index.build import build  # noqa: E402
from qa.index.passages import search_text  # noqa: E402
from qa.ingest.chunking import chunk_documents  # noqa: E402
from qa.ingest.corpus import ingest  # noqa: E402
from qa.questions import read_questions  # noqa: E402
from qa.answer import sentence_scorer  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402
from qa.settings import Settings  # noqa: E402


def measure(variant: str, corpus: Path, questions: Path, repeat: int) -> dict:
    settings = Settings.from_env(corpus=corpus, index=Path(tempfile.mkdtemp(prefix=f"int8-{variant}-")), encoder="torch")
    embedder = get_embedder(settings.model, settings.batch_size, settings.encoder)  # the one the build and the searcher use
    if variant == "int8":
        embedder.backend.model = torch.ao.quantization.quantize_dynamic(embedder.backend.model, {torch.nn.Linear}, dtype=torch.qint8)
    texts = [search_text(c) for c in chunk_documents(ingest(corpus).documents, settings.chunking)]
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        embedder.encode_documents(texts)
        seconds.append(time.perf_counter() - start)
    query_seconds = []
    for text in texts[:50]:
        start = time.perf_counter()
        embedder.encode_queries([text[:40]])
        query_seconds.append(time.perf_counter() - start)
    try:
        build(settings, rebuild=True)
        qs, _ = read_questions(questions)
        result = run_eval(Searcher(settings, sentence_scorer(settings)), qs, make_configs(["hybrid"]))
        overall = result.configs[0].metrics.overall
    finally:
        shutil.rmtree(settings.index, ignore_errors=True)
    return {"variant": variant, "chunks": len(texts), "encode_chunks_s": round(min(seconds), 2),
            "chunks_per_s": round(len(texts) / min(seconds), 1),
            "query_encode_ms_p50": round(sorted(query_seconds)[len(query_seconds) // 2] * 1000, 1),
            "R@5": round(overall["R@5"], 3), "MRR@10": round(overall["MRR@10"], 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--questions", type=Path, default=ROOT / "qa" / "data" / "dev_questions.jsonl")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    rows = [measure(v, args.corpus, args.questions, args.repeat) for v in ("fp32", "int8")]
    header = list(rows[0])
    table = md_table(header, [[r[h] for h in header] for r in rows])
    print(table)
    write_results(args.out, "int8", {"machine": machine(), "results": rows}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
