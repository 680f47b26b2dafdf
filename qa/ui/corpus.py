"""The 语料 tab: the indexed documents, and uploads that update the index."""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path
from typing import Callable, Iterable

from qa.ingest.loading import SUPPORTED_SUFFIXES
from qa.ui.render import esc
from qa.ui.state import assistant, build_lock

DOC_HEADERS = ["文档ID", "标题", "文件", "段落数", "字数", "状态"]
REJECT_HEADERS = ["文件", "原因"]


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
    limit = a.settings.max_upload_bytes
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

    with build_lock:
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
