"""Shared pytest fixtures."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.settings import Settings

ROOT = APP_ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"
#: what the package ships: the dev question sets the app evaluates by default
QA_DATA = ROOT / "qa" / "data"
#: the fusion arguments the Searcher hands an index backend (Settings' defaults)
FUSION = {"dense_weight": Settings().dense_weight, "rrf_k": Settings().rrf_k}
os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: a report whose passage holds markup; the UI must show it as text
APP_XSS_NAME = "xss_safety_report.txt"
APP_XSS_TEXT = """网络安全演练总结报告

一、演练基本情况
本次网络安全演练共发现两类攻击样本，第一类样本为<script>alert(1)</script>，第二类样本为<img src=x onerror=alert(1)>，均已被系统拦截并记录在案。
二、下一步工作
继续加强校园网络安全防护，定期开展网络安全演练。
"""


def readme_fields(interface: str) -> tuple[set[str], set[str]]:
    """The fields README's "Command line" section documents for a ``--json``
    interface (``- `search --json`: `{"query", "results": [{"rank", …}]}` ``):
    (the outer object's names, the inner list's object's names)."""
    import re

    line = next(line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                if line.startswith(f"- `{interface}`:"))
    shape = line.split("`")[3]
    inner = shape[shape.index("[{"):shape.index("}]") + 2]
    names = lambda text: set(re.findall(r'"(\w+)"', text))  # noqa: E731
    return names(shape.replace(inner, "")), names(inner)


def _app_free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(ready, proc: subprocess.Popen, what: str, timeout: float, interval: float) -> None:
    """Poll ``ready()`` (any error means "not yet") until it holds; fail when
    the server process exits first or ``timeout`` passes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        try:
            ready()
            return
        except Exception:
            time.sleep(interval)
    raise TimeoutError(f"{what} did not answer within {timeout}s")


def _port_open(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def _stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Ask a server this session started to end; kill it if it has not within ``timeout``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _app_wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    _wait_until_serving(lambda: _port_open(port), proc, f"app.py on port {port}", timeout, 0.5)


@pytest.fixture(scope="session")
def app_workdir(tmp_path_factory, built_index) -> Path:
    """A temp copy of the corpus plus the markup report, and its index: a
    copy of the session's seed index updated by an incremental build, as
    the app's upload does (only the new report is embedded; test_build.py
    checks that an incremental build equals a full one)."""
    from qa.index.build import build
    from qa.settings import Settings

    root = tmp_path_factory.mktemp("app")
    corpus = root / "corpus"
    shutil.copytree(built_index[0].corpus, corpus)
    shutil.copytree(built_index[0].index, root / "index", symlinks=True)
    (corpus / APP_XSS_NAME).write_text(APP_XSS_TEXT, encoding="utf-8")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = Settings.from_env(corpus=corpus, index=root / "index")
    report = build(settings)
    assert report.added == [APP_XSS_NAME] and report.embedded <= 2 and report.documents >= 6, report
    return root


@contextlib.contextmanager
def _app_serve(workdir: Path, log_name: str, **extra_env: str):
    """Run ``app.py`` as a real subprocess on a free port over ``workdir``'s
    corpus and index; yields its URL. Output goes to ``workdir/log_name``."""
    port = _app_free_port()
    env = {
        **os.environ,
        "QA_CORPUS": str(workdir / "corpus"),
        "QA_INDEX": str(workdir / "index"),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "QA_MAX_UPLOAD_MB": "1",
    }
    for name in ("QA_AUTH", "QA_LLM_BASE_URL", "QA_LLM_MODEL", "OPENAI_BASE_URL"):
        env.pop(name, None)
    env.update(extra_env)
    log = open(workdir / log_name, "w")
    proc = subprocess.Popen([sys.executable, str(APP_ROOT / "app.py")], cwd=APP_ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        _app_wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="session")
def app_server(app_workdir):
    """``app.py`` running as a real subprocess on a free port; yields its URL."""
    with _app_serve(app_workdir, "server.log") as url:
        yield url


#: the browser the UI tests drive (``make test`` installs it)
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def app_browser():
    """One headless Chromium for the session's browser tests (playwright)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


#: the login the password-protected server uses (must never show up in its logs)
APP_AUTH = ("planner", "Pw-7f3kq9-notpublic")


@pytest.fixture()
def app_auth_server(app_workdir):
    """A second ``app.py`` with ``QA_AUTH`` set; yields (URL, path of its log)."""
    with _app_serve(app_workdir, "server-auth.log", QA_AUTH=":".join(APP_AUTH)) as url:
        yield url, app_workdir / "server-auth.log"


@pytest.fixture(scope="session")
def app_ui(app_workdir):
    """``qa.ui`` (one module per tab) initialised in this process on the app's corpus and index."""
    import qa.ui
    from qa.settings import Settings
    from qa.ui import chat, corpus, drafting, evaluation, search, state  # noqa: F401 - attributes of qa.ui

    settings = Settings.from_env(corpus=app_workdir / "corpus", index=app_workdir / "index")
    state.init(dataclasses.replace(settings, llm_base_url=None, llm_model=None))  # the extractive path
    return qa.ui


