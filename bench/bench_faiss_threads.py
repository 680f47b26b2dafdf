"""Single-query flat search with one vs two OpenMP threads (why qa/index/local.py uses one).

    python bench/bench_faiss_threads.py --vectors 20000 --out bench/results

A query-at-a-time FAISS search over a flat index of N random unit vectors
(384 dimensions, like e5-small), timed with 1 and with all OpenMP threads in
interleaved rounds, so both see the same machine load. On a busy machine a
team of threads spins waiting for a core; the result depends on the load,
which is recorded at start and end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import machine, md_table, percentiles, run_facts, write_results  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=200, help="single queries per round and thread count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="faiss-threads")
    args = parser.parse_args(argv)

    import faiss

    facts = machine()
    rng = np.random.default_rng(18)
    data = rng.standard_normal((args.vectors, 384)).astype("float32")
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(384)
    index.add(data)
    queries = data[rng.choice(args.vectors, args.queries)] + 0.1 * rng.standard_normal((args.queries, 384)).astype("float32")
    counts = sorted({1, faiss.omp_get_max_threads()})
    seconds: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(args.rounds):
        for n in counts:
            faiss.omp_set_num_threads(n)
            index.search(queries[:5], 10)  # warm the team
            for q in queries:
                start = time.perf_counter()
                index.search(q[None, :], 10)
                seconds[n].append(time.perf_counter() - start)
    stats = {n: percentiles(s) for n, s in seconds.items()}
    facts["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    rows = [[n, args.vectors, stats[n]["n"], stats[n]["p50_ms"], stats[n]["p95_ms"]] for n in counts]
    table = md_table(["OpenMP threads", "vectors", "queries", "p50 ms", "p95 ms"], rows)
    table += "\n\n" + run_facts(facts)
    write_results(args.out, args.name, {"machine": facts, "vectors": args.vectors, "rounds": args.rounds,
                                        "latency": {str(n): stats[n] for n in counts}}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
