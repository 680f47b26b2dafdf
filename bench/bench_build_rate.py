"""The rate ``qa build`` estimates with before it starts (``qa/index/estimate.py``).

    python bench/bench_build_rate.py --out bench/results

Builds the seed corpus from nothing, ``--rounds`` times, each as a fresh
``python -m qa build`` into a temp index (model loading included, as in
``make run``; the encoder's cache is warm, so the first-run model preparation
the estimate adds separately is not in it), and reports characters per second:
the characters the build reads (``estimate.pending``) over the command's wall
time. ``MEASURED_RATE`` in ``qa/index/estimate.py`` is the median, rounded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from common import machine, md_table, run_facts, write_results  # noqa: E402


def main() -> None:
    from qa.index.estimate import pending
    from qa.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="build-rate")
    args = parser.parse_args()
    facts = machine()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-build-rate-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(args.corpus, corpus)
        files, chars = pending(Settings.from_env(corpus=corpus, index=Path(tmp) / "none"))
        for i in range(args.rounds):
            index = Path(tmp) / f"index-{i}"
            load = os.getloadavg()[0]
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "qa", "build", "--corpus", str(corpus), "--index", str(index)],
                           cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seconds = time.perf_counter() - started
            runs.append({"seconds": round(seconds, 1), "chars_per_second": round(chars / seconds, 1),
                         "load_1m": round(load, 2)})
            print(runs[-1], flush=True)
    facts["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    median = statistics.median(r["chars_per_second"] for r in runs)
    table = md_table(["round", "files", "characters", "wall s", "characters/s", "load (1 min)"],
                     [[i + 1, files, chars, r["seconds"], r["chars_per_second"], r["load_1m"]]
                      for i, r in enumerate(runs)])
    table += f"\n\nmedian {median:.0f} characters/s\n\n" + run_facts(facts)
    write_results(args.out, args.name, {"facts": facts, "files": files, "chars": chars, "runs": runs,
                                        "median_chars_per_second": median}, table)


if __name__ == "__main__":
    main()
