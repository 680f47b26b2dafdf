"""Issue 18: the README's quality table is the committed benchmark output it cites."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from docs_check import problems  # noqa: E402


def test_cited_tables_equal_their_results():
    assert problems() == []


def test_an_edited_figure_is_caught(tmp_path):
    (tmp_path / "bench" / "results").mkdir(parents=True)
    shutil.copy(ROOT / "bench" / "results" / "retrieval.md", tmp_path / "bench" / "results" / "retrieval.md")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = (ROOT / "bench" / "results" / "retrieval.md").read_text(encoding="utf-8").splitlines()
    row = next(line for line in table if "| hybrid |" in line)
    figure = row.split("|")[3].strip()
    edited = readme.replace(row, row.replace(figure, "0.999"), 1)
    assert edited != readme
    (tmp_path / "README.md").write_text(edited, encoding="utf-8")
    assert problems(tmp_path) == ["README.md:%d: the table differs from bench/results/retrieval.md (copy it again from there)"
                                  % (edited.splitlines().index("<!-- results: bench/results/retrieval.md -->") + 1)]
