"""The app's named API endpoints through gradio_client, against the real server."""

from __future__ import annotations


import pytest

gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def app_client(app_server):
    return gradio_client.Client(app_server, verbose=False)


def test_named_endpoints_exist(app_client):
    names = set(app_client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/ask", "/chat", "/search", "/search_ui", "/documents", "/upload", "/evaluate"} <= names, names


def test_ask(app_client):
    answer, sources = app_client.predict("教师交流的主要措施有哪些？", [], api_name="/ask")
    assert "划片交流" in answer and "[1]" in answer
    assert "<mark" in sources and "划片交流" in sources


def test_ask_follow_up_and_empty(app_client):
    answer, _ = app_client.predict("二是什么？", ["教师交流的主要措施有哪些？"], api_name="/ask")
    assert "[" in answer
    answer, sources = app_client.predict("   ", [], api_name="/ask")
    assert "请输入问题" in answer and sources == ""


def test_chat_endpoint_keeps_history(app_client):
    history, box, sources = app_client.predict("教师交流的主要措施有哪些？", [], api_name="/chat")
    assert box == "" and "划片交流" in sources
    assert [m["role"] for m in history] == ["user", "assistant"]


def test_search_with_filters(app_client, app_workdir):
    results = app_client.predict("教师交流", 3, [], "", 0, "hybrid", api_name="/search")
    assert 1 <= len(results) <= 3
    assert results[0]["citation"].startswith("《") and "：“" in results[0]["citation"]
    only = app_client.predict("教师交流", 5, ["001_8088773ffad2292a.txt"], "", 0, "bm25", api_name="/search")
    assert only and {r["doc_id"] for r in only} == {"001_8088773ffad2292a.txt"}


def test_search_escapes_markup(app_client):
    rows, html_out = app_client.predict("网络安全演练 攻击样本", 3, [], "", 0, "hybrid", api_name="/search_ui")
    assert "&lt;script&gt;" in html_out and "<script>" not in html_out
    assert "<img" not in html_out


def test_documents(app_client):
    rows = app_client.predict(api_name="/documents")
    sources = {r[2] for r in rows}
    assert "000_31ca190cb7e5fb0d.txt" in sources and "xss_safety_report.txt" in sources


def test_evaluate(app_client):
    table, summary = app_client.predict(None, ["bm25"], 5, api_name="/evaluate")
    assert "28" in summary
    assert table["data"][0][0] == "bm25" and float(table["data"][0][2]) > 0.5


def test_upload_accepts_rejects_and_indexes(app_client, app_workdir, tmp_path):
    good = tmp_path / "新报告 (2025).txt"
    good.write_text("二〇二五年校园足球工作总结\n\n一、基本情况\n全县新建校园足球特色学校十二所，组建青训梯队三十支。\n",
                    encoding="utf-8")
    bad = tmp_path / "evil.exe"
    bad.write_bytes(b"MZ\x00\x00")
    big = tmp_path / "big.txt"
    big.write_text("大" * 700_000, encoding="utf-8")  # ~2 MB > QA_MAX_UPLOAD_MB=1
    summary, rejected, docs, _ = app_client.predict(
        [gradio_client.handle_file(str(p)) for p in (good, bad, big)], api_name="/upload")
    reasons = {r[0]: r[1] for r in rejected["data"]}
    assert "evil.exe" in reasons and "big.txt" in reasons, reasons
    assert "新报告 (2025).txt" not in reasons
    corpus = app_workdir / "corpus"
    added = [p.name for p in corpus.iterdir() if "2025" in p.name]
    assert added and all("/" not in n and not n.startswith(".") for n in added), added
    assert not (corpus / "evil.exe").exists() and not (corpus / "big.txt").exists()
    results = app_client.predict("校园足球特色学校", 3, [], "", 0, "hybrid", api_name="/search")
    assert any("校园足球" in r["text"] for r in results)
