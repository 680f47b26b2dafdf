"""The 语料 tab: the indexed documents, uploads that add or replace reports,
and deleting a report; every change updates the index incrementally.

One corpus change runs at a time (``qa.ui.state.build_lock``); a second one
is told to wait instead of queueing silently. What happens to each uploaded
file is decided in ``qa.ui.uploads``; how the folder and the index change
together, and how an interrupted change is undone, in ``qa.ui.corpus_changes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from qa.ingest.corpus import corpus_files
from qa.ui import corpus_changes
from qa.ui.messages import index_problem, load_reason
from qa.ui.render import esc
from qa.ui.state import assistant, build_lock
from qa.ui.uploads import ADDED, REFUSED, REPLACED, Outcome, check_upload

#: the table a user reads (the file name last: it is long and the least telling)
DOC_HEADERS = ["标题", "年份", "地区", "章节", "段落数", "状态", "文件"]
#: ``api_documents`` rows: the first six as before (clients read them by position), then the metadata
OUTCOME_HEADERS = ["文件", "结果", "说明"]
MISSING = "—"
INDEXED = "已索引"
NOT_INDEXED = "未建索引：文件在语料目录中，但索引还没有收录。请重新上传它，或由管理员运行 python -m qa build。"
BUSY = "另一项语料更新正在进行。请等它完成后再试。"

#: build progress stages (``qa.index.build``) as the user reads them
STAGES = {"embedding chunks": "计算段落向量", "embedding sentences": "计算句子向量"}


def _manifest() -> dict:
    return assistant().searcher.manifest or {}


def _shown(value) -> str:
    """A metadata value for the table: "—" when the build did not record it."""
    if value in (None, "", [], {}):
        return MISSING
    if isinstance(value, (list, tuple)):  # sections may be recorded as their headings
        return str(len(value))
    return str(value)


def _documents(manifest: dict) -> list[tuple[str, dict]]:
    return sorted(manifest.get("documents", {}).items(), key=lambda kv: (kv[1].get("source", ""), kv[0]))


def _unindexed(manifest: dict) -> list[str]:
    """Corpus files the index has not seen (copied in by hand, or an interrupted change)."""
    corpus = Path(assistant().settings.corpus)
    seen = set(manifest.get("sources", {})) | set(manifest.get("failed", {}))
    if not corpus.is_dir():
        return []
    return [s for s in (p.relative_to(corpus).as_posix() for p in corpus_files(corpus)) if s not in seen]


@dataclass
class View:
    """What the tab shows of the corpus, read once per click: the table
    (one row per indexed document, then files that failed to load, with the
    reason in Chinese, and files not indexed yet), the documents the tabs'
    filters offer and the files a user can delete or replace."""

    rows: list[list]
    documents: list[tuple[str, str]]  # (label, doc_id)
    files: list[tuple[str, str]]  # (label, corpus file)

    @property
    def sources(self) -> set[str]:
        return {source for _, source in self.files}


def view() -> View:
    """The corpus as the index and the folder have it now (one manifest read, one folder listing)."""
    manifest = _manifest()
    documents = _documents(manifest)
    failed = manifest.get("failed", {})
    unindexed = _unindexed(manifest)
    rows = [[d.get("title", ""), _shown(d.get("year")), _shown(d.get("region")), _shown(d.get("sections")),
             d.get("chunks", 0), INDEXED, d.get("source", "")] for _, d in documents]
    for source, f in sorted(failed.items()):
        rows.append([MISSING, MISSING, MISSING, MISSING, 0, "读取失败：" + load_reason(f.get("error", "")), source])
    rows += [[MISSING, MISSING, MISSING, MISSING, 0, NOT_INDEXED, s] for s in unindexed]
    titles: dict[str, list[str]] = {}
    for _, d in documents:
        titles.setdefault(d.get("source", ""), []).append(d.get("title", ""))
    files = []
    for source in sorted(set(titles) | set(failed) | set(unindexed)):
        names = titles.get(source)
        label = f"{names[0]}{'等 ' + str(len(names)) + ' 篇' if len(names) > 1 else ''}（{source}）" if names else source
        files.append((label, source))
    choices = [(f"{d.get('title', doc_id)} ({d.get('source', '')})", doc_id) for doc_id, d in documents]
    return View(rows, choices, files)


def api_rows() -> list[list]:
    """``/documents`` for API clients: [doc_id, title, source, chunks, chars, status, year, region, sections]."""
    manifest = _manifest()
    rows = [[doc_id, d.get("title", ""), d.get("source", ""), d.get("chunks", 0), d.get("chars", 0), INDEXED,
             d.get("year"), d.get("region"), d.get("sections")] for doc_id, d in _documents(manifest)]
    for source, f in sorted(manifest.get("failed", {}).items()):
        rows.append(["", "", source, 0, 0, "读取失败：" + load_reason(f.get("error", "")), None, None, None])
    return rows


def _stage(progress: Callable[[str, int, int], None] | None):
    if progress is None:
        return None
    return lambda stage, done, total: progress(STAGES.get(stage, "更新索引"), done, total)


def _index_line(report) -> str:
    return (f"索引已更新：新增 {len(report.added)} 个文件，修改 {len(report.changed)} 个，删除 {len(report.removed)} 个；"
            f"现有 {report.documents} 篇文档、{report.chunks} 个段落。")


def upload_files(paths: Iterable[str | Path] | None, progress: Callable[[str, int, int], None] | None = None,
                 replace: str | None = None) -> tuple[list[list], str, View]:
    """Check every upload, copy the accepted ones into the corpus and update
    the index in one change → (outcome rows [file, 已加入/已替换/未接受, 说明],
    summary markdown, the corpus as it is now). ``replace``: a corpus file the one
    uploaded file replaces (else a file replaces the one with its name)."""
    a = assistant()
    corpus = Path(a.settings.corpus)
    corpus.mkdir(parents=True, exist_ok=True)
    files = [Path(p if isinstance(p, (str, Path)) else getattr(p, "name", p)) for p in (paths or [])]
    before = view()
    if not files:
        return [], "请先选择要上传的文件。", before
    if replace and len(files) > 1:
        rows = [Outcome(f.name, REFUSED, "替换文档时请只上传一个文件。").row() for f in files]
        return rows, "没有文件加入语料库：替换时请只上传一个文件。", before
    if replace and replace not in before.sources:
        rows = [Outcome(f.name, REFUSED, f"找不到要替换的文件 {replace}（可能已被删除）。请点击「刷新列表」后重新选择。").row()
                for f in files]
        return rows, "没有文件加入语料库（原因见上表）。", before
    if not build_lock.acquire(blocking=False):
        return [Outcome(f.name, REFUSED, BUSY).row() for f in files], BUSY, before
    try:
        from qa.index.build import known_hashes  # the build's modules load with the first build (as corpus_changes)

        indexed = known_hashes(_manifest())
        outcomes: list[Outcome] = []
        taken: set[str] = set()
        for src in files:
            # gradio keeps the name the user gave the file as the temp file's name
            outcome = check_upload(src, src.name, corpus, indexed, a.settings.max_upload_bytes, taken, replace)
            if outcome.target:
                taken.add(outcome.target)
            outcomes.append(outcome)
        accepted = [o for o in outcomes if o.status != REFUSED]
        if not accepted:
            return [o.row() for o in outcomes], "没有文件加入语料库（原因见上表）。", before
        change = corpus_changes.Change(add={o.target: o.source for o in accepted},
                                       delete=[o.replaces for o in accepted if o.replaces and o.replaces != o.target])
        applied = corpus_changes.apply(a.settings, change, _stage(progress))
        if applied.error is not None:
            reason = _failure(applied.error)
            for o in accepted:
                o.status, o.detail = REFUSED, f"索引更新失败，文件未加入，语料库保持原样。{reason}"
            return [o.row() for o in outcomes], f"索引更新失败：{reason}", before
        for o in accepted:
            if o.target in applied.unreadable:
                o.status, o.detail = REFUSED, load_reason(applied.unreadable[o.target])
        a.searcher.refresh()
    finally:
        build_lock.release()
    counts = {s: sum(o.status == s for o in outcomes) for s in (ADDED, REPLACED, REFUSED)}
    summary = "，".join(f"{s} {n} 个" for s, n in counts.items() if n) + "。  \n" + _index_line(applied.report)
    return [o.row() for o in outcomes], summary, view()


def _failure(exc: BaseException) -> str:
    from qa.index.storage import IndexProblem

    if isinstance(exc, IndexProblem):
        return index_problem(exc)
    return "请稍后重试；若仍失败，请联系管理员查看服务器日志。"


def delete_file(source: str | None, progress: Callable[[str, int, int], None] | None = None) -> tuple[str, View]:
    """Remove one corpus file and its documents from the index → (message, the corpus as it is now).
    The file leaves ``corpus/`` only when the index no longer holds it."""
    a = assistant()
    before = view()
    if not source:
        return "请先在列表中选择要删除的文件。", before
    corpus = Path(a.settings.corpus)
    if source not in before.sources or not (corpus / source).resolve().is_relative_to(corpus.resolve()):
        return "找不到这个文件（可能已被删除）。请点击「刷新列表」后重新选择。", before
    if not build_lock.acquire(blocking=False):
        return BUSY, before
    try:
        titles = [d.get("title", "") for _, d in _documents(_manifest()) if d.get("source") == source]
        applied = corpus_changes.apply(a.settings, corpus_changes.Change(delete=[source]), _stage(progress))
        if applied.error is not None:
            return f"删除失败，文件和索引都保持原样。{_failure(applied.error)}", before
        a.searcher.refresh()
    finally:
        build_lock.release()
    what = "、".join(f"《{t}》" for t in titles) or source
    return f"已删除 {esc(what)}（{esc(source)}）。  \n{_index_line(applied.report)}", view()

