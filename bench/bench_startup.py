"""Before/after, interleaved: cold starts, warm ``ask`` and default build throughput.

    git archive BASE_COMMIT | tar -x -C /tmp/before
    python bench/bench_startup.py --before /tmp/before --index /tmp/idx --ncp-docs 100 --out bench/results
    python bench/bench_startup.py --only bm25 --index /tmp/idx --rounds 7 --name startup-bm25

Every measurement is a fresh subprocess of this checkout ("after") or of the
``--before`` checkout, each with its own defaults (no ``QA_ENCODER``), run in
alternation round after round, so a busy machine slows both alike: compare
the ratios. Measured:

* ``python -c "import numpy"``, the yardstick of a cold Python process;
* cold ``qa search --mode bm25`` and cold hybrid ``qa search`` (wall time);
* ``app.py`` until its port answers;
* warm ``Assistant.ask`` over the dev questions (one process, p50/p95);
* ``qa build --rebuild`` of the seeds and of the first ``--ncp-docs`` NCP
  documents: chunks per second of the whole command and of its embed stage.

The index searched is ``--index`` (built by this checkout; vectors of both
encoders agree, tests/test_openvino.py). ``--only bm25`` measures just the
yardstick and the cold BM25 search (``--before`` is optional then: without
it, this checkout alone), with the ratio to ``import numpy`` of each round.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import free_port, machine, md_table, percentiles, stop, wait_for_port, write_results  # noqa: E402

QUERY = "教师交流的主要措施有哪些？"
WARM_ASK = """
import json, sys, time
from qa.answer.assistant import Assistant
from qa.settings import Settings
questions = [json.loads(l)["question"] for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
assistant = Assistant(Settings.from_env())
assistant.ask(questions[0])
seconds = []
for _ in range(int(sys.argv[2])):
    for q in questions:
        t = time.perf_counter(); assistant.ask(q); seconds.append(time.perf_counter() - t)
print(json.dumps(seconds))
"""


def env_for(tree: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "QA_ENCODER"}  # each side's own default
    return {**env, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", **extra}


def wall(cmd: list[str], tree: Path, **extra: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=tree, env=env_for(tree, **extra), check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return time.perf_counter() - start, done.stdout


def app_ready(tree: Path, index: Path) -> float:
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=tree,
                            env=env_for(tree, GRADIO_SERVER_PORT=str(port), QA_INDEX=str(index),
                                        QA_CORPUS=str(tree / "corpus"), GRADIO_ANALYTICS_ENABLED="False"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, 600)
        return time.perf_counter() - start
    finally:
        stop(proc)


def build_rate(tree: Path, corpus: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        seconds, out = wall([sys.executable, "-m", "qa", "build", "--rebuild", "--json",
                             "--corpus", str(corpus), "--index", str(work / "index")], tree)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = json.loads(out.strip().splitlines()[-1])
    n = report["chunks"]
    return {"chunks": n, "wall_s": round(seconds, 2), "embed_s": report["seconds"]["embed"],
            "load_s": report["seconds"].get("load"), "chunks_per_s_wall": round(n / seconds, 2),
            "chunks_per_s_embed": round(n / report["seconds"]["embed"], 2)}


def median(values: list[float]) -> float:
    return round(sorted(values)[len(values) // 2], 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare against")
    parser.add_argument("--only", choices=["all", "bm25"], default="all",
                        help="bm25: only `import numpy` and the cold BM25 search")
    parser.add_argument("--name", default="startup", help="file name of the results (NAME.json, NAME.md)")
    parser.add_argument("--index", type=Path, required=True, help="a built index of the seed corpus")
    parser.add_argument("--rounds", type=int, default=3, help="cold-start rounds (each runs both sides)")
    parser.add_argument("--warm-repeat", type=int, default=2)
    parser.add_argument("--ncp", type=Path, default=Path("/work/shared/eval/ncp/corpus"))
    parser.add_argument("--ncp-docs", type=int, default=100, help="first N NCP documents (0 skips)")
    parser.add_argument("--build-rounds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    if args.before is None and args.only == "all":
        parser.error("--before is needed unless --only bm25")

    sides = ({"before": args.before.resolve()} if args.before else {}) | {"after": ROOT}
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    sides_info = {side: str(tree) for side, tree in sides.items()}
    sides_info["after"] = f"{ROOT} {head.strip() or '(not a git checkout)'}"
    results: dict = {"machine": machine(), "sides": sides_info, "index": str(args.index), "only": args.only,
                     "loadavg": []}
    measures = ("bm25",) if args.only == "bm25" else ("bm25", "hybrid", "app")
    cold: dict = {"import_numpy": []} | {f"{side}_{m}": [] for m in measures for side in sides}
    search = [sys.executable, "-m", "qa", "search", QUERY, "--top-k", "1", "--index", str(args.index)]
    for _ in range(args.rounds):
        results["loadavg"].append(os.getloadavg()[0])
        cold["import_numpy"].append(wall([sys.executable, "-c", "import numpy"], ROOT)[0])
        for side, tree in sides.items():
            cold[f"{side}_bm25"].append(wall(search + ["--mode", "bm25"], tree)[0])
        for side, tree in sides.items() if "hybrid" in measures else ():
            cold[f"{side}_hybrid"].append(wall(search, tree)[0])
        for side, tree in sides.items() if "app" in measures else ():
            cold[f"{side}_app"].append(app_ready(tree, args.index))
    results["loadavg"].append(os.getloadavg()[0])
    results["cold_s"] = {k: {"median": median(v), "all": [round(x, 2) for x in v]} for k, v in cold.items()}
    c = results["cold_s"]
    per_round = [round(b / n, 2) for b, n in zip(cold["after_bm25"], cold["import_numpy"])]
    ratios = {"bm25_after_over_import_numpy": round(c["after_bm25"]["median"] / c["import_numpy"]["median"], 2),
              "bm25_after_over_import_numpy_per_round": per_round}
    if "before" in sides:
        ratios["bm25_before_over_after"] = round(c["before_bm25"]["median"] / c["after_bm25"]["median"], 2)
    table = md_table(["cold start", "median s", "runs s"], [[k, v["median"], v["all"]] for k, v in c.items()])
    if args.only == "bm25":
        results["ratios"] = ratios
        table += "\n\n" + md_table(["ratio", "value"], [[k, v] for k, v in ratios.items()])
        table += f"\n\nload average (1 min) at each round and at the end: {[round(x, 2) for x in results['loadavg']]}"
        write_results(args.out, args.name, results, table)
        return 0

    dev = ROOT / "qa" / "data" / "dev_questions.jsonl"
    warm = {}
    for side, tree in sides.items():
        out = wall([sys.executable, "-c", WARM_ASK, str(dev), str(args.warm_repeat)], tree, QA_INDEX=str(args.index))[1]
        warm[side] = percentiles(json.loads(out.strip().splitlines()[-1]))
    results["warm_ask"] = warm

    corpora = {"seeds": ROOT / "corpus"}
    subset = None
    if args.ncp_docs:
        subset = Path(tempfile.mkdtemp(prefix="bench-ncp-"))
        for path in sorted(args.ncp.iterdir())[:args.ncp_docs]:
            shutil.copy(path, subset / path.name)
        corpora[f"ncp{args.ncp_docs}"] = subset
    builds: dict = {}
    try:
        for _ in range(args.build_rounds):
            for name, corpus in corpora.items():
                results["loadavg"].append(os.getloadavg()[0])
                for side, tree in sides.items():
                    builds.setdefault(f"{name}_{side}", []).append(build_rate(tree, corpus))
    finally:
        if subset:
            shutil.rmtree(subset, ignore_errors=True)
    results["builds"] = builds
    results["loadavg"].append(os.getloadavg()[0])

    best = {k: max(v, key=lambda r: r["chunks_per_s_wall"]) for k, v in builds.items()}
    ratios |= {
        "hybrid_before_over_after": round(c["before_hybrid"]["median"] / c["after_hybrid"]["median"], 2),
        "app_before_over_after": round(c["before_app"]["median"] / c["after_app"]["median"], 2),
        "warm_ask_p95_before_over_after": round(warm["before"]["p95_ms"] / warm["after"]["p95_ms"], 2),
    }
    for name in corpora:
        for measure in ("chunks_per_s_wall", "chunks_per_s_embed"):
            ratios[f"build_{name}_{measure}_after_over_before"] = round(
                best[f"{name}_after"][measure] / best[f"{name}_before"][measure], 2)
    results["ratios"] = ratios

    table += "\n\n" + md_table(["warm ask", "p50 ms", "p95 ms", "n"],
                               [[k, v["p50_ms"], v["p95_ms"], v["n"]] for k, v in warm.items()])
    table += "\n\n" + md_table(["build", "chunks", "wall s", "load s", "embed s", "chunks/s wall", "chunks/s embed"],
                               [[k, v["chunks"], v["wall_s"], v["load_s"], v["embed_s"], v["chunks_per_s_wall"],
                                 v["chunks_per_s_embed"]] for k, v in best.items()])
    table += "\n\n" + md_table(["ratio", "value"], [[k, v] for k, v in ratios.items()])
    table += f"\n\nload average (1 min) during the run: {[round(x, 2) for x in results['loadavg']]}"
    write_results(args.out, args.name, results, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