@pytest.fixture(scope="session")
def built_index(tmp_path_factory):
    """(settings, report) of an index built once from a private copy of the seeds
    (real model, real index; tests never touch the checkout's index/)."""
    return _build_copy(tmp_path_factory, "seed", SEED_CORPUS)


def _build_copy(tmp_path_factory, name: str, source: Path):
    """(settings, report) of an index built once from a private copy of ``source``."""
    from qa.index.build import build

    base = tmp_path_factory.mktemp(name)
    shutil.copytree(source, base / "corpus")
    settings = Settings.from_env(corpus=base / "corpus", index=base / "index")
    return settings, build(settings)


#: 100 NCP documents and the 102 dev questions asked of them (bench/ncp_sample.py, tests/data/README.md)
NCP_SAMPLE = DATA / "ncp_sample"
#: 12 government work reports and the 15 questions of gov_questions.jsonl asked of them (bench/gov_sample.py)
GOV_ASKED = DATA / "gov_asked"


@pytest.fixture(scope="session")
def ncp_sample_index(tmp_path_factory):
    """(settings, report): the NCP sample, built once for the session (the quality gates read it)."""
    return _build_copy(tmp_path_factory, "ncp-sample", NCP_SAMPLE / "corpus")


@pytest.fixture(scope="session")
def gov_asked_index(tmp_path_factory):
    """(settings, report): the 12 government reports, with years (gates, year filters, ``draft --before-year``)."""
    return _build_copy(tmp_path_factory, "gov-asked", GOV_ASKED)


@pytest.fixture(scope="session")
def gov_reports_index(tmp_path_factory):
    """(settings, report): the 8 government reports of ``tests/data/gov_reports`` (the multi-report questions)."""
    return _build_copy(tmp_path_factory, "gov8", DATA / "gov_reports")


@pytest.fixture(scope="session")
def searcher(built_index):
    from qa.answer import sentence_scorer
    from qa.search.searcher import Searcher

    return Searcher(built_index[0], sentence_scorer(built_index[0]))


@pytest.fixture(scope="session")
def assistant(searcher):
    from qa.answer.assistant import Assistant

    return Assistant(searcher.settings, searcher)


def _wait_for_milvus(uri: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    """Until the server answers a real call (its port opens before it serves)."""
    from pymilvus import MilvusClient

    def ready() -> None:
        _port_open(int(uri.rsplit(":", 1)[1]))
        client = MilvusClient(uri=uri, timeout=5)
        client.list_collections()
        client.close()

    _wait_until_serving(ready, proc, f"milvus-lite server on {uri}", timeout, 0.2)


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory):
    """A real Milvus gRPC endpoint: ``milvus-lite server`` on a free loopback
    port over a temp data dir, stopped by its own pid; yields its URI."""
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    base = tmp_path_factory.mktemp("milvus-server")
    port = _app_free_port()
    log = open(base / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(base / "data"),
                             "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_for_milvus(uri, proc)
        yield uri
    finally:
        _stop(proc)
        log.close()


def tmp_versions(index: Path) -> list[Path]:
    """Versions a build is writing (or a killed build left) in an index directory."""
    return [p for p in index.iterdir() if p.name.startswith(".tmp-")]


def kill_process_when(cmd: list[str], check, timeout: float = 600, env: dict | None = None,
                      interval: float = 0.0005, transient: tuple = (OSError,)) -> str:
    """Start ``cmd`` and SIGKILL it the moment ``check()`` holds; returns
    "killed", or "finished" when it ended first (successfully). ``check``
    reads the moment off what the process writes, never off a sleep; errors
    of the ``transient`` kinds (a directory or collection vanishing between
    listing and looking) count as "not yet"."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if check():
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    return "killed"
            except transient:
                pass
            time.sleep(interval)
        assert proc.poll() is not None, "build did not finish"
        assert proc.returncode == 0
        return "finished"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def kill_build_when(cmd: list[str], index: Path, condition, timeout: float = 600) -> str:
    """Kill the build ``cmd`` the moment ``condition(index, leftovers)`` holds
    (``leftovers``: the ``.tmp-*`` directories there before it started)."""
    leftovers = set(tmp_versions(index)) if index.is_dir() else set()
    return kill_process_when(cmd, lambda: condition(index, leftovers), timeout)


#: replaces a step by a SIGKILL of the process (for ``run_killed_at``): the kill lands exactly there
DIE = "import os, signal\n\ndef _die(*args, **kwargs):\n    os.kill(os.getpid(), signal.SIGKILL)\n"


def run_killed_at(patch: str, qa_args: list[str], env: dict | None = None, timeout: float = 900) -> int:
    """Run ``python -m qa QA_ARGS`` in a real process after ``patch`` (Python
    code that uses ``_die`` from ``DIE``) has replaced one step of it by a
    SIGKILL of that process; returns its exit code (``-SIGKILL`` when the step
    was reached). For the last window of a build (a rename, an alias switch),
    a few microseconds wide: a poller (``kill_process_when``) lands in it only
    by luck, this lands in it every time, and everything else is real."""
    code = DIE + patch + "\nimport sys\nfrom qa.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    done = subprocess.run([sys.executable, "-c", code, *qa_args], cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **(env or {})},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=timeout)
    assert done.returncode in (0, -signal.SIGKILL), done.stderr[-3000:]
    return done.returncode
