"""Shared pytest fixtures."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = APP_ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: a report whose passage holds markup; the UI must show it as text
APP_XSS_NAME = "xss_safety_report.txt"
APP_XSS_TEXT = """网络安全演练总结报告

一、演练基本情况
本次网络安全演练共发现两类攻击样本，第一类样本为<script>alert(1)</script>，第二类样本为<img src=x onerror=alert(1)>，均已被系统拦截并记录在案。
二、下一步工作
继续加强校园网络安全防护，定期开展网络安全演练。
"""


def _app_free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app_wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"app.py did not open port {port} within {timeout}s")


@pytest.fixture(scope="session")
def app_workdir(tmp_path_factory) -> Path:
    """A temp copy of the corpus (plus the markup report) and an index built from it."""
    from qa.build import build
    from qa.settings import Settings

    root = tmp_path_factory.mktemp("app")
    corpus = root / "corpus"
    shutil.copytree(APP_ROOT / "corpus", corpus)
    (corpus / APP_XSS_NAME).write_text(APP_XSS_TEXT, encoding="utf-8")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = Settings.from_env(corpus=corpus, index=root / "index")
    report = build(settings)
    assert report.documents >= 6, report
    return root


@pytest.fixture(scope="session")
def app_server(app_workdir):
    """``app.py`` running as a real subprocess on a free port; yields its URL."""
    port = _app_free_port()
    env = {
        **os.environ,
        "QA_CORPUS": str(app_workdir / "corpus"),
        "QA_INDEX": str(app_workdir / "index"),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "QA_MAX_UPLOAD_MB": "1",
    }
    env.pop("QA_AUTH", None)
    log = open(app_workdir / "server.log", "w")
    proc = subprocess.Popen([sys.executable, str(APP_ROOT / "app.py")], cwd=APP_ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        _app_wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def built_index(tmp_path_factory):
    """(settings, report) of an index built once from a private copy of the seeds
    (real model, real index; tests never touch the checkout's index/)."""
    from qa.build import build
    from qa.settings import Settings

    base = tmp_path_factory.mktemp("seed")
    corpus = base / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    settings = Settings.from_env(corpus=corpus, index=base / "index")
    return settings, build(settings)


@pytest.fixture(scope="session")
def searcher(built_index):
    from qa.retrieval import Searcher

    return Searcher(built_index[0])


@pytest.fixture(scope="session")
def assistant(searcher):
    from qa.answers import Assistant

    return Assistant(searcher.settings, searcher)
