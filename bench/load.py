#!/usr/bin/env python
"""Load test: N concurrent users ask dev-set questions of the running app
through ``gradio_client`` while one client adds a document through the corpus
tab's upload endpoint; afterwards the new document must be searchable.

Bounded in time (``--seconds``) and requests (``--max-requests``), loopback
only: it either starts ``app.py`` itself on a free 127.0.0.1 port, over temp
copies of a corpus and an index, or attaches to ``--url http://127.0.0.1:PORT``
(the server's corpus then gains the uploaded file).

    .venv/bin/python bench/load.py --users 20 --seconds 120 --json-out bench/results/load.json --md-out bench/results/load.md

``--replicas N --milvus-uri http://127.0.0.1:PORT`` starts N app.py processes
that share one Milvus index (``QA_BACKEND=milvus``, no local index) and one
corpus; users are spread over them, the upload goes through the first and
the new document must become searchable through the last (``visible_after_s``:
from the upload's end until the other process finds it).

Reports throughput, p50/p95/max latency, errors and the share of answers that
carry a citation marker, as JSON (stdout or ``--json-out``) and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import free_port, machine, run_facts, wait_for_port  # noqa: E402

QUESTIONS = ROOT / "qa" / "data" / "dev_questions.jsonl"
MARKER = re.compile(r"\[\d+\]")
#: the report uploaded midway; its distinctive sentence must be found afterwards
NEW_DOC_NAME = "负载测试新增报告 2025.txt"
NEW_DOC_PHRASE = "全县新建智慧体育公园示范校47所"
NEW_DOC = f"""县教育局2025年体育工作总结

