"""Loading and ingesting real files: one test per kind of bad input.

Every bad file must become a ``LoadError`` naming the file and the reason; a
corpus with bad files still yields its good documents. Files are built for
real (python-docx, matplotlib's PDF backend, real encodings); nothing is mocked.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from qa.ingest.corpus import corpus_files, ingest
from qa.ingest.loading import LoadError, read_file

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "corpus"
REPORT = ("教育局2024年工作总结\n一、加强教师队伍建设。全面提高教育质量,办人民满意的教育。\n"
          "二、推进均衡发展。新建学校3所,改扩建校舍1.2万平方米,新增学位2000个。\n")


def _load(path: Path) -> str:
    (raw,) = read_file(path)
    return raw.text


def _error(path: Path) -> LoadError:
    with pytest.raises(LoadError) as info:
        read_file(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    return info.value


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _docx(path: Path) -> Path:
    import docx

    path.parent.mkdir(parents=True, exist_ok=True)
    document = docx.Document()
    document.add_paragraph("教育局2024年工作总结")
    document.add_paragraph("一、加强教师队伍建设。全面提高教育质量,办人民满意的教育,新增骨干教师120名。")
    document.add_paragraph("二、推进均衡发展。新建学校3所。")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "学校"
    table.cell(0, 1).text = "56所"
    document.save(str(path))
    return path


def _pdf(path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    path.parent.mkdir(parents=True, exist_ok=True)
    with PdfPages(str(path)) as pdf:
        for line in ("Annual education report 2024", "Teachers trained: 500"):
            fig = plt.figure(figsize=(4, 3))
            fig.text(0.1, 0.5, line)
            pdf.savefig(fig)
            plt.close(fig)
    return path


def _truncate(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


# --- text files: encodings ---------------------------------------------------

def test_empty_file(tmp_path):
    assert _error(_write(tmp_path, "empty.txt", b"")).reason == "empty file"


def test_whitespace_only_file(tmp_path):
    error = _error(_write(tmp_path, "blank.txt", b"  \n\t \r\n  \n"))
    assert "whitespace" in error.reason


def test_binary_data_named_txt(tmp_path):
    error = _error(_write(tmp_path, "image.txt", bytes(range(256)) * 40))
    assert "binary" in error.reason


def test_gbk_file(tmp_path):
    assert _load(_write(tmp_path, "gbk.txt", REPORT.encode("gbk"))) == REPORT


def test_gb18030_file(tmp_path):
    text = REPORT + "扩展字符𠀀与欧元符号€\n"  # not encodable in GBK
    assert _load(_write(tmp_path, "gb18030.txt", text.encode("gb18030"))) == text


def test_utf16_with_bom(tmp_path):
    assert _load(_write(tmp_path, "u16.txt", REPORT.encode("utf-16"))) == REPORT


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(tmp_path, encoding):
    assert _load(_write(tmp_path, f"{encoding}.txt", REPORT.encode(encoding))) == REPORT


def test_utf16_without_bom_chinese_only(tmp_path):
    # Chinese characters have no NUL byte: only the ASCII comma gives it away
    text = "教育局工作总结。加强教师队伍建设,全面提高教育质量。"
    assert _load(_write(tmp_path, "cjk16.txt", text.encode("utf-16-le"))) == text


def test_utf8_with_bom(tmp_path):
    text = _load(_write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + REPORT.encode("utf-8")))
    assert text == REPORT and not text.startswith("\ufeff")


# --- documents ---------------------------------------------------------------

def test_valid_docx_loads_paragraphs_and_tables(tmp_path):
    text = _load(_docx(tmp_path / "report.docx"))
    assert text.splitlines() == ["教育局2024年工作总结", "一、加强教师队伍建设。全面提高教育质量,办人民满意的教育,新增骨干教师120名。",
                                 "二、推进均衡发展。新建学校3所。", "学校 56所"]


def test_truncated_docx(tmp_path):
    path = _truncate(_docx(tmp_path / "report.docx"))
    assert "corrupt or truncated .docx" in _error(path).reason


def test_zip_that_is_not_a_document_named_docx(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "这不是Word文档")
    error = _error(_write(tmp_path, "notes.docx", buffer.getvalue()))
    assert "not a Word document" in error.reason


def test_valid_pdf_loads(tmp_path):
    text = _load(_pdf(tmp_path / "report.pdf"))
    assert "Annual education report 2024" in text and "Teachers trained: 500" in text


def test_truncated_pdf(tmp_path):
    path = _truncate(_pdf(tmp_path / "report.pdf"))
    assert "corrupt or truncated PDF" in _error(path).reason


def test_html_drops_scripts_and_styles(tmp_path):
    page = (
        "<html><head><title>教育局工作总结</title><style>p { color: red }</style>"
        "<script>var secret = '脚本内容';</script></head><body>"
        "<nav>首页 | 下载</nav><p>一、加强教师队伍建设。</p><p>新建学校3所。</p>"
        "<script>alert('弹窗')</script></body></html>"
    )
    text = _load(_write(tmp_path, "page.html", page.encode("utf-8")))
    assert text.splitlines()[0] == "教育局工作总结"
    assert "一、加强教师队伍建设。" in text and "新建学校3所。" in text
    for gone in ("脚本内容", "alert", "color: red", "首页 | 下载"):
        assert gone not in text


def test_gbk_html(tmp_path):
    page = "<html><body><p>一、加强教师队伍建设。</p></body></html>".encode("gbk")
    assert "一、加强教师队伍建设。" in _load(_write(tmp_path, "gbk.html", page))


def test_unsupported_suffix(tmp_path):
    assert "unsupported file type" in _error(_write(tmp_path, "report.rtf", REPORT.encode())).reason


def test_jsonl_collection(tmp_path):
    lines = [json.dumps({"title": "报告一", "content": REPORT, "year": "2024"}, ensure_ascii=False),
             "not json", json.dumps({"title": "空"}), ""]
    raws = read_file(_write(tmp_path, "reports.jsonl", "\n".join(lines).encode()))
    assert [(r.title, r.part, r.meta) for r in raws] == [("报告一", 1, {"year": "2024"})]


# --- ingest: a corpus with good and bad files -------------------------------

@pytest.fixture
def mixed_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "003_23cd2b7cd9c0da57.txt", corpus)
    shutil.copy(SEEDS / "README.md", corpus)
    _write(corpus, "gbk_report.txt", REPORT.encode("gbk"))
    _docx(corpus / "sub" / "good.docx")
    _write(corpus, "empty.txt", b"")
    _write(corpus, "binary.txt", bytes(range(256)) * 40)
    _truncate(_docx(corpus / "sub" / "broken.docx"))
    _truncate(_pdf(corpus / "broken.pdf"))
    outside = _write(tmp_path, "outside.txt", "外部文件总结\n这是语料目录之外的文件,不应被读取。".encode())
    os.symlink(outside, corpus / "link_outside.txt")
    _write(corpus, ".hidden.txt", REPORT.encode())
    return corpus


def test_ingest_reports_bad_files_and_keeps_good_ones(mixed_corpus):
    result = ingest(mixed_corpus)
    reasons = {Path(e.path).relative_to(mixed_corpus).as_posix(): e.reason for e in result.errors}
    assert set(reasons) == {"empty.txt", "binary.txt", "sub/broken.docx", "broken.pdf"}
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "truncated .docx" in reasons["sub/broken.docx"]
    assert "truncated PDF" in reasons["broken.pdf"]
    sources = sorted({d.source for d in result.documents})
    assert sources == ["003_23cd2b7cd9c0da57.txt", "gbk_report.txt", "sub/good.docx"]
    titles = {d.source: d.title for d in result.documents}
    assert titles["003_23cd2b7cd9c0da57.txt"] == "县教育局教育工作开展实施情况总结规划"
    assert titles["gbk_report.txt"] == "教育局2024年工作总结"


def test_ingest_skips_readme_hidden_files_and_outside_symlinks(mixed_corpus):
    names = {p.relative_to(mixed_corpus).as_posix() for p in corpus_files(mixed_corpus)}
    assert "README.md" not in names
    assert ".hidden.txt" not in names
    assert "link_outside.txt" not in names
    assert "003_23cd2b7cd9c0da57.txt" in names
    result = ingest(mixed_corpus)
    assert all(d.source not in ("README.md", "link_outside.txt", ".hidden.txt") for d in result.documents)
    assert not any("不应被读取" in d.text for d in result.documents)
    assert not any("README" in e.path for e in result.errors)


def test_symlink_inside_corpus_is_followed(tmp_path):
    corpus = tmp_path / "corpus"
    _write(corpus, "real/report.txt", REPORT.encode())
    os.symlink(corpus / "real" / "report.txt", corpus / "alias.txt")
    assert {d.source for d in ingest(corpus).documents} == {"real/report.txt", "alias.txt"}


def test_ingest_records_file_hashes(mixed_corpus):
    result = ingest(mixed_corpus)
    assert set(result.hashes) >= {"003_23cd2b7cd9c0da57.txt", "empty.txt", "sub/good.docx"}
    assert all(len(h) == 64 for h in result.hashes.values())


# --- the command line ---------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_chunks_json_with_a_bad_file(mixed_corpus):
    run = _cli("chunks", "--corpus", str(mixed_corpus), "--json")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines
    sources = set()
    for line in lines:
        obj = json.loads(line)
        for name, kind in (("doc_id", str), ("title", str), ("source", str), ("section", list),
                           ("text", str), ("start", int), ("end", int)):
            assert isinstance(obj[name], kind), name
        assert obj["end"] - obj["start"] == len(obj["text"])
        sources.add(obj["source"])
    assert sources == {"003_23cd2b7cd9c0da57.txt", "gbk_report.txt", "sub/good.docx"}
    assert "4 warning(s)" in run.stderr
    for name in ("empty.txt", "binary.txt", "sub/broken.docx", "broken.pdf"):
        assert f"warning: skipped {mixed_corpus / name}: " in run.stderr


def test_cli_chunks_json_on_the_seed_corpus():
    run = _cli("chunks", "--corpus", str(SEEDS), "--json")
    assert run.returncode == 0, run.stderr
    chunks = [json.loads(line) for line in run.stdout.splitlines()]
    assert {c["source"] for c in chunks} == {p.name for p in SEEDS.glob("0*.txt")}
    assert len({c["doc_id"] for c in chunks}) == 4 + 14  # 004 holds 14 reports
    assert "warning" not in run.stderr
