"""What becomes of each uploaded file, decided before anything is copied.

Every file gets exactly one outcome: 已加入 (a new document), 已替换 (a
document of that name, or the one the user chose, now has these bytes) or
未接受 (with the reason and what to do next). A file is read and cleaned here
exactly as the build will read it (``qa.ingest.corpus.documents_from_file``),
so a binary file renamed ``.txt``, an empty file or one with no text left
after cleaning is refused *before* it reaches ``corpus/``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from qa.ingest.corpus import documents_from_file, file_hash
from qa.ingest.loading import SUPPORTED_SUFFIXES, LoadError
from qa.ui.messages import FORMATS, load_reason

logger = logging.getLogger(__name__)

ADDED, REPLACED, REFUSED = "已加入", "已替换", "未接受"


@dataclass
class Outcome:
    """One uploaded file: ``name`` as the user named it, ``status`` one of
    ADDED / REPLACED / REFUSED, ``detail`` the sentence the user reads,
    ``target`` its name in the corpus, ``replaces`` the corpus file it replaces."""

    name: str
    status: str
    detail: str = ""
    target: str | None = None
    replaces: str | None = None
    source: Path | None = None

    def row(self) -> list[str]:
        return [self.name, self.status, self.detail]


def sanitize_filename(name: str) -> str:
    """A safe base name: no directories, no hidden or README names, only
    letters (any script), digits, ``-``, ``_`` and ``.``."""
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").split("/")[-1]
    base = re.sub(r"[^\w.\-\u3400-\u9fff]+", "_", base).strip("._ ")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = (stem.strip("._- ") or "upload")[:100]  # "报告 (2025)" -> "报告_2025", not "报告_2025_"
    if stem.lower().startswith("readme"):
        stem = "upload_" + stem
    return f"{stem}.{suffix.lower()}" if suffix else stem


def _refused(name: str, reason: str) -> Outcome:
    return Outcome(name, REFUSED, reason)


def check_upload(src: Path, shown: str, corpus: Path, indexed: dict[str, str], limit: int,
                 taken: set[str], replace: str | None = None) -> Outcome:
    """Decide what happens to one upload (``shown``: the name the user gave it).

    ``indexed``: corpus name -> sha256 of the files the index holds; ``taken``:
    corpus names already claimed by earlier files of this upload; ``replace``:
    the corpus file the user chose to replace with this one."""
    suffix = Path(shown).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return _refused(shown, f"不支持 {suffix or '无扩展名'} 文件。请转换为 {FORMATS} 之一后再上传。")
    if not src.is_file():
        return _refused(shown, "文件没有传到服务器。请重新选择文件上传。")
    size = src.stat().st_size
    if size > limit:
        return _refused(shown, f"文件过大（{size / 1048576:.1f} MB，上限 {limit / 1048576:g} MB）。"
                               "请拆分成几个文件，或删去其中的图片后再上传。")
    if size == 0:
        return _refused(shown, load_reason("empty file"))
    target = sanitize_filename(shown)
    if replace:  # the chosen document keeps its name (and ID) unless the format changes
        target = replace if Path(replace).suffix.lower() == suffix else target
        if target != replace and (corpus / target).exists():
            return _refused(shown, f"语料库中已有另一个文件叫 {target}。请改名后再用它替换 {replace}。")
    if target in taken:
        return _refused(shown, f"本次上传中已有同名文件 {target}。请改名后单独上传。")
    if not (corpus / target).resolve().is_relative_to(corpus.resolve()):
        return _refused(shown, "文件名不可用。请改用普通文件名（中文、字母、数字）后再上传。")
    digest = file_hash(src)
    same = next((s for s, h in sorted(indexed.items()) if h == digest), None)
    if same is not None:
        return _refused(shown, f"与语料库中的 {same} 内容完全相同，无需重复上传。")
    try:
        documents_from_file(src, target)
    except LoadError as exc:
        return _refused(shown, load_reason(exc))
    except Exception as exc:  # a parser's own bug must not look like success, nor stop the other files
        logger.warning("upload %s could not be read: %r", shown, exc)
        return _refused(shown, load_reason(f"cannot read ({type(exc).__name__})"))
    replaced = replace or (target if (corpus / target).exists() else None)
    if replaced:
        detail = f"替换了 {replaced}" + (f"，新文件名 {target}" if target != replaced else "") + "，索引已更新。"
        return Outcome(shown, REPLACED, detail, target, replaced, src)
    return Outcome(shown, ADDED, f"保存为 {target}，已建入索引。", target, None, src)
