"""Plain functions behind the web UI, one per tab action.

They take and return plain Python values (strings, lists, file paths), so the
gradio app, the API clients and the tests call the same code. Every piece of
corpus text that ends up in HTML or Markdown goes through ``html.escape``
first: a report containing ``<script>`` is shown as text, never run.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from pathlib import Path
from typing import Any, Callable, Iterable

from qa.answer.assistant import Assistant
from qa.answer.signals import chunk_sentences, coverage, question_terms
from qa.index.protocol import MODES, Filter
from qa.ingest.loading import SUPPORTED_SUFFIXES
from qa.models import Answer, Chunk, Hit
from qa.search.query import QueryError
from qa.settings import Settings
from qa.ui.export import export_path, write_csv

logger = logging.getLogger(__name__)

_assistant: Assistant | None = None
_init_lock = threading.Lock()
_build_lock = threading.Lock()

SEARCH_HEADERS = ["排名", "得分", "标题", "章节", "引文", "来源"]
DOC_HEADERS = ["文档ID", "标题", "文件", "段落数", "字数", "状态"]
REJECT_HEADERS = ["文件", "原因"]


# --------------------------------------------------------------------------- setup

def init(settings: Settings | None = None) -> Assistant:
    """Create the one shared Assistant (model and index load once)."""
    global _assistant
    with _init_lock:
        if _assistant is None or (settings is not None and _assistant.settings != settings):
            _assistant = Assistant(settings or Settings.from_env())
        return _assistant


def assistant() -> Assistant:
    return _assistant if _assistant is not None else init()


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def section_path(section: Iterable[str]) -> str:
    return " > ".join(s for s in section if s)


# --------------------------------------------------------------------------- chat

def history_questions(history: Any) -> list[str]:
    """The user's earlier questions from a chat history: gradio message dicts
    (content a string or a list of ``{"type": "text", "text": ...}`` blocks),
    ``[user, bot]`` pairs, or plain strings."""
    questions: list[str] = []
    for item in history or []:
        if isinstance(item, str):
            questions.append(item)
            continue
        if isinstance(item, (list, tuple)):
            if item and isinstance(item[0], str):
                questions.append(item[0])
            continue
        if not isinstance(item, dict) or item.get("role") != "user":
            continue
        text = _content_text(item.get("content"))
        if text.strip():
            questions.append(text.strip())
    return questions


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(_content_text(c) for c in content)
    return ""


def answer_markdown(answer: Answer) -> str:
    """The answer text (escaped) with a short list of its sources."""
    body = esc(answer.answer).replace("\n", "  \n")
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
            parts.append(_card(hit.chunk.title, hit.chunk.section, esc(hit.chunk.text), f"#{hit.rank}"))
    for chunk, cites in cards:
        label = "".join(f"[{c.n}]" for c in cites)
        if chunk is None:
            c = cites[0]
            body = f'<mark class="qa-cite">{esc(c.text)}</mark>'
            parts.append(_card(c.title, c.section, body, label))
        else:
            spans = [(c.start - chunk.start, c.end - chunk.start, str(c.n)) for c in cites]
            parts.append(_card(chunk.title, chunk.section, _mark_spans(chunk.text, spans), label))
    parts.append("</div>")
    return "".join(parts)


def _card(title: str, section: list[str], body_html: str, label: str) -> str:
    section_text = section_path(section)
    return (
        '<div class="qa-card">'
        f'<div class="qa-card-head"><span class="qa-label">{esc(label)}</span> '
        f'<span class="qa-title">《{esc(title)}》</span></div>'
        + (f'<div class="qa-section">{esc(section_text)}</div>' if section_text else "")
        + f'<div class="qa-passage">{body_html}</div></div>'
    )


def ask(question: str, history: Any = None, top_k: int | None = None) -> tuple[str, str]:
    """Answer a question (a follow-up is read against the earlier question,
    ``qa.followup``) → (answer
    markdown, sources HTML)."""
    try:
        answer = assistant().ask(question or "", top_k=top_k, history=history_questions(history) or None)
    except QueryError as exc:
        return f"请输入问题。（{esc(exc)}）", ""
    return answer_markdown(answer), sources_html(answer)


def llm_configured(settings: Settings | None = None) -> bool:
    settings = settings or assistant().settings
    return bool(settings.llm_base_url and settings.llm_model)


def _llm_answer(question: str, text: str, hits: list[Hit]) -> Answer | None:
    """The generated text as an Answer, keeping only sentences whose every
    ``[n]`` names a given passage (as qa.generation does); None if none is left."""
    from qa.answer.generation import keep_cited
    from qa.models import Citation

    kept = keep_cited(text, len(hits))
    if not kept:
        return None
    used = sorted({int(n) for n in re.findall(r"\[(\d+)\]", kept)})
    citations = [Citation(n, h.chunk.doc_id, h.chunk.title, list(h.chunk.section), h.chunk.source,
                          h.chunk.start, h.chunk.end, h.chunk.text) for n, h in ((n, hits[n - 1]) for n in used)]
    return Answer(question, kept, citations, "llm", True, hits)


def ask_stream(question: str, history: Any = None, top_k: int | None = None):
    """Like ``ask`` but a generator of (answer markdown, sources HTML) steps.

    With a generation server configured (QA_LLM_BASE_URL + QA_LLM_MODEL) it
    yields the growing answer token by token, then the final answer with only
    the properly cited sentences; otherwise, or when the server fails or cites
    nothing, it yields the extractive answer once."""
    a = assistant()
    if not llm_configured(a.settings):
        yield ask(question, history, top_k)
        return
    from qa.answer.generation import stream_tokens
    from qa.search.query import normalize_query

    earlier = history_questions(history)
    try:
        normalize_query(question or "")
        hits = a.searcher.search(a.search_query(question, earlier), top_k or 6)
    except QueryError as exc:
        yield f"请输入问题。（{esc(exc)}）", ""
        return
    waiting = '<div class="qa-sources qa-note">正在生成回答，完成后显示引文出处……</div>'
    text = ""
    try:
        for token in stream_tokens(a.settings, question, hits):
            text += token
            yield esc(text).replace("\n", "  \n") + " ▌", waiting
    except Exception as exc:  # network, timeout, server error: fall back
        logger.warning("generation server failed, falling back to the extractive answer: %s", exc)
        text = ""
    answer = _llm_answer(question, text, hits) if text else None
    if answer is None:
        answer = a.extractive(question, hits)
    yield answer_markdown(answer), sources_html(answer)


# --------------------------------------------------------------------------- precedent search

def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def highlight_overlap(text: str, query: str) -> str:
    """Escape ``text`` and <mark> every run of characters that belongs to a
    character bigram (or a Latin word / number) the query shares."""
    q = _norm(query)
    grams = {q[i:i + 2] for i in range(len(q) - 1) if re.fullmatch(r"[\w\u3400-\u9fff]{2}", q[i:i + 2])}
    words = {w for w in re.findall(r"[a-z0-9]{2,}", q)}
    t = _norm(text) if len(_norm(text)) == len(text) else text.lower()
    marked = [False] * len(text)
    for i in range(len(t) - 1):
        if t[i:i + 2] in grams:
            marked[i] = marked[i + 1] = True
    for w in words:
        for m in re.finditer(re.escape(w), t):
            for j in range(m.start(), min(m.end(), len(text))):
                marked[j] = True
    out, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and marked[j] == marked[i]:
            j += 1
        piece = esc(text[i:j])
        out.append(f'<mark class="qa-hl">{piece}</mark>' if marked[i] else piece)
        i = j
    return "".join(out)


def best_quote(chunk: Chunk, query: str, limit: int = 120) -> str:
    """The passage sentence that shares the most of the query's terms."""
    terms = question_terms(query)
    spans = [span for _, span in chunk_sentences(chunk)]
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
    } for h in hits]


