"""The 起草助手 (drafting) tab's handlers: plain functions over ``qa.drafting``
that return HTML, table rows and files, so they are testable without a browser.

All text from drafts and reports is HTML-escaped before it reaches the page
(reports may hold markup: tests/conftest.py APP_XSS_TEXT).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

from qa.ui.state import assistant
from qa.drafting.draft import DraftError, prepare_draft, read_draft
from qa.drafting.finder import REUSE_GRAM, REUSED, DraftFinder, precedent_filter
from qa.index.protocol import Filter
from qa.text.ngrams import shared_spans
from qa.ui.export import export_path, write_csv
from qa.ui.messages import draft_error
from qa.ui.render import dated_html, esc, mark_spans

#: what 相关度 means, shown on hover (docs/drafting.md "What the figures mean")
RELEVANCE_TIP = ("相关度：估计该先例与草稿句子说的是同一事项的概率，依据语义接近程度和共有的关键词，"
                 "按人工标注的句对校准；沿用度：草稿句子的措辞有多少已见于该先例。")
#: drafts pasted into the app are held in the page whole: longer ones belong to `qa draft`
MAX_UI_CHARS = 30_000
TABLE_HEADERS = ["句", "段", "草稿句子", "沿用度", "标记", "先例出处", "年份", "地区", "先例原文"]


def draft_filter(before_year: Any = None, doc_ids: Iterable[str] | None = None,
                 exclude_ids: Iterable[str] | None = None) -> Filter | None:
    """The tab's filters: reports before a year (undated ones kept: ``precedent_filter``), only / never these documents."""
    try:
        year = int(float(before_year)) if before_year not in (None, "") and float(before_year) > 0 else None
    except (TypeError, ValueError):
        year = None
    return precedent_filter(year, doc_ids, exclude_ids)


def analyze(text: str, file: str | None, top_k: int = 3, before_year: Any = None,
            doc_ids: Iterable[str] | None = None, exclude_ids: Iterable[str] | None = None,
            progress: Callable[[int, int], None] | None = None) -> tuple[dict, str]:
    """A pasted or uploaded draft -> (state: the cleaned draft ``text`` and its
    per-sentence ``results``, a status line). An uploaded file wins over the
    pasted text; a draft that cannot be read gets the reason as its status."""
    try:
        draft = prepare_draft(read_draft(file) if file else (text or ""), limit=MAX_UI_CHARS)
        finder = DraftFinder(assistant().searcher)
    except DraftError as exc:
        return {"text": "", "results": []}, draft_error(exc)
    where = draft_filter(before_year, doc_ids, exclude_ids)
    scope = finder.summary(draft, where)
    results = [dict(r.to_dict(), reuse=r.reuse)
               for r in finder.find(draft, max(1, int(top_k or 3)), where, progress=progress)]
    reused = sum(1 for r in results if r["mark"] == "沿用")
    headings = sum(1 for r in results if r["kind"] != "sentence")
    status = (f"共 {len(results)} 句、{draft.paragraphs} 段，其中 {reused} 句沿用已有表述（沿用度 ≥ {REUSED:g}）"
              + (f"，{headings} 句为标题（不计沿用）" if headings else "") + "。"
              + scope.note() + "点击左侧句子查看先例。")
    return {"text": draft.text, "results": results}, status


def draft_html(state: dict, selected: Any = None) -> str:
    """The draft, each sentence a clickable span shaded by its best reuse
    (the deeper the orange, the more of its wording earlier reports hold)."""
    text, results = (state or {}).get("text", ""), (state or {}).get("results", [])
    selected = sentence_number(selected)
    if not results:
        return '<div class="qa-draft qa-empty">草稿中没有可分析的句子。</div>'
    parts, pos, paragraph = ['<div class="qa-draft"><p>'], 0, results[0]["paragraph"]
    for r in results:
        gap = text[pos:r["start"]]
        if r["paragraph"] != paragraph:
            parts.append(esc(gap.replace("\n", "")) + "</p><p>")
            paragraph = r["paragraph"]
        else:
            parts.append(esc(gap))
        counted = r.get("kind", "sentence") == "sentence"  # a heading or the title is never shaded as reused
        alpha = round(0.08 + 0.6 * r["reuse"], 2) if counted and r["reuse"] >= 0.05 else 0
        chosen = " qa-selected" if r["n"] == selected else ""
        tip = f'{r["mark"]} {r["reuse"]:.2f}' if counted else f'{r["mark"]}（不计沿用）'
        parts.append(f'<span class="qa-s{chosen}" data-n="{r["n"]}" style="background: rgba(250, 140, 22, {alpha})" '
                     f'title="{esc(tip)}">{esc(r["text"])}</span>')
        pos = r["end"]
    parts.append(esc(text[pos:]) + "</p></div>")
    return "".join(parts)


