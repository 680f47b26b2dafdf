"""A draft as the drafting assistant reads it: cleaned like a corpus file, cut
into paragraphs (its lines) and sentences, each an exact slice of the text.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from qa.ingest.cleaning import clean_text
from qa.ingest.loading import LoadError, decode_bytes, read_file
from qa.ingest.outline import find_headings
from qa.ingest.splitting import looks_like_title
from qa.text.fold import has_word
from qa.text.sentences import sentence_units

#: drafts longer than this (cleaned characters) are refused: ~6,000 sentences, minutes of encoding
MAX_DRAFT_CHARS = 200_000
#: a "sentence" longer than this (no sentence marks) is cut at clause marks
MAX_SENTENCE_CHARS = 300
DRAFT_SUFFIXES = (".txt", ".md", ".markdown", ".docx")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class DraftError(ValueError):
    """A draft that cannot be processed; the message says why."""


@dataclass
class Sentence:
    """One sentence of the draft: ``text == draft.text[start:end]``.

    ``kind``: ``sentence``; ``heading`` for a heading alone (``一、加强教师队伍
    建设。``: a heading repeats a topic, it is not reused wording, so it is never
    marked 沿用); ``title`` for the draft's title line (no precedents: it would
    only find other reports' titles)."""

    n: int
    paragraph: int
    start: int
    end: int
    text: str
    kind: str = "sentence"


@dataclass
class Draft:
    """A cleaned draft (offsets index into ``text``) and its sentences."""

    text: str
    sentences: list[Sentence]

    @property
    def paragraphs(self) -> int:
        return self.sentences[-1].paragraph if self.sentences else 0


def read_draft(path: str | Path) -> str:
    """The raw text of a draft file (.txt/.md/.docx), or of stdin for ``-``."""
    if str(path) == "-":
        try:
            return decode_bytes(sys.stdin.buffer.read(), "<stdin>")
        except LoadError as exc:
            raise DraftError(f"draft {exc}") from exc
    path = Path(path)
    if path.suffix.lower() not in DRAFT_SUFFIXES:
        raise DraftError(f"{path}: unsupported draft type '{path.suffix}' (use {', '.join(DRAFT_SUFFIXES)} or - for stdin)")
    if not path.is_file():
        raise DraftError(f"{path}: no such file")
    try:
        return read_file(path)[0].text
    except LoadError as exc:
        raise DraftError(f"draft {exc}") from exc


def prepare_draft(raw: str, limit: int = MAX_DRAFT_CHARS) -> Draft:
    """Clean a draft like a corpus file and cut it into paragraphs and sentences.
    Empty or binary input and drafts over ``limit`` characters are refused."""
    if len(raw) > 2 * limit:  # refuse before cleaning a huge paste
        raise DraftError(f"the draft has {len(raw):,} characters; the limit is {limit:,} (split it into parts)")
    if len(_CONTROL.findall(raw[:65536])) > max(1, len(raw[:65536]) // 100):
        raise DraftError("the draft looks like binary data, not text")
    text = clean_text(raw)
    if not has_word(text):
        raise DraftError("the draft is empty: it has no words to look up")
    if len(text) > limit:
        raise DraftError(f"the draft has {len(text):,} characters; the limit is {limit:,} (split it into parts)")
    sentences: list[Sentence] = []
    cursor = 0
    for paragraph, line in enumerate(text.split("\n"), 1):
        line_start, cursor = cursor, cursor + len(line) + 1
        for a, b in sentence_units(text, line_start, line_start + len(line), MAX_SENTENCE_CHARS):
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if has_word(text, a, b):
                sentences.append(Sentence(len(sentences) + 1, paragraph, a, b, text[a:b]))
    _mark_headings(text, sentences)
    return Draft(text, sentences)


def _mark_headings(text: str, sentences: list[Sentence]) -> None:
    """Mark the draft's title line and the sentences that are a heading alone
    (the outline the corpus is read with, ``qa.ingest.outline``)."""
    if not sentences:
        return
    first = sentences[0]
    alone = len([s for s in sentences if s.paragraph == first.paragraph]) == 1 and len(sentences) > 1
    if alone and (looks_like_title(first.text) or not re.search(r"[。！？；!?;，,]", first.text)) \
            and not find_headings(first.text + "\n"):
        first.kind = "title"
    heads = {h.start: h.end for h in find_headings(text)}
    for s in sentences:
        end = heads.get(s.start)
        if s.kind == "sentence" and end is not None and s.end <= end + 1:
            s.kind = "heading"