def results_rows(results: list[dict]) -> list[list]:
    return [[r["rank"], r["score"], r["title"], r["section"], r["citation"], r["source"]] for r in results]


def results_html(results: list[dict], query: str) -> str:
    if not results:
        return '<div class="qa-sources qa-empty">没有找到匹配的段落。</div>'
    parts = ['<div class="qa-sources">']
    for r in results:
        parts.append(
            '<div class="qa-card">'
            f'<div class="qa-card-head"><span class="qa-label">#{r["rank"]}</span> '
            f'<span class="qa-title">《{esc(r["title"])}》</span> '
            f'<span class="qa-score">得分 {esc(r["score"])}</span></div>'
            + (f'<div class="qa-section">{esc(r["section"])}</div>' if r["section"] else "")
            + f'<div class="qa-citation">{esc(r["citation"])}</div>'
            f'<div class="qa-passage">{highlight_overlap(r["text"], query)}</div></div>'
        )
    parts.append("</div>")
    return "".join(parts)


def search_precedents(text: str, top_k: int = 5, doc_ids: Iterable[str] | str | None = None,
                      title_contains: str | None = None, year: int | float | str | None = None,
                      mode: str = "hybrid") -> tuple[list[list], str, list[dict]]:
    """→ (table rows, result HTML with overlapping terms highlighted, raw results)."""
    try:
        results = search_results(text, top_k, doc_ids, title_contains, year, mode)
    except QueryError as exc:
        return [], f'<div class="qa-sources qa-empty">请输入检索内容。（{esc(exc)}）</div>', []
    return results_rows(results), results_html(results, text), results


