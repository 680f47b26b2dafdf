"""Fail when a table in the docs differs from the committed run it cites.

A cited table is marked in Markdown by a comment naming the results file,
directly followed by the table:

    <!-- results: bench/results/retrieval.md -->
    | set | pipeline | R@5 | MRR@10 |
    ...

The table must equal that file's table line for line. Run by
``make docs-check`` and by ``tests/test_docs_check.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"<!-- results: (\S+) -->")
DOCS = ("README.md", "docs/*.md")


def table_after(lines: list[str], start: int) -> list[str]:
    out = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        out.append(line.rstrip())
    return out


def problems(root: Path = ROOT) -> list[str]:
    found, cited = [], 0
    for pattern in DOCS:
        for doc in sorted(root.glob(pattern)):
            lines = doc.read_text(encoding="utf-8").splitlines()
            for i, line in enumerate(lines):
                match = MARKER.search(line)
                if not match:
                    continue
                cited += 1
                source = root / match.group(1)
                where = f"{doc.relative_to(root)}:{i + 1}"
                if not source.is_file():
                    found.append(f"{where}: cites {match.group(1)}, which is not committed")
                    continue
                expected = table_after(source.read_text(encoding="utf-8").splitlines(), 0)
                if table_after(lines, i + 1) != expected:
                    found.append(f"{where}: the table differs from {match.group(1)} (copy it again from there)")
    if not cited:
        found.append("no table cites a results file (<!-- results: … -->)")
    return found


def main() -> int:
    issues = problems()
    for issue in issues:
        print(issue, file=sys.stderr)
    print("docs-check: " + ("ok" if not issues else f"{len(issues)} problem(s)"))
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())
