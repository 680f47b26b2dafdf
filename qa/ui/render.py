"""HTML and Markdown the tabs show. Every piece of corpus text that ends up in
HTML or Markdown goes through ``esc`` first: a report containing ``<script>``
is shown as text, never run."""

from __future__ import annotations

import html
from typing import Any, Iterable

from qa.models import Answer, Chunk
from qa.text.ngrams import shared_spans


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def section_path(section: Iterable[str]) -> str:
    return " > ".join(s for s in section if s)


def dated(year: Any = None, region: Any = None) -> str:
    """A document's year and place as a card shows them after its title:
    ``2024年 · 榆阳区``; empty when it names neither (qa.ingest.metadata)."""
    return " · ".join(part for part in (f"{year}年" if year else "", region or "") if part)


def dated_html(year: Any = None, region: Any = None) -> str:
    text = dated(year, region)
    return f' <span class="qa-dated">{esc(text)}</span>' if text else ""


def answer_markdown(answer: Answer) -> str:
    """The answer text (escaped) with a short list of its sources; a chat
    follow-up says how it was understood (按“…”理解)."""
    body = esc(answer.answer).replace("\n", "  \n")
    if answer.resolved and answer.resolved != answer.question:
        body += f"  \n<sub>按“{esc(answer.resolved)}”理解</sub>"
    if not answer.citations:
        return body
    groups: dict[tuple[str, str], list[int]] = {}
    for c in answer.citations:
        groups.setdefault((c.title, section_path(c.section)), []).append(c.n)
    lines = ["**来源**"]
    for (title, section), ns in groups.items():
        lines.append("".join(f"[{n}]" for n in ns) + f" 《{esc(title)}》" + (f"（{esc(section)}）" if section else ""))
    return body + "\n\n" + "  \n".join(lines)


def _mark_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Escape ``text`` and wrap each (start, end, label) span in <mark>."""
    out, pos = [], 0
    for start, end, label in sorted(spans):
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        out.append(esc(text[pos:start]))
        out.append(f'<mark class="qa-cite">{esc(text[start:end])}</mark><sup>[{esc(label)}]</sup>')
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def sources_html(answer: Answer) -> str:
    """One card per supporting passage: title, section path, the passage with
    each cited sentence highlighted."""
    if not answer.citations and not answer.hits:
        return '<div class="qa-sources qa-empty">没有找到相关段落。</div>'
    cards: list[tuple[Chunk | None, list]] = []
    for c in answer.citations:
        chunk = next((h.chunk for h in answer.hits if h.chunk.doc_id == c.doc_id
                      and h.chunk.start <= c.start and c.end <= h.chunk.end), None)
        for existing, cites in cards:
            if chunk is not None and existing is chunk:
                cites.append(c)
                break
        else:
            cards.append((chunk, [c]))
    parts = ['<div class="qa-sources">']
    if not answer.citations:  # not found: show the nearest passages, unmarked
        parts.append('<div class="qa-note">最接近的段落（仅供参考）：</div>')
        for hit in answer.hits[:3]:
            parts.append(_card(hit.chunk.title, hit.chunk.section, esc(hit.chunk.text), f"#{hit.rank}",
                               hit.chunk.year, hit.chunk.region))
    for chunk, cites in cards:
        label = "".join(f"[{c.n}]" for c in cites)
        if chunk is None:
            c = cites[0]
            body = f'<mark class="qa-cite">{esc(c.text)}</mark>'
            parts.append(_card(c.title, c.section, body, label, c.year, c.region))
        else:
            spans = [(c.start - chunk.start, c.end - chunk.start, str(c.n)) for c in cites]
            parts.append(_card(chunk.title, chunk.section, _mark_spans(chunk.text, spans), label, chunk.year,
                               chunk.region))
    parts.append("</div>")
    return "".join(parts)


def _card(title: str, section: list[str], body_html: str, label: str, year: Any = None, region: Any = None) -> str:
    section_text = section_path(section)
    return (
        '<div class="qa-card">'
        f'<div class="qa-card-head"><span class="qa-label">{esc(label)}</span> '
        f'<span class="qa-title">《{esc(title)}》</span>{dated_html(year, region)}</div>'
        + (f'<div class="qa-section">{esc(section_text)}</div>' if section_text else "")
        + f'<div class="qa-passage">{body_html}</div></div>'
    )


def mark_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """Escape ``text`` and wrap the spans in <mark class="qa-hl">."""
    out, pos = [], 0
    for a, b in spans:
        out.append(esc(text[pos:a]))
        out.append(f'<mark class="qa-hl">{esc(text[a:b])}</mark>')
        pos = b
    out.append(esc(text[pos:]))
    return "".join(out)


def highlight_overlap(text: str, query: str) -> str:
    """Escape ``text`` and <mark> the runs of it that share a character bigram with the query."""
    return mark_spans(text, shared_spans(text, query, 2))


def results_html(results: list[dict], query: str) -> str:
    if not results:
        return '<div class="qa-sources qa-empty">没有找到匹配的段落。</div>'
    parts = ['<div class="qa-sources">']
    for r in results:
        parts.append(
            '<div class="qa-card">'
            f'<div class="qa-card-head"><span class="qa-label">#{r["rank"]}</span> '
            f'<span class="qa-title">《{esc(r["title"])}》</span>{dated_html(r.get("year"), r.get("region"))} '
            f'<span class="qa-score">得分 {esc(r["score"])}</span></div>'
            + (f'<div class="qa-section">{esc(r["section"])}</div>' if r["section"] else "")
            + f'<div class="qa-citation">{esc(r["citation"])}</div>'
            f'<div class="qa-passage">{highlight_overlap(r["text"], query)}</div></div>'
        )
    parts.append("</div>")
    return "".join(parts)
