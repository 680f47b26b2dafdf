"""What the app says when a file, a draft or a question cannot be used:
Chinese, with what to do next, and never where the server keeps files.

The reasons come from the real readers (``qa.ingest``, ``qa.drafting``,
``qa.questions``) on real bad files, so a reason whose wording changes, or
a new one nobody translated, fails here instead of reaching a user in English.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.drafting.draft import DraftError, prepare_draft, read_draft
from qa.ingest.corpus import documents_from_file
from qa.ingest.loading import LoadError
from qa.questions import read_questions
from qa.ui import messages

ROOT = Path(__file__).resolve().parent.parent
#: ASCII words a Chinese sentence may name: formats, encodings, programs, field names, commands
ALLOWED = {"txt", "md", "html", "docx", "pdf", "jsonl", "json", "utf", "gb18030", "word", "wps", "pdf", "ocr",
           "content", "evidence", "relevant", "history", "question", "id", "kind", "none", "python", "qa", "draft",
           "build", "rebuild", "make", "run", "mb", "m"}


def _assert_chinese(sentence: str, *secrets: str) -> None:
    """Chinese, ends with what to do, no path, no English beyond names."""
    assert len(re.findall(r"[\u4e00-\u9fff]", sentence)) >= 4, sentence
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", sentence)} - ALLOWED
    assert not words, (words, sentence)
    for secret in secrets:
        assert secret not in sentence, (secret, sentence)
    assert "/" not in sentence.replace(" / ", ""), sentence


BAD_FILES = {
    "renamed.txt": b"PK\x03\x04\x14\x00\x00\x00\x08\x00binary\x00\x00\x01\x02\x03\x04" * 40,
    "empty.txt": b"",
    "blank.md": b" \n\t\n  ",
    "not-word.docx": "这不是压缩包".encode(),
    "broken.pdf": b"%PDF-1.4\n1 0 obj garbage",
    "lines.jsonl": b'{"title": "no content"}\n',
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_every_unreadable_file_gets_a_chinese_reason(tmp_path, name):
    path = tmp_path / "server-only" / name
    path.parent.mkdir()
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(LoadError) as info:
        documents_from_file(path, name)
    sentence = messages.load_reason(info.value)
    assert sentence != messages.UNKNOWN_FILE, (info.value.reason, sentence)
    _assert_chinese(sentence, str(tmp_path), "server-only")
    # the stored form (manifest "failed": "path: reason") reads the same
    assert messages.load_reason(str(info.value)) == sentence


def test_every_reason_the_readers_can_raise_is_translated():
    """Each literal reason written in qa/ingest (LoadError(path, "...")) and in
    qa/drafting/draft.py (DraftError("...")) has its own sentence."""
    def literals(pattern: str, text: str) -> list[str]:  # f-string fields filled with a number
        return [re.sub(r"\{[^}]*\}", "1,000", r) for r in re.findall(pattern, text)]

    reasons = []
    for source in sorted((ROOT / "qa" / "ingest").glob("*.py")):
        reasons += literals(r'LoadError\(\w+, f?"([^"]+)', source.read_text(encoding="utf-8"))
    assert len(reasons) >= 15, reasons
    for reason in reasons:
        assert messages.load_reason(reason) != messages.UNKNOWN_FILE, reason
    drafts = literals(r'DraftError\(f?"([^"]+)', (ROOT / "qa" / "drafting" / "draft.py").read_text(encoding="utf-8"))
    for reason in drafts:
        if reason.startswith("draft "):  # wraps a LoadError: translated through its cause
            continue
        sentence = messages.draft_error(DraftError(reason))
        assert "请检查草稿内容" not in sentence, reason  # not the general fallback


def test_draft_problems_name_no_server_path(tmp_path):
    empty = tmp_path / "gradio-upload" / "empty.txt"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    with pytest.raises(DraftError) as info:
        read_draft(empty)
    assert str(tmp_path) in str(info.value)  # the CLI's message keeps the path ...
    sentence = messages.draft_error(info.value)
    _assert_chinese(sentence, str(tmp_path), "gradio-upload")  # ... the app's does not
    assert sentence.startswith("无法分析草稿：文件是空的")
    for text, expected in (("   \n  ", "草稿是空的"), ("".join(f"第{i}项工作稳步推进。" for i in range(4_000)), "超过了 30,000 字的上限")):
        with pytest.raises(DraftError) as info:
            prepare_draft(text, limit=30_000)
        sentence = messages.draft_error(info.value)
        assert expected in sentence, sentence
        _assert_chinese(sentence)


def test_question_file_problems_read_by_line(tmp_path):
    path = tmp_path / "uploads" / "题集.jsonl"
    path.parent.mkdir()
    path.write_text('{"id": "一号", "question": "甲？", "evidence": ["甲"]}\n{"id": \n{"id": "二号"}\n'
                    '{"id": "一号", "question": "乙？", "evidence": ["乙"]}\n', encoding="utf-8")
    _, problems = read_questions(path)
    shown = [messages.question_problem(p) for p in problems]
    assert shown == ["题集.jsonl 第 2 行：不是有效的 JSON（请检查引号、逗号和括号）",
                     "题集.jsonl 第 3 行：缺少 \"question\" 字段",
                     "题集.jsonl 第 4 行：编号 '一号' 重复，已跳过此行"], shown
    for sentence in shown:
        _assert_chinese(sentence, str(tmp_path))


def test_paths_are_cut_to_file_names():
    assert messages.strip_paths("draft /tmp/gradio/ab12/草稿.txt: empty file") == "draft 草稿.txt: empty file"
    assert messages.strip_paths(r"C:\Users\li\报告.docx is broken") == "报告.docx is broken"
    assert messages.strip_paths("见 1/2 与 a/b") == "见 1/2 与 a/b"  # not absolute: left alone


def test_index_problems_say_what_to_do():
    from qa.index.storage import BuildLocked, IndexCorrupt, IndexMissing

    for exc in (BuildLocked("another build is writing /srv/qa/index (pid 12)"), IndexMissing("no index in /srv/x"),
                IndexCorrupt("/srv/x/manifest.json is unreadable")):
        sentence = messages.index_problem(exc)
        _assert_chinese(sentence, "/srv")
