"""The web UI in a real browser: app.py as a subprocess, driven by playwright.

The tests take the README's screenshots on the way. They go to a temporary
folder, so testing leaves the checkout as it was; ``make screenshots`` runs
this file with ``QA_SCREENSHOTS=docs/screenshots`` to refresh the tracked ones.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 120_000

if not Path(CHROMIUM).exists():
    pytest.skip("needs /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def app_browser():
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where screenshots go: ``QA_SCREENSHOTS`` (``make screenshots``) or a temporary folder."""
    folder = Path(os.environ["QA_SCREENSHOTS"]) if os.environ.get("QA_SCREENSHOTS") else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture()
def app_page(app_browser, app_server):
    """A fresh page on the app that records every request and any JS dialog."""
    context = app_browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.requests_seen = []
    page.dialogs = []
    page.on("request", lambda r: page.requests_seen.append(r.url))

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(app_server)
    page.wait_for_selector("#question textarea")
    yield page
    context.close()


def _open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _ask(page, question: str) -> None:
    before = page.locator("#chatbot .message").count()
    page.fill("#question textarea", question)
    page.click("#ask-btn")
    page.wait_for_function(
        "n => document.querySelectorAll('#chatbot .message').length >= n + 2", arg=before, timeout=TIMEOUT)
    page.wait_for_function("() => !document.querySelector('#sources .pending, #chatbot .pending')")


def test_chat_answers_with_citations_and_highlighted_source(app_page, shots):
    page = app_page
    _ask(page, "教师交流的主要措施有哪些？")
    page.wait_for_selector("#sources mark.qa-cite")
    chat = page.inner_text("#chatbot")
    assert "划片交流" in chat
    assert re.search(r"\[\d+\]", chat), chat
    marks = page.locator("#sources mark.qa-cite").all_inner_texts()
    assert any("划片交流" in m for m in marks), marks
    assert "《" in page.inner_text("#sources")

    # a follow-up keeps the conversation
    _ask(page, "二是什么？")
    assert page.locator("#chatbot .message").count() >= 4
    assert "划片交流" in page.inner_text("#chatbot")

    # no request leaves the machine (no CDN fonts, no analytics)
    hosts = {urlparse(u).hostname for u in page.requests_seen if urlparse(u).scheme in ("http", "https", "ws", "wss")}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts
    page.screenshot(path=str(shots / "chat.png"), full_page=True)


def _search(page, text: str, ready: str) -> None:
    _open_tab(page, "检索先例 Search")
    page.fill("#search-query textarea", text)
    page.click("#search-btn")
    page.wait_for_selector(ready)


def test_precedent_search_highlights_overlap_and_cites(app_page, shots):
    page = app_page
    _search(page, "开展校长、教师交流工作，实行划片交流", "#search-results mark.qa-hl")
    text = page.inner_text("#search-results")
    assert re.search(r"《[^》]+》.*：“.+”", text), text
    assert "教师交流" in " ".join(page.locator("#search-results mark.qa-hl").all_inner_texts())
    assert "划片交流" in text
    assert "教育局年度安全工作总结篇十一" in page.inner_text("#search-table")
    page.screenshot(path=str(shots / "search.png"), full_page=True)


def test_evaluation_tab_runs(app_page, shots):
    page = app_page
    _open_tab(page, "评测 Evaluation")
    page.get_by_label("hybrid").uncheck()
    page.get_by_label("bm25").check()
    page.click("#eval-btn")
    page.wait_for_function("() => document.querySelector('#eval-table').innerText.includes('bm25')")
    page.wait_for_function("() => { const i = document.querySelector('#eval-chart img');"
                           " return i && i.complete && i.naturalWidth > 0; }")
    table = page.inner_text("#eval-table")
    for header in ("R@1", "R@5", "R@10", "MRR@10", "nDCG@10"):
        assert header in table, table
    assert "dev_questions.jsonl" in page.inner_text("#eval-summary")
    assert "bm25" in page.inner_text("#eval-missed")
    assert ".zip" in page.inner_text("#eval-report")
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / "eval.png"), full_page=True)


def test_corpus_tab_lists_documents(app_page, shots):
    page = app_page
    _open_tab(page, "语料 Corpus")
    page.wait_for_function("() => document.querySelector('#docs-table').innerText.includes('000_31ca190cb7e5fb0d.txt')")
    assert "xss_safety_report.txt" in page.inner_text("#docs-table")
    page.screenshot(path=str(shots / "corpus.png"), full_page=True)


def test_markup_in_reports_is_shown_as_text(app_page):
    page = app_page
    _search(page, "网络安全演练 攻击样本 拦截", "#search-results .qa-card")
    results = page.inner_text("#search-results")
    assert "<script>alert(1)</script>" in results
    assert "<img src=x onerror=alert(1)>" in results

    _open_tab(page, "问答 Chat")
    _ask(page, "网络安全演练发现的攻击样本是什么？")
    shown = page.inner_text("#chatbot") + page.inner_text("#sources")
    assert "alert(1)" in shown
    assert "<script>alert(1)</script>" in shown or "<img src=x onerror=alert(1)>" in shown
    page.wait_for_timeout(1000)
    assert page.dialogs == []
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("() => [...document.querySelectorAll('script')].some(s => s.textContent.includes('alert(1)'))") is False