def sentence_number(n: Any) -> int | None:
    """A sentence number from the page (a data attribute: a string) or a field."""
    try:
        return int(float(n))
    except (TypeError, ValueError):
        return None


def precedents_view(state: dict, n: Any) -> tuple[str, str]:
    """(HTML cards of sentence ``n``'s precedents with the shared wording
    marked, the citation lines to copy)."""
    n = sentence_number(n)
    r = next((r for r in (state or {}).get("results", []) if r["n"] == n), None)
    if r is None:
        return '<div class="qa-sources qa-empty">请先分析草稿，再点击句子。</div>', ""
    if not r["precedents"]:
        why = "这是草稿的标题行，不查找先例。" if r.get("kind") == "title" else "在所选范围内没有找到先例。"
        return (f'<div class="qa-sources"><div class="qa-card qa-sentence">{esc(r["text"])}</div>'
                f'<div class="qa-note">{why}</div></div>'), ""
    best = r["precedents"][0]["text"]
    parts = ['<div class="qa-sources">',
             f'<div class="qa-card qa-sentence"><div class="qa-card-head">第 {r["n"]} 句 · '
             f'{esc(r["mark"])} {r["reuse"]:.2f}</div>'
             f'<div class="qa-passage">{mark_spans(r["text"], shared_spans(r["text"], best, REUSE_GRAM))}</div></div>']
    for p in r["precedents"]:
        parts.append(
            '<div class="qa-card qa-precedent">'
            f'<div class="qa-card-head"><span class="qa-label">#{p["rank"]}</span> '
            f'<span class="qa-title">《{esc(p["title"])}》</span>{dated_html(p.get("year"), p.get("region"))}'
            f'<span class="qa-score" title="{esc(RELEVANCE_TIP)}">沿用度 {p["reuse"]:.2f} · 相关度 '
            f'{p.get("relevance", 0):.2f}（{esc(p.get("relevance_mark", ""))}）</span></div>'
            f'<div class="qa-citation qa-copy">{esc(citation_line(p))}</div>'
            f'<div class="qa-passage">{mark_spans(p["text"], shared_spans(p["text"], r["text"], REUSE_GRAM))}</div></div>')
    parts.append("</div>")
    return "".join(parts), "\n".join(citation_line(p) for p in r["precedents"])


def citation_line(p: dict) -> str:
    """``《标题》 一、… > （三）…：“原文”``"""
    return f"{p['citation']}：“{p['text']}”"


def table_rows(state: dict) -> list[list]:
    """Sentence -> best precedent, one row per sentence (the exported table)."""
    rows = []
    for r in (state or {}).get("results", []):
        p = r["precedents"][0] if r["precedents"] else None
        rows.append([r["n"], r["paragraph"], r["text"], round(r["reuse"], 2), r["mark"],
                     p["citation"] if p else "", (p["year"] or "") if p else "", (p.get("region") or "") if p else "",
                     p["text"] if p else ""])
    return rows


def export_table(state: dict, fmt: str = "csv", directory: str | Path | None = None) -> str | None:
    """Write the sentence -> precedent table as CSV, Markdown or .docx; returns its path."""
    rows = table_rows(state)
    if not rows:
        return None
    fmt = {"markdown": "md", "md": "md", "docx": "docx"}.get(str(fmt).lower(), "csv")
    path = export_path(directory, "draft-precedents", fmt)
    if fmt == "csv":
        write_csv(path, TABLE_HEADERS, rows)
    elif fmt == "md":
        cell = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines = ["# 起草助手：逐句先例", "", "| " + " | ".join(TABLE_HEADERS) + " |", "|" + "---|" * len(TABLE_HEADERS)]
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        import docx  # python-docx

        document = docx.Document()
        document.add_heading("起草助手：逐句先例", level=1)
        table = document.add_table(rows=1, cols=len(TABLE_HEADERS))
        table.style = "Table Grid"
        for cell_, header in zip(table.rows[0].cells, TABLE_HEADERS):
            cell_.text = header
        for row in rows:
            for cell_, value in zip(table.add_row().cells, row):
                cell_.text = str(value)
        document.save(str(path))
    return str(path)
