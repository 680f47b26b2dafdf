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
    line = edited.splitlines().index("<!-- results: bench/results/retrieval.md -->") + 1
    assert problems(tmp_path) == [f"README.md:{line}: the table differs from bench/results/retrieval.md "
                                  "(copy it again from there: python bench/docs_check.py --write)"]
    # --write copies the table again, and nothing else changes
    assert problems(tmp_path, write=True) == [] and problems(tmp_path) == []
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == readme


def _doc_citing(tmp_path, marker: str, table: list[str]) -> list[str]:
    (tmp_path / "docs").mkdir(exist_ok=True)
    (tmp_path / "docs" / "x.md").write_text("\n".join(["# x", "", marker, *table, "", "text"]) + "\n", encoding="utf-8")
    return problems(tmp_path)


def test_a_numbered_table_after_a_facts_line_is_checked(tmp_path):
    (tmp_path / "bench" / "results").mkdir(parents=True)
    first, second = ["| a | b |", "|---|---|", "| 1 | 2 |"], ["| c |", "|---|", "| 3.5 |"]
    (tmp_path / "bench" / "results" / "run.md").write_text(
        "\n".join(["commit abc, load 1.2", "", *first, "", *second, "", "load at end 1.4"]) + "\n", encoding="utf-8")
    assert _doc_citing(tmp_path, "<!-- results: bench/results/run.md -->", first) == []
    assert _doc_citing(tmp_path, "<!-- results: bench/results/run.md#2 -->", second) == []
    assert _doc_citing(tmp_path, "<!-- results: bench/results/run.md#2 -->", ["| c |", "|---|", "| 3.6 |"]) == [
        "docs/x.md:3: the table differs from bench/results/run.md#2 "
        "(copy it again from there: python bench/docs_check.py --write)"]
    assert _doc_citing(tmp_path, "<!-- results: bench/results/run.md#3 -->", second) == [
        "docs/x.md:3: cites table 3 of bench/results/run.md, which holds 2"]
    assert _doc_citing(tmp_path, "<!-- results: bench/results/gone.md -->", second) == [
        "docs/x.md:3: cites bench/results/gone.md, which is not committed"]
