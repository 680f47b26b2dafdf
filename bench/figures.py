#!/usr/bin/env python
"""Regenerate the quality results from today's code (``make figures``, issue 27).

Builds a fresh index of every corpus a results file needs (in ``--work``,
never in the checkout), measures every set of ``bench/quality.py`` (retrieval,
answers, drafting) and rewrites ``bench/results/NAME.{json,md}``; with the
data beside the checkout (``../shared``) also the NCP dev set and the 72
government reports, and the Milvus parity runs (``bench/milvus_parity.py``
against a ``milvus-lite server`` this script starts and stops).

    python bench/figures.py                 # everything (make figures)
    python bench/figures.py --in-repo --no-run-facts   # the seeds and in-repo sets only (CI: .ci/run)

The results files hold no date, commit or load, so the same code on the same
data rewrites them byte for byte: ``.ci/run`` runs the second form after
``make test`` and fails when ``git status`` shows a changed figure. Run facts
(commit, date, machine, load, seconds) go to ``NAME.run.json`` unless
``--no-run-facts``. Then ``make docs-check`` says which docs table to copy again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import quality  # noqa: E402
from common import machine  # noqa: E402


def _missing(names: list[str]) -> list[str]:
    """External data a full run needs and this machine lacks."""
    needed = {s.corpus for n in names for s in quality.ALL[n] if not s.in_repo}
    missing = [quality.CORPORA[c].path for c in sorted(needed) if not quality.CORPORA[c].folder.is_dir()]
    files = {f for n in names for s in quality.ALL[n] if not s.in_repo
             for f in getattr(s, "questions", ()) + getattr(s, "unanswerable", ()) if f.startswith("..")}
    return missing + sorted(f for f in files if not (ROOT / f).is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--in-repo", action="store_true",
                        help="only the sets whose corpus and questions are in the repository (what CI regenerates)")
    parser.add_argument("--only", nargs="+", choices=sorted(quality.ALL), help="only these results files")
    parser.add_argument("--no-parity", action="store_true", help="skip the Milvus parity runs")
    parser.add_argument("--no-run-facts", action="store_true", help="do not write NAME.run.json")
    parser.add_argument("--work", type=Path, default=Path("/tmp/policy-qa-figures"),
                        help="indexes and raw runs (rebuilt from scratch)")
    args = parser.parse_args(argv)
    names = args.only or list(quality.ALL)
    if not args.in_repo and (missing := _missing(names)):
        print("error: a full run needs " + ", ".join(missing) + " (use --in-repo for the sets in the repository)",
              file=sys.stderr)
        return 2
    command = "make figures (python bench/figures.py; CI: --in-repo, the sets in the repository)"
    plan = {n: [s for s in quality.ALL[n] if s.in_repo or not args.in_repo] for n in names}
    corpora = sorted({s.corpus for sets in plan.values() for s in sets})
    if args.work.exists():
        shutil.rmtree(args.work)
    indexes = {}
    for name in corpora:
        started = time.perf_counter()
        indexes[name] = quality.build_index(quality.CORPORA[name], args.work / name / "index")
        print(f"built {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    chunks = {}
    for name, sets in plan.items():
        facts, started = machine(), time.perf_counter()
        measured = {}
        for s in sets:
            print(f"{name}: {s.name}", file=sys.stderr)
            work = args.work / "runs" / name
            if name in quality.RETRIEVAL:
                measured[s.name] = quality.retrieval_figures(s, indexes[s.corpus], work)
            elif name in quality.ANSWERS:
                if s.corpus not in chunks:
                    chunks[s.corpus] = quality.corpus_chunks(quality.CORPORA[s.corpus], args.work / "runs")
                measured[s.name] = quality.answer_figures(s, indexes[s.corpus], work, chunks[s.corpus])
            elif name in quality.MULTI:
                measured[s.name] = quality.multi_figures(s, indexes[s.corpus], work)
            else:
                measured[s.name] = quality.drafting_figures(s, indexes[s.corpus])
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "qa", "app.py", "bench"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        facts.update(seconds=round(time.perf_counter() - started, 1), load_avg_1m_at_end=round(os.getloadavg()[0], 2),
                     command=command, uncommitted_changes=bool(dirty))
        path = quality.save(name, measured, command, None if args.no_run_facts else facts)
        print(f"wrote {path.relative_to(ROOT)} and its .md", file=sys.stderr)
    if not (args.in_repo or args.no_parity or args.only):
        parity(args.work, indexes, not args.no_run_facts)
    return 0


def parity(work: Path, indexes: dict[str, Path], facts: bool) -> None:
    """The Milvus parity runs of docs/scale.md: the seeds (dev, own, dev
    unanswerable) and the NCP dev set, each built into a served Milvus
    through ``qa build --backend milvus`` and compared with the local index."""
    from common import free_port, stop

    port = free_port()
    data = work / "milvus"
    data.mkdir(parents=True, exist_ok=True)
    log = (work / "milvus.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--host",
                               "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait(uri, server)
        runs = [
            ("seeds", "seeds", ["--sets", quality.DEV, quality.OWN, "--answer-sets", quality.DEV_NONE],
             "bench/results/milvus-parity"),
            ("ncp", "ncp", ["--sets", quality.NCP_DEV, "--doc-match", "--gzip"], "bench/results/milvus-parity/ncp"),
        ]
        for collection, corpus, sets, out in runs:
            subprocess.run([sys.executable, "-m", "qa", "build", "--corpus", str(quality.CORPORA[corpus].folder),
                            "--index", str(work / corpus / "milvus-lock"), "--backend", "milvus", "--milvus-uri", uri,
                            "--milvus-collection", collection], check=True, cwd=ROOT)
            subprocess.run([sys.executable, "bench/milvus_parity.py", "--index", str(indexes[corpus]),
                            "--milvus-uri", uri, "--milvus-collection", collection, *sets,
                            "--score", str(quality.SCORE), "--score-answers", str(quality.SCORE_ANSWERS),
                            "--out", out, *([] if facts else ["--no-run-facts"])], check=True, cwd=ROOT)
    finally:
        stop(server)
        log.close()


def _wait(uri: str, server: subprocess.Popen, timeout: float = 300) -> None:
    from pymilvus import MilvusClient

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"milvus-lite server exited with {server.returncode}")
        try:
            MilvusClient(uri=uri, timeout=5).list_collections()
            return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"milvus-lite server on {uri} did not answer within {timeout} s")


if __name__ == "__main__":
    sys.exit(main())