一、主要工作
(一)推进体育场地建设。{NEW_DOC_PHRASE},配备电子计时跑道和智能体测设备,学生每天校内体育活动时间不少于一小时。
(二)开展校园联赛。组织中小学生篮球、排球、田径联赛,参赛学生达6800人次。
二、下一步打算
继续完善学校体育评价办法,把体质健康监测结果纳入学校年度考核。
"""


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def start_apps(corpus: Path, index: Path | None, workdir: Path, timeout: float, replicas: int = 1,
               milvus: dict[str, str] | None = None) -> list[tuple[str, subprocess.Popen, Path]]:
    """``replicas`` app.py processes over a temp copy of ``corpus`` and either
    a temp copy of ``index`` (built when missing) or the Milvus index of
    ``milvus`` (``QA_*`` variables; brought up to date with the corpus first)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **(milvus or {})}
    work_corpus, work_index = workdir / "corpus", workdir / "index"
    shutil.copytree(corpus, work_corpus)
    if index is not None and not milvus and (index / "current").exists():
        shutil.copytree(index, work_index, symlinks=True)
    print(f"building/refreshing the index ({'Milvus' if milvus else work_index}) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "qa", "build", "--corpus", str(work_corpus), "--index", str(work_index),
                    "--json"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    apps = []
    for n in range(replicas):
        port = free_port()
        app_env = {**env, "QA_CORPUS": str(work_corpus), "QA_INDEX": str(work_index),
                   "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
        app_env.pop("QA_AUTH", None)
        log = workdir / f"server-{n}.log"
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=app_env,
                                stdout=log.open("w"), stderr=subprocess.STDOUT)
        apps.append((f"http://127.0.0.1:{port}/", proc, log))
    for url, proc, _ in apps:
        wait_for_port(int(url.rstrip("/").rsplit(":", 1)[1]), proc, timeout)
    return apps


def load_questions(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            if isinstance(obj, dict) and obj.get("question"):
                out.append(obj["question"])
    return out


class Budget:
    """Shared request budget and deadline."""

    def __init__(self, seconds: float, max_requests: int):
        self.deadline = time.monotonic() + seconds
        self.left = max_requests
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True


#: seconds an HTTP read may take (gradio_client's default is 20 s); set by --timeout
TIMEOUT = 120.0


def connect(url: str, attempts: int = 3):
    """A gradio_client Client (loopback, no analytics), retried a few times:
    fetching the app config can time out while the CPUs are saturated."""
    from gradio_client import Client

    for attempt in range(attempts):
        try:
            return Client(url, verbose=False, analytics_enabled=False, httpx_kwargs={"timeout": TIMEOUT})
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(1 + attempt)


def user(uid: int, url: str, questions: list[str], budget: Budget, records: list, lock: threading.Lock) -> None:
    rnd = random.Random(uid)
    try:
        client = connect(url)
    except Exception as exc:  # cannot even connect: one error for this user
        with lock:
            records.append({"user": uid, "ok": False, "error": f"connect: {type(exc).__name__}: {exc}",
                            "latency": 0.0, "t": time.monotonic()})
        return
    while budget.take():
        question = rnd.choice(questions)
        started = time.monotonic()
        try:
            answer_md, sources = client.predict(question, [], api_name="/ask")
            record = {"ok": True, "cited": bool(MARKER.search(answer_md or "")),
                      "sources": bool((sources or "").strip())}
        except Exception as exc:
            record = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        record.update(user=uid, question=question, latency=time.monotonic() - started, t=started)
        with lock:
            records.append(record)


def uploader(url: str, delay: float, workdir: Path, result: dict, reader: str | None = None) -> None:
    from gradio_client import handle_file

    time.sleep(delay)
    path = workdir / "upload" / NEW_DOC_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(NEW_DOC, encoding="utf-8")
    started = time.monotonic()
    result["started_s"] = round(delay, 1)
    try:
        client = connect(url)
        out = client.predict([handle_file(str(path))], None, api_name="/upload")  # (outcomes, summary, ...)
        result.update(ok=True, summary=str(out[1])[:500], outcomes=out[0])
    except Exception as exc:
        result.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
    result["seconds"] = round(time.monotonic() - started, 2)
    if reader and result["ok"]:  # another app process: how long until it finds the upload
        done = time.monotonic()
        while time.monotonic() - done < 60 and not verify_new_document(reader)["searchable"]:
            time.sleep(0.2)
        result["visible_after_s"] = round(time.monotonic() - done, 2)


def verify_new_document(url: str) -> dict:
    client = connect(url)
    hits = client.predict(query=f"{NEW_DOC_PHRASE}吗？", top_k=5, api_name="/search")
    found = [h for h in hits if NEW_DOC_PHRASE in h.get("text", "")]
    return {"searchable": bool(found), "rank": found[0]["rank"] if found else None,
            "source": found[0]["source"] if found else None}


def summarize(records: list, wall: float, users: int, upload: dict, check: dict, replicas: int = 1,
              facts: dict | None = None) -> dict:
    ok = [r for r in records if r["ok"]]
    lat = [r["latency"] for r in ok]
    errors = [r for r in records if not r["ok"]]
    return {
        "users": users,
        "replicas": replicas,
        "timeout_s": TIMEOUT,
        "seconds": round(wall, 1),
        "requests": len(records),
        "ok": len(ok),
        "errors": len(errors),
        "error_kinds": {k: sum(1 for e in errors if e["error"].split(":")[0] == k)
                        for k in sorted({e["error"].split(":")[0] for e in errors})},
        "error_samples": sorted({e["error"] for e in errors})[:5],
        "throughput_rps": round(len(ok) / wall, 3) if wall else 0.0,
        "latency_p50_s": round(percentile(lat, 0.50), 3),
        "latency_p95_s": round(percentile(lat, 0.95), 3),
        "latency_max_s": round(max(lat), 3) if lat else None,
        "latency_mean_s": round(statistics.fmean(lat), 3) if lat else None,
        "cited_pct": round(100 * sum(r["cited"] for r in ok) / len(ok), 1) if ok else 0.0,
        "upload": upload,
        "new_document": check,
        "machine": {**(facts or {}), "load_avg_1m_at_end": round(os.getloadavg()[0], 2)},
    }


def markdown(s: dict) -> str:
    rows = [
        ("concurrent users", s["users"]), ("app processes", s.get("replicas", 1)), ("duration (s)", s["seconds"]), ("requests", s["requests"]),
        ("errors", s["errors"]), ("throughput (answers/s)", s["throughput_rps"]),
        ("latency p50 (s)", s["latency_p50_s"]), ("latency p95 (s)", s["latency_p95_s"]),
        ("latency max (s)", s["latency_max_s"]), ("answers with a citation marker", f"{s['cited_pct']}%"),
        ("upload during the run", f"{'ok' if s['upload'].get('ok') else 'FAILED'} in {s['upload'].get('seconds')} s"),
        ("new document searchable", f"{s['new_document'].get('searchable')} (rank {s['new_document'].get('rank')})"),
        ("visible through another process after (s)", s["upload"].get("visible_after_s", "–")),
    ]
    facts = "\n" + run_facts(s.get("machine", {})) + "\n"
    return "| metric | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows) + "\n" + facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument("--seconds", type=float, default=120, help="duration of the run (default 120)")
    parser.add_argument("--max-requests", type=int, default=5000, help="stop after this many questions (default 5000)")
    parser.add_argument("--url", help="attach to a running app at http://127.0.0.1:PORT instead of starting one")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="corpus to copy (default corpus/)")
    parser.add_argument("--index", type=Path, default=ROOT / "index",
                        help="index to copy, refreshed with `qa build` (default index/; built when missing)")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="JSONL questions (default: dev set)")
    parser.add_argument("--upload-at", type=float, help="seconds into the run to upload (default: halfway)")
    parser.add_argument("--timeout", type=float, default=120, help="HTTP read timeout per request (default 120 s)")
    parser.add_argument("--startup-timeout", type=float, default=600)
    parser.add_argument("--replicas", type=int, default=1, help="app processes on one Milvus index (needs --milvus-uri)")
    parser.add_argument("--milvus-uri", help="serve from this Milvus (loopback http://127.0.0.1:PORT)")
    parser.add_argument("--milvus-collection", default="policy_qa", help="its alias (default policy_qa)")
    parser.add_argument("--json-out", type=Path, help="also write the JSON summary here")
    parser.add_argument("--md-out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    if args.users < 1 or args.seconds <= 0 or args.max_requests < 1:
        parser.error("--users, --seconds and --max-requests must be positive")
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be a loopback address (http://127.0.0.1:PORT)")
    if args.replicas > 1 and not args.milvus_uri:
        parser.error("--replicas N needs --milvus-uri: app processes share a Milvus index")
    if args.milvus_uri and urlparse(args.milvus_uri).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--milvus-uri must be a loopback address (http://127.0.0.1:PORT)")

    global TIMEOUT
    TIMEOUT = args.timeout
    facts = machine()
    questions = load_questions(args.questions)
    workdir = Path(tempfile.mkdtemp(prefix="qa-load-"))
    apps: list = []
    try:
        if args.url:
            urls = [args.url if args.url.endswith("/") else args.url + "/"]
        else:
            index = args.index if args.index and args.index.exists() else None
            milvus = {"QA_BACKEND": "milvus", "QA_MILVUS_URI": args.milvus_uri,
                      "QA_MILVUS_COLLECTION": args.milvus_collection} if args.milvus_uri else None
            apps = start_apps(args.corpus, index, workdir, args.startup_timeout, args.replicas, milvus)
            urls = [url for url, _, _ in apps]
            print(f"app.py at {', '.join(urls)} (logs in {workdir})", file=sys.stderr)
        url = urls[0]
        records: list = []
        lock = threading.Lock()
        budget = Budget(args.seconds, args.max_requests)
        upload: dict = {}
        started = time.monotonic()
        threads = [threading.Thread(target=user, args=(i, urls[i % len(urls)], questions, budget, records, lock),
                                    daemon=True) for i in range(args.users)]
        threads.append(threading.Thread(target=uploader, daemon=True, args=(
            url, args.upload_at if args.upload_at is not None else args.seconds / 2, workdir, upload,
            urls[-1] if len(urls) > 1 else None)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=args.seconds + 600)
        wall = time.monotonic() - started
        check = verify_new_document(urls[-1])
        summary = summarize(records, wall, args.users, upload, check, len(urls), facts)
    finally:
        for _, proc, _ in apps:
            proc.terminate()
        for _, proc, _ in apps:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        failed = "summary" not in locals() or summary["errors"] or not summary["new_document"]["searchable"]
        if args.url is None and not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.url is None:
            print(f"kept {workdir} (server.log) for inspection", file=sys.stderr)
    table = markdown(summary)
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    print(table)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.md_out:
        args.md_out.parent.mkdir(parents=True, exist_ok=True)
        args.md_out.write_text(table, encoding="utf-8")
    ok = summary["errors"] == 0 and summary["cited_pct"] == 100.0 and check["searchable"] and upload.get("ok")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
