"""Files the app offers for download (search results, the drafting table):
one place for where they go and how a CSV is kept safe in spreadsheets."""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable


def csv_safe(value: Any) -> Any:
    """Spreadsheet formula injection guard."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_path(directory: str | Path | None, stem: str, suffix: str) -> Path:
    """A fresh timestamped file name in ``directory`` (a new temp folder when None)."""
    out_dir = Path(directory or tempfile.mkdtemp(prefix="qa-export-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.{suffix}"


def write_csv(path: Path, headers: list[str], rows: Iterable[Iterable[Any]]) -> None:
    """UTF-8 with BOM (Excel reads it as UTF-8), every cell formula-guarded."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows([csv_safe(v) for v in row] for row in rows)
