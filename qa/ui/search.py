"""The 检索先例 tab: passages like a text, with a citation line each, and their export."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from qa.answer.signals import question_terms
from qa.search.sentences import candidate_sentences
from qa.index.protocol import MODES, Filter
from qa.models import Chunk, Hit
from qa.search import QueryError
from qa.text.ngrams import coverage
from qa.ui.export import export_path, write_csv
from qa.ui.messages import query_error
from qa.ui.render import dated, esc, results_html, section_path
from qa.ui.state import assistant

SEARCH_HEADERS = ["排名", "得分", "标题", "章节", "引文", "来源", "年份", "地区"]


def best_quote(chunk: Chunk, query: str, limit: int = 120) -> str:
    """The passage sentence that shares the most of the query's terms."""
    terms = question_terms(query)
    spans = [span for _, span in candidate_sentences(chunk)]
    if not spans:
        text = chunk.text.strip()
    else:
        text = max(spans, key=lambda s: coverage(terms, s.text)).text
    return text if len(text) <= limit else text[:limit] + "…"


def citation_line(chunk: Chunk, query: str) -> str:
    """``《标题》（章节）：“引文”``"""
    section = section_path(chunk.section)
    return f"《{chunk.title}》" + (f"（{section}）" if section else "") + f"：“{best_quote(chunk, query)}”"


def make_filter(doc_ids: Iterable[str] | str | None = None, title_contains: str | None = None,
                year: int | float | str | None = None) -> Filter | None:
    if isinstance(doc_ids, str):
        doc_ids = [doc_ids] if doc_ids else []
    ids = frozenset(d for d in (doc_ids or []) if d)
    title = (title_contains or "").strip() or None
    year_value = None
    if year not in (None, "", 0):
        try:
            year_value = int(float(year))
        except (TypeError, ValueError):
            year_value = None
    where = Filter(doc_ids=ids or None, title_contains=title, year=year_value)
    return where if where else None


def search_results(text: str, top_k: int = 5, doc_ids: Iterable[str] | str | None = None,
                   title_contains: str | None = None, year: int | float | str | None = None,
                   mode: str = "hybrid") -> list[dict]:
    """Search hits as plain dicts (the shape exported to CSV / Markdown)."""
    mode = mode if mode in MODES else "hybrid"
    hits: list[Hit] = assistant().searcher.search(text or "", int(top_k or 5), mode,
                                                  where=make_filter(doc_ids, title_contains, year))
    return [{
        "rank": h.rank, "score": round(float(h.score), 4), "doc_id": h.chunk.doc_id,
        "title": h.chunk.title, "section": section_path(h.chunk.section), "source": h.chunk.source,
        "citation": citation_line(h.chunk, text), "text": h.chunk.text,
        "year": h.chunk.year, "region": h.chunk.region,
    } for h in hits]


def results_rows(results: list[dict]) -> list[list]:
    return [[r["rank"], r["score"], r["title"], r["section"], r["citation"], r["source"], r.get("year") or "",
             r.get("region") or ""] for r in results]


def search_precedents(text: str, top_k: int = 5, doc_ids: Iterable[str] | str | None = None,
                      title_contains: str | None = None, year: int | float | str | None = None,
                      mode: str = "hybrid") -> tuple[list[list], str, list[dict]]:
    """→ (table rows, result HTML with overlapping terms highlighted, raw results)."""
    try:
        results = search_results(text, top_k, doc_ids, title_contains, year, mode)
    except QueryError as exc:
        return [], f'<div class="qa-sources qa-empty">{esc(query_error(exc))}</div>', []
    return results_rows(results), results_html(results, text), results


def export_results(results: list[dict], fmt: str = "csv", directory: str | Path | None = None) -> str | None:
    """Write search results to a CSV or Markdown file; returns its path."""
    if not results:
        return None
    fmt = "md" if str(fmt).lower() in ("md", "markdown") else "csv"
    path = export_path(directory, "precedents", fmt)
    if fmt == "csv":
        write_csv(path, SEARCH_HEADERS + ["段落"], (row + [r["text"]] for row, r in zip(results_rows(results), results)))
    else:
        lines = ["# 检索先例", ""]
        for r in results:
            when = dated(r.get("year"), r.get("region"))
            lines += [f"{r['rank']}. {r['citation']}", f"   - 来源：{r['source']}（得分 {r['score']}）"
                      + (f"，{when}" if when else ""), ""]
        path.write_text("\n".join(lines), encoding="utf-8")
    return str(path)
