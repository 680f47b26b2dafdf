"""Fail when a table in the docs differs from the committed run it cites.

A cited table is marked in Markdown by a comment naming the results file,
directly followed by the table:

    <!-- results: bench/results/retrieval.md -->
    | set | pipeline | R@5 | MRR@10 |
    ...

The table must equal that file's first table line for line (a results file
may open with a line of run facts). A file holding several tables is cited
with the table's number, counted from 1: ``bench/results/startup-quiet.md#3``.
Every table in README.md and docs/*.md that is backed verbatim by a results
file carries such a marker; the others name their command and results file
in the text (docs/figures.md lists them all). Run by ``make docs-check`` and
by ``tests/test_docs_check.py``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"<!-- results: ([^\s#]+)(?:#(\d+))? -->")
DOCS = ("README.md", "docs/*.md")


def table_after(lines: list[str], start: int) -> list[str]:
    out = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        out.append(line.rstrip())
    return out


def tables(lines: list[str]) -> list[list[str]]:
    """Every Markdown table of a file, in order."""
    found = []
    for i, line in enumerate(lines):
        if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|")):
            found.append(table_after(lines, i))
    return found


def problems(root: Path = ROOT, write: bool = False) -> list[str]:
    """What differs; with ``write``, each differing table is copied again from its results file."""
    found, cited = [], 0
    for pattern in DOCS:
        for doc in sorted(root.glob(pattern)):
            lines = doc.read_text(encoding="utf-8").splitlines()
            copied = False
            for i, line in enumerate(lines):
                match = MARKER.search(line)
                if not match:
                    continue
                cited += 1
                name, number = match.group(1), int(match.group(2) or 1)
                cite = name + (f"#{number}" if match.group(2) else "")
                source = root / name
                where = f"{doc.relative_to(root)}:{i + 1}"
                if not source.is_file():
                    found.append(f"{where}: cites {name}, which is not committed")
                    continue
                held = tables(source.read_text(encoding="utf-8").splitlines())
                if not 1 <= number <= len(held):
                    found.append(f"{where}: cites table {number} of {name}, which holds {len(held)}")
                elif (shown := table_after(lines, i + 1)) != held[number - 1]:
                    if write:
                        lines[i + 1:i + 1 + len(shown)] = held[number - 1]
                        copied = True
                        print(f"{where}: copied again from {cite}", file=sys.stderr)
                    else:
                        found.append(f"{where}: the table differs from {cite} (copy it again from there: "
                                     f"python bench/docs_check.py --write)")
            if copied:
                doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if not cited:
        found.append("no table cites a results file (<!-- results: … -->)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tables in README/docs that cite a results file must equal it.")
    parser.add_argument("--write", action="store_true", help="copy every differing table again from its results file")
    issues = problems(write=parser.parse_args(argv).write)
    for issue in issues:
        print(issue, file=sys.stderr)
    print("docs-check: " + ("ok" if not issues else f"{len(issues)} problem(s)"))
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())
