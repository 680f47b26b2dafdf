"""Helpers shared by the benchmark scripts: timing, memory, output."""

from __future__ import annotations

import json
import os
import platform
import resource
import socket
import subprocess
import time
from pathlib import Path

import numpy as np


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"n": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p95_ms": round(float(np.percentile(ms, 95)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "mean_ms": round(float(ms.mean()), 3)}


def timed(fn, items, repeat: int = 1, warmup: int = 3) -> dict[str, float]:
    for item in list(items)[:warmup]:
        fn(item)
    seconds = []
    for _ in range(repeat):
        for item in items:
            start = time.perf_counter()
            fn(item)
            seconds.append(time.perf_counter() - start)
    return percentiles(seconds)


def rss_mb() -> float:
    """Current resident set size."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e6


def machine() -> dict:
    """Facts a figure needs beside it: which code, when, on what, under what load."""
    load = os.getloadavg()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent).stdout.strip()
    return {"commit": commit or None, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "cpus": os.cpu_count(), "gpu": False, "python": platform.python_version(),
            "platform": platform.platform(), "load_avg_1m_at_start": round(load[0], 2)}


def run_facts(facts: dict) -> str:
    """The line under a results table that says which code ran where and under what load."""
    end = f", {facts['load_avg_1m_at_end']} at end" if "load_avg_1m_at_end" in facts else ""
    return (f"commit {facts.get('commit')}, {facts.get('date')}, {facts.get('cpus')} CPUs, "
            f"load average (1 min) {facts.get('load_avg_1m_at_start')} at start{end}")


def write_results(out: Path, name: str, results: dict, table: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / f"{name}.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(f"\nwrote {out / (name + '.json')} and {out / (name + '.md')}")


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Ask a server process to end; kill it if it has not within ``timeout``."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with code {proc.returncode} before opening port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"app.py did not open port {port} within {timeout:.0f}s")
