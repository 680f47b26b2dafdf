"""The 评测 tab on the development set, timed through the app's own endpoint.

    git archive main | tar -x -C /tmp/before      # the code before, for comparison
    python bench/bench_eval_tab.py --index index --before /tmp/before --out bench/results

Every round starts a fresh ``app.py`` (this checkout, then ``--before``) on
temp copies of ``corpus/`` and ``--index``, and calls ``/evaluate`` with no
upload (the development set), hybrid, top-k 10, as the tab's button does:

* ``first``: the moment the port answers (the metric kernels may still be
  compiling in the start-up warm-up: the worst case a user can meet);
* ``again``: a second run in the same process;
* ``after idle``: in a second fresh process, the first run ``--idle`` seconds
  after the port opened (a user who opens the page and then clicks).

With this checkout the tab scores answers too (28 + 10 questions); the
``--before`` code scores retrieval on the 28 only. Seconds are wall time at
the client; the load average is recorded with each round.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import free_port, machine, md_table, run_facts, stop, wait_for_port, write_results  # noqa: E402


def evaluate(client) -> tuple[float, int]:
    """Seconds of one /evaluate call with the tab's defaults, and how many inputs the endpoint takes."""
    params = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/evaluate"]["parameters"]
    args = [None, ["hybrid"], 10] + ([True] if len(params) > 3 else [])
    started = time.perf_counter()
    client.predict(*args, api_name="/evaluate")
    return time.perf_counter() - started, len(params)


def one_round(tree: Path, index: Path, work: Path, idle: float) -> dict:
    """Two fresh app processes: evaluate at once and again; evaluate after ``idle`` seconds."""
    busy = one_process(tree, index, work, 0.0)
    rested = one_process(tree, index, work, idle)
    return {**busy, "idle_s": idle, "after_idle_s": rested["first_s"], "load_1m_idle": rested["load_1m"]}


def one_process(tree: Path, index: Path, work: Path, idle: float) -> dict:
    from gradio_client import Client

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(ROOT / "corpus", work / "corpus")
    shutil.copytree(index, work / "index", symlinks=True)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "QA_CORPUS": str(work / "corpus"),
           "QA_INDEX": str(work / "index"), "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(work / "app.log", "w")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(tree / "app.py")], cwd=tree, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, 300)
        port_s = time.perf_counter() - started
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        time.sleep(idle)
        load = os.getloadavg()[0]
        first, inputs = evaluate(client)
        again, _ = evaluate(client)
    finally:
        stop(proc)
        log.close()
    return {"port_s": round(port_s, 1), "first_s": round(first, 1), "again_s": round(again, 1),
            "answers": inputs > 3, "load_1m": round(load, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="a built index of corpus/ (copied)")
    parser.add_argument("--before", type=Path, help="another checkout to time the same way")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds before the 'after idle' evaluation")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="eval-tab")
    args = parser.parse_args()
    facts = machine()
    trees = [("after", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    rounds: dict[str, list[dict]] = {name: [] for name, _ in trees}
    with tempfile.TemporaryDirectory(prefix="bench-eval-tab-") as tmp:
        for i in range(args.rounds):  # alternate, so a busy machine slows both alike
            for name, tree in trees:
                rounds[name].append(one_round(tree, args.index.resolve(), Path(tmp) / name, args.idle))
                print(name, i, rounds[name][-1], flush=True)
    facts["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    rows = [[name, "retrieval + answers (28 + 10)" if r["answers"] else "retrieval (28)", i + 1, r["port_s"],
             r["first_s"], r["again_s"], r["after_idle_s"], r["load_1m"]]
            for name, runs in rounds.items() for i, r in enumerate(runs)]
    table = md_table(["code", "scores", "round", "port open s", "first evaluation s", "second s",
                      f"first after {args.idle:g} s idle s", "load (1 min)"], rows) + "\n\n" + run_facts(facts)
    write_results(args.out, args.name, {"facts": facts, "rounds": rounds}, table)


if __name__ == "__main__":
    main()