def export_results(results: list[dict], fmt: str = "csv", directory: str | Path | None = None) -> str | None:
    """Write search results to a CSV or Markdown file; returns its path."""
    if not results:
        return None
    fmt = "md" if str(fmt).lower() in ("md", "markdown") else "csv"
    path = export_path(directory, "precedents", fmt)
    if fmt == "csv":
        write_csv(path, SEARCH_HEADERS + ["段落"], ((r["rank"], r["score"], r["title"], r["section"], r["citation"],
                                                    r["source"], r["text"]) for r in results))
    else:
        lines = ["# 检索先例", ""]
        for r in results:
            lines += [f"{r['rank']}. {r['citation']}", f"   - 来源：{r['source']}（得分 {r['score']}）", ""]
        path.write_text("\n".join(lines), encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------- corpus

def list_documents() -> list[list]:
    manifest = assistant().searcher.manifest or {}
    rows = [[doc_id, d.get("title", ""), d.get("source", ""), d.get("chunks", 0), d.get("chars", 0), "已索引"]
            for doc_id, d in sorted(manifest.get("documents", {}).items(), key=lambda kv: kv[1].get("source", ""))]
    for source, f in sorted(manifest.get("failed", {}).items()):
        rows.append(["", "", source, 0, 0, f"失败：{f.get('error', '')}"])
    return rows


def document_choices() -> list[tuple[str, str]]:
    manifest = assistant().searcher.manifest or {}
    return [(f"{d.get('title', doc_id)} ({d.get('source', '')})", doc_id)
            for doc_id, d in sorted(manifest.get("documents", {}).items(), key=lambda kv: kv[1].get("source", ""))]


def max_upload_bytes() -> int:
    try:
        mb = float(os.environ.get("QA_MAX_UPLOAD_MB", "20"))
    except ValueError:
        mb = 20.0
    return int(mb * 1024 * 1024)


def sanitize_filename(name: str) -> str:
    """A safe base name: no directories, no hidden or README names, only
    letters (any script), digits, ``-``, ``_`` and ``.``."""
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").split("/")[-1]
    base = re.sub(r"[^\w.\-\u3400-\u9fff]+", "_", base).strip("._ ")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = (stem or "upload")[:100]
    if stem.lower().startswith("readme"):
        stem = "upload_" + stem
    return f"{stem}.{suffix.lower()}" if suffix else stem


def _same_file(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def upload_files(paths: Iterable[str | Path] | None,
                 progress: Callable[[str, int, int], None] | None = None) -> tuple[str, list[list], list[list]]:
    """Copy uploads into the corpus (sanitized names), build incrementally,
    refresh the searcher → (summary markdown, rejected [file, reason], documents)."""
    a = assistant()
    corpus = Path(a.settings.corpus)
    corpus.mkdir(parents=True, exist_ok=True)
    limit = max_upload_bytes()
    accepted: list[str] = []
    rejected: list[list] = []
    for raw in paths or []:
        src = Path(raw if isinstance(raw, (str, Path)) else getattr(raw, "name", raw))
        shown = src.name
        suffix = src.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            rejected.append([shown, f"不支持的文件类型 '{suffix or '(无)'}'（支持：{', '.join(sorted(SUPPORTED_SUFFIXES))}）"])
            continue
        if not src.is_file():
            rejected.append([shown, "文件不存在"])
            continue
        size = src.stat().st_size
        if size > limit:
            rejected.append([shown, f"文件过大（{size / 1048576:.1f} MB，上限 {limit / 1048576:g} MB）"])
            continue
        if size == 0:
            rejected.append([shown, "空文件"])
            continue
        name = sanitize_filename(shown)
        target = corpus / name
        n = 1
        while target.exists() and not _same_file(target, src):
            stem, suffix2 = Path(name).stem, Path(name).suffix
            target = corpus / f"{stem}_{n}{suffix2}"
            n += 1
        if not target.resolve().is_relative_to(corpus.resolve()):
            rejected.append([shown, "非法文件名"])
            continue
        if not target.exists():
            shutil.copyfile(src, target)
        accepted.append(target.name)
    if not accepted:
        return "没有新文件加入语料库。", rejected, list_documents()
    from qa.index.build import build

    with _build_lock:
        report = build(a.settings, progress=progress)
        a.searcher.refresh()
    failed = (a.searcher.manifest or {}).get("failed", {})
    for name in accepted:
        if name in failed:
            rejected.append([name, f"无法读取：{failed[name].get('error', '')}"])
    lines = [f"已加入 {len(accepted)} 个文件：{esc('、'.join(accepted))}",
             f"索引更新：新增 {len(report.added)}，修改 {len(report.changed)}，删除 {len(report.removed)}，"
             f"共 {report.documents} 篇文档、{report.chunks} 个段落。"]
    if report.errors:
        lines.append("错误：" + esc("；".join(map(str, report.errors))))
    return "  \n".join(lines), rejected, list_documents()


# --------------------------------------------------------------------------- evaluation

EVAL_METRICS = ("R@1", "R@3", "R@5", "R@10", "MRR@10", "nDCG@10")
EVAL_HEADERS = ["配置", "问题数", *EVAL_METRICS]
MISSED_HEADERS = ["配置", "编号", "问题", "类型", "首个相关位次", "实际返回（前 3）"]


def default_questions_file() -> Path:
    from qa.settings import PROJECT_ROOT

    return PROJECT_ROOT / "tests" / "data" / "dev_questions.jsonl"


def _progress_searcher(searcher: Any, tick: Callable[[str], None]) -> Any:
    """A shallow copy of ``searcher`` (same model and index) whose ``search``
    calls ``tick(mode)`` after every query; run_eval's per-config copies keep it."""
    base = type(searcher)

    class _Ticking(base):  # type: ignore[misc, valid-type]
        def search(self, *args: Any, **kwargs: Any):
            hits = super().search(*args, **kwargs)
            tick(self.settings.mode)
            return hits

    import copy

    ticking = copy.copy(searcher)
    ticking.__class__ = _Ticking
    return ticking


def _returned_text(returned: list[dict]) -> str:
    if not returned:
        return "（无结果）"
    return "\n".join(f"{h['rank']}. 《{h['title']}》{(' ' + h['section']) if h['section'] else ''}：{h['text']}"
                     for h in returned)


def run_evaluation(file: str | Path | None, modes: Iterable[str] | None = None, top_k: int = 10,
                   progress: Callable[[str, int, int], None] | None = None,
                   directory: str | Path | None = None) -> tuple[list[list], str, str | None, list[list], str | None]:
    """Retrieval evaluation with the project's harness (``qa.evaluation``) on
    an uploaded JSONL question set, or the dev set when ``file`` is empty.

    ``progress(desc, done, total)`` is called after every searched question.
    → (metrics rows [config, n, R@1, R@3, R@5, R@10, MRR@10, nDCG@10],
    summary markdown (with the question file's bad lines), per-kind chart
    PNG path, missed-at-5 rows worst first, report zip path)."""
    from qa.evaluation.retrieval import make_configs, reproducibility_meta, run_eval, write_report
    from qa.questions import read_questions

    path = Path(file) if file else default_questions_file()
    questions, problems = read_questions(path)
    # problems read "<path>:<line>: reason"; show the file's name, not the upload's temp path
    problems = [p.replace(str(path), path.name, 1) for p in problems]
    lines = [f"评测集：{esc(path.name)}，有效问题 {len(questions)} 个。"]
    if problems:
        lines.append(f"**跳过的行（{len(problems)}）：**")
        lines += [f"- {esc(p)}" for p in problems[:50]]
        if len(problems) > 50:
            lines.append(f"- ……另有 {len(problems) - 50} 处")
    if not questions:
        lines.append("没有可用的问题，未运行评测。")
        return [], "  \n".join(lines), None, [], None

    try:
        configs = make_configs([m for m in (modes or []) if m in MODES] or ["hybrid"])
    except ValueError as exc:
        return [], "  \n".join(lines + [f"配置错误：{esc(exc)}"]), None, [], None
    top_k = max(1, int(top_k or 10))
    total = len(questions) * len(configs)
    done = 0

    def tick(mode: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(f"{mode} 检索", done, total)

    a = assistant()
    result = run_eval(_progress_searcher(a.searcher, tick), questions, configs, top_k)
    result.meta = reproducibility_meta(a.searcher, path, len(questions), problems, top_k)
    if progress:
        progress("生成报告", total, total)

    out = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="qa-eval-"))
    report_dir = out / "eval-report"
    write_report(result, report_dir)
    archive = shutil.make_archive(str(out / f"eval-report-{time.strftime('%Y%m%d-%H%M%S')}"), "zip",
                                  root_dir=out, base_dir=report_dir.name)

    rows = [[cr.config.name, cr.metrics.n, *(round(cr.metrics.overall[m], 3) for m in EVAL_METRICS)]
            for cr in result.configs]
    missed = [[cr.config.name, r.id, r.question, r.kind, r.first_relevant or "未命中",
               _returned_text(r.returned)]
              for cr in result.configs for r in cr.metrics.questions if not r.scores["R@5"]]
    lines.append(f"检索深度 top-k = {top_k}；配置：{esc('、'.join(c.name for c in configs))}；"
                 f"前 5 未命中 {len(missed)} 条（下表，最差在前）。R@k 为命中率（前 k 条中至少一条相关）。")
    if top_k < 10:
        lines.append(f"注意：top-k = {top_k} < 10，@10 指标只看到前 {top_k} 条。")
    for cr in result.configs:
        for w in cr.warnings:
            lines.append(f"- 警告（{esc(cr.config.name)}）：{esc(w)}")
    return rows, "  \n".join(lines), str(report_dir / "chart.png"), missed, archive
