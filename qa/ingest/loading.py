"""Read corpus files of any supported format into raw text.

Loading only decodes; it does not clean. Every failure becomes a ``LoadError``
naming the file and the reason, so the caller can report it and go on.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".docx", ".pdf", ".jsonl"}

#: A .docx whose XML inflates beyond this is refused (zip bombs).
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_DOCX_RATIO = 200


class LoadError(Exception):
    """A file that cannot be read; the message says which and why."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass
class RawText:
    """Decoded text of one file (or one line of a .jsonl collection)."""

    text: str
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    part: int | None = None  # line number within a .jsonl collection


def decode_bytes(data: bytes, path: Path | str = "<bytes>") -> str:
    """Decode text whose encoding is unknown: BOMs first, then strict UTF-8,
    then GB18030 (a superset of GBK/GB2312, the usual legacy encoding of these
    reports), then charset-normalizer's guess for anything else."""
    if not data:
        raise LoadError(path, "empty file")
    if not data.strip():
        raise LoadError(path, "no text (whitespace only)")
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding)
    if _looks_binary(data):
        raise LoadError(path, "binary data, not text")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None:
        raise LoadError(path, "unknown text encoding")
    return str(best)


def _looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters mean binary data (UTF-16 without a
    BOM is handled by charset-normalizer, which recognises the zero pattern)."""
    sample = data[:65536]
    if b"\x00" in sample:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        utf16_like = max(even, odd) > len(sample) / 4 and min(even, odd) < len(sample) / 50
        return not utf16_like
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > len(sample) / 100


#: characters of plain Chinese or English text (CJK, CJK/full-width punctuation, printable ASCII)
_PLAIN = re.compile("[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2000-\u206f\x20-\x7e\t\n\r]")


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM. Chinese characters have no NUL byte, so the
    NUL pattern alone cannot tell it from binary data: decode both byte orders
    and keep the one that reads as plain text, if either does."""
    if len(data) % 2:
        return None
    best, best_score = None, 0.0
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:4000]
        score = len(_PLAIN.findall(sample)) / max(1, len(sample))
        if score > best_score:
            best, best_score = text, score
    return best if best_score >= 0.9 else None


def read_text_file(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:65536] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        utf16 = _utf16_without_bom(data)
        if utf16 is not None:
            if not utf16.strip():
                raise LoadError(path, "no text (whitespace only)")
            return utf16
    text = decode_bytes(data, path)
    if not text.strip():
        raise LoadError(path, "no text (whitespace only)")
    return text


def read_html(path: Path) -> str:
    """Visible text of a web page: scripts, styles and navigation removed."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_bytes(path.read_bytes(), path), "lxml")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "nav", "header", "footer"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    body = soup.get_text("\n")
    return f"{title}\n{body}" if title else body


def _inflate_docx(path: Path) -> io.BytesIO:
    """The .docx re-packed in memory from members inflated in bounded steps.

    The sizes a zip declares can lie; python-docx reads a member in one call
    (1 MB of zeros can inflate to 1 GB at once). Inflating here, 1 MB at a time
    and never past the declared size or ``MAX_DOCX_UNCOMPRESSED`` in all,
    bounds memory and time whatever the headers say."""
    out = io.BytesIO()
    total = 0
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        declared = sum(info.file_size for info in infos)
        packed = max(1, sum(info.compress_size for info in infos))
        if declared > MAX_DOCX_UNCOMPRESSED or declared / packed > MAX_DOCX_RATIO:
            raise LoadError(path, f"refused: inflates to {declared} bytes (possible zip bomb)")
        if "word/document.xml" not in zf.namelist():
            raise LoadError(path, "not a Word document (no word/document.xml)")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
            for info in infos:
                if info.is_dir():
                    continue
                parts = []
                with zf.open(info) as member:
                    while block := member.read(1 << 20):
                        total += len(block)
                        if total > MAX_DOCX_UNCOMPRESSED:
                            raise LoadError(path, f"refused: inflates past {MAX_DOCX_UNCOMPRESSED} bytes (zip bomb)")
                        parts.append(block)
                copy.writestr(info.filename, b"".join(parts))
    out.seek(0)
    return out


def read_docx(path: Path) -> str:
    """Paragraph text of a Word file, refusing zip bombs before parsing."""
    import docx  # python-docx

    try:
        data = _inflate_docx(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as exc:
        raise LoadError(path, f"corrupt or truncated .docx ({exc})") from exc
    try:
        document = docx.Document(data)
    except Exception as exc:  # python-docx raises several unrelated types
        raise LoadError(path, f"corrupt .docx ({type(exc).__name__}: {exc})") from exc
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise LoadError(path, "password-protected PDF")
            except LoadError:
                raise
            except Exception as exc:
                raise LoadError(path, f"password-protected PDF ({exc})") from exc
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise LoadError(path, f"corrupt or truncated PDF ({exc})") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise LoadError(path, "PDF has no extractable text (scanned image?)")
    return text


def read_jsonl(path: Path) -> list[RawText]:
    """A collection: one report per line with ``title`` and ``content``; other
    fields (year, url, region, ...) are kept as metadata for filters."""
    items: list[RawText] = []
    text = decode_bytes(path.read_bytes(), path)
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            logger.warning("%s line %d: not JSON (%s); skipped", path, lineno, exc.msg)
            continue
        content = obj.get("content") if isinstance(obj, dict) else None
        if not isinstance(content, str) or not content.strip():
            logger.warning("%s line %d: no 'content' text; skipped", path, lineno)
            continue
        meta = {k: v for k, v in obj.items() if k not in ("content", "title")}
        items.append(RawText(content, str(obj.get("title") or "").strip() or None, meta, lineno))
    if not items:
        raise LoadError(path, "no usable lines (need JSON objects with 'content')")
    return items


def read_file(path: Path) -> list[RawText]:
    """Raw text of one corpus file; a .jsonl collection yields several."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(path, f"unsupported file type '{suffix}' (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    try:
        if path.stat().st_size == 0:
            raise LoadError(path, "empty file")
        if suffix == ".jsonl":
            return read_jsonl(path)
        if suffix in HTML_SUFFIXES:
            text = read_html(path)
        elif suffix == ".docx":
            text = read_docx(path)
        elif suffix == ".pdf":
            text = read_pdf(path)
        else:
            text = read_text_file(path)
    except OSError as exc:
        raise LoadError(path, f"cannot read ({exc.strerror or exc})") from exc
    if not text.strip():
        raise LoadError(path, "no text")
    return [RawText(text)]
