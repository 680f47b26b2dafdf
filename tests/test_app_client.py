"""The app's named API endpoints through gradio_client, against the real server."""

from __future__ import annotations

import csv
import dataclasses
import html
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from conftest import APP_AUTH, APP_ROOT

gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def app_client(app_server):
    return gradio_client.Client(app_server, verbose=False)


def test_named_endpoints_exist(app_client):
    names = set(app_client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/ask", "/chat", "/search", "/search_ui", "/documents", "/upload", "/delete", "/evaluate"} <= names, names


def test_ask(app_client):
    answer, sources = app_client.predict("教师交流的主要措施有哪些？", [], api_name="/ask")
    assert "划片交流" in answer
    assert any("划片交流" in text for text in _cited(answer, sources).values())


#: the third of the teacher-exchange measures in 004 (篇十一): "教师交流的主要措施有：一是实行划片交流。…三是……"
THIRD_MEASURE = "中小学教师的交流与特级教师评选、评先选优挂钩"


def test_ask_follow_up_and_empty(app_client):
    """The follow-up is read with the earlier question: it names the third
    teacher-exchange measure, cited, and every "三是" it quotes is about
    exchanges (asked alone, "三是什么？" also brings the third items of
    unrelated lists: psychology lessons, student aid)."""
    answer, sources = app_client.predict("三是什么？", ["教师交流的主要措施有哪些？"], api_name="/ask")
    assert re.search(re.escape(THIRD_MEASURE) + r"[^\n\[]{0,3}\[\d+\]", answer), answer
    items = re.findall(r"三是[^\n\[]*", answer)
    assert items and all("交流" in item for item in items), items
    assert THIRD_MEASURE[:8] in sources and "篇十一" in sources
    answer, sources = app_client.predict("二是什么？", ["教师交流的主要措施有哪些？"], api_name="/ask")
    from qa.text.fold import normalize_text

    assert "职称评审挂钩" in normalize_text(answer) and "划片交流" not in normalize_text(answer)
    cited = _cited(answer, sources)  # every [n] of the answer marks its sentence in the sources
    assert any("职称评审挂钩" in normalize_text(text) for text in cited.values()), cited
    answer, sources = app_client.predict("   ", [], api_name="/ask")
    assert "请输入问题" in answer and sources == ""


def _cited(answer: str, sources: str) -> dict[int, str]:
    """n -> the sentence the sources mark for the answer's citation [n]; fails
    when the answer cites nothing or cites a number no source marks."""
    import html

    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    marked = {int(n): html.unescape(text) for text, n in
              re.findall(r'<mark class="qa-cite">(.*?)</mark><sup>\[(\d+)\]</sup>', sources, re.S)}
    assert numbers and numbers <= set(marked), (numbers, sorted(marked), answer)
    return {n: marked[n] for n in numbers}


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
    """[doc_id, title, source, chunks, chars, status, year, region, sections] (the first six as before)."""
    rows = app_client.predict(api_name="/documents")
    sources = {r[2] for r in rows}
    assert "000_31ca190cb7e5fb0d.txt" in sources and "xss_safety_report.txt" in sources
    assert all(len(r) == 9 and r[5] == "已索引" and int(r[3]) > 0 for r in rows), rows[:2]


def test_evaluate(app_client):
    """The tab's default: the development set, retrieval (28 questions) and
    answers (28 + 10 the reports cannot answer), the figures `qa eval` and
    `qa eval --answers` give on the seeds."""
    table, summary, chart, missed, answers, answer_missed, report = app_client.predict(
        None, ["bm25"], 10, True, api_name="/evaluate")
    assert "dev_questions.jsonl + dev_unanswerable.jsonl" in summary and "检索评测 28 题" in summary
    assert "回答评测 38 题（含无答案题 10 题）" in summary and "评测完成" in summary
    assert table["headers"] == ["配置", "问题数", "R@1", "R@3", "R@5", "R@10", "MRR@10", "nDCG@10"]
    row = table["data"][0]
    assert row[0] == "bm25" and int(row[1]) == 28
    r1, r3, r5, r10, mrr, ndcg = map(float, row[2:])
    assert r1 <= r3 <= r5 <= r10 <= 1 and r1 <= mrr <= r10 and 0 < ndcg <= 1

    # answers: per kind and 全部, as `qa eval --answers` (docs/answers.md: dev set answered 1.0, declined 0.7)
    assert answers["headers"] == ["题型", "问题数", "答出且含证据", "检索 R@5", "正确拒答", "引文精确", "回答中位字数"]
    total = {r[0]: r for r in answers["data"]}["全部"]
    assert int(total[1]) == 38 and float(total[2]) >= 26 / 28 - 1e-3 and float(total[5]) == 1.0, total
    declined = float(total[4])
    assert 0.5 <= declined <= 1.0, total
    assert len(answer_missed["data"]) == round(10 * (1 - declined)) + round(28 * (1 - float(total[2]))), answer_missed
    none_row = {r[0]: r for r in answers["data"]}["无答案"]
    assert int(none_row[1]) == 10 and none_row[2] == "—" and float(none_row[4]) == declined

    with zipfile.ZipFile(report) as z:
        names = {Path(n).name for n in z.namelist()}
        assert {"report.json", "report.md", "chart.png", "qrels.txt", "run-bm25.txt", "answers.json"} <= names, names
        data = json.loads(z.read(next(n for n in z.namelist() if n.endswith("report.json"))))
        answer_data = json.loads(z.read(next(n for n in z.namelist() if n.endswith("answers.json"))))
    assert "/" not in data["meta"]["questions_file"] and "/" not in data["meta"]["index"]  # no server paths
    assert {r["kind"]: r["questions"] for r in answer_data["by_kind"]}["all"] == 38
    cfg = data["configs"][0]
    assert cfg["name"] == "bm25" and cfg["n"] == 28
    assert abs(cfg["overall"]["R@5"] - r5) < 1e-3 and abs(cfg["overall"]["nDCG@10"] - ndcg) < 1e-3
    assert data["meta"]["questions"] == 28
    # the chart: R@5 and MRR@10 overall and per kind, drawn by the browser with Chinese labels, bars in order
    plotted = chart["value"]
    assert plotted["columns"] == ["类别", "数值", "配置"] and chart["sort"] == [row[0] for row in plotted["data"]]
    bars = {row[0]: row[1] for row in plotted["data"]}
    kinds = sorted(cfg["by_kind"])
    names = {"fact": "事实", "english": "英文", "paraphrase": "换说法", "cleaning": "清洗", "traditional": "繁体"}
    for metric in ("R@5", "MRR@10"):
        assert abs(bars[f"总体（28题）{metric}"] - cfg["overall"][metric]) < 1e-3
        for k in kinds:
            label = next(b for b in bars if b.startswith(f"{names[k]}（") and b.endswith(f"题）{metric}"))
            assert abs(bars[label] - cfg["by_kind"][k][metric]) < 1e-3, (label, bars)
    assert len(bars) == 2 * (1 + len(kinds)) and {row[2] for row in plotted["data"]} == {"bm25"}

    # missed questions: the harness's missed@5, worst first, with what came back instead: as many as R@5
    # says (the figures themselves are gated on the seeds by tests/test_quality_gates.py)
    assert len([r for r in missed["data"] if any(r)]) == round(28 * (1 - r5)), (r5, missed["data"])
    table, _, _, missed, answers, _, report = app_client.predict(None, ["dense"], 10, False, api_name="/evaluate")
    assert answers["data"] in ([], [[]]) or not any(answers["data"][0]), answers  # answers not asked for
    dense_r5 = float(table["data"][0][4])
    assert dense_r5 < 1, "dense alone misses dev questions (README's table): the missed table needs some"
    assert len(missed["data"]) == round(28 * (1 - dense_r5)) and {r[0] for r in missed["data"]} == {"dense"}
    with zipfile.ZipFile(report) as z:
        dense = json.loads(z.read(next(n for n in z.namelist() if n.endswith("report.json"))))["configs"][0]
    assert sorted(r[1] for r in missed["data"]) == dense["missed_at_5"]
    ranks = [10**6 if r[4] == "未命中" else int(r[4]) for r in missed["data"]]
    assert ranks == sorted(ranks, reverse=True)
    assert all("《" in r[5] or "无结果" in r[5] for r in missed["data"])


def test_evaluate_reports_bad_lines(app_client, tmp_path):
    """Bad lines are named by file and line, in Chinese; the good ones are evaluated."""
    qs = tmp_path / "题集.jsonl"
    qs.write_text("\n".join([
        '{"id": "a1", "question": "新城第四初中整体新建工程投资了多少？", "evidence": ["投资3280万元"], "kind": "fact"}',
        '{"id": "a2", "question": ',
        '{"id": "a3", "evidence": ["x"]}',
        '{"id": "a4", "question": "对多少所学校的校舍及供暖设施进行了维修改造？", "evidence": ["29所学校"]}',
        '{"id": "a5", "question": "全县有多少名宇航员？", "kind": "none"}',
    ]) + "\n", encoding="utf-8")
    table, summary, chart, missed, answers, _, report = app_client.predict(
        gradio_client.handle_file(str(qs)), ["bm25", "hybrid"], 10, True, api_name="/evaluate")
    summary = html.unescape(summary)  # as the page shows it
    assert "题集.jsonl 第 2 行：不是有效的 JSON" in summary, summary
    assert "题集.jsonl 第 3 行：缺少 \"question\" 字段" in summary
    assert "检索评测 2 题" in summary and "回答评测 3 题（含无答案题 1 题）" in summary
    assert "/tmp" not in summary and "gradio" not in summary and "not valid" not in summary
    assert [r[0] for r in table["data"]] == ["bm25", "hybrid"] and all(int(r[1]) == 2 for r in table["data"])
    assert {r[0]: int(r[1]) for r in answers["data"]} == {"事实": 1, "其他": 1, "无答案": 1, "全部": 3}
    assert {row[2] for row in chart["value"]["data"]} == {"bm25", "hybrid"}  # one bar per configuration
    assert len({row[0] for row in chart["value"]["data"]}) == len(chart["value"]["data"])  # none stacked
    with zipfile.ZipFile(report) as z:
        data = json.loads(z.read(next(n for n in z.namelist() if n.endswith("report.json"))))
    assert [c["name"] for c in data["configs"]] == ["bm25", "hybrid"] and data["meta"]["questions"] == 2
    assert len(data["meta"]["question_problems"]) == 2

    bad = tmp_path / "empty.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    table, summary, chart, missed, answers, _, report = app_client.predict(
        gradio_client.handle_file(str(bad)), ["bm25"], 10, True, api_name="/evaluate")
    assert table["data"] in ([], [[]]) or not any(table["data"][0]), table
    assert "empty.jsonl 第 1 行" in summary and "没有可用的问题" in summary and report is None
    assert chart is None or chart.get("value") is None, chart


def test_export_csv_and_markdown(app_ui, tmp_path):
    results = app_ui.search.search_results("教师交流", 3)
    assert results
    results.append({**results[0], "rank": len(results) + 1, "title": "=HYPERLINK(\"http://x\")",
                    "section": "+1", "citation": "-2+3", "source": "@SUM(A1)"})
    path = Path(app_ui.search.export_results(results, "csv", tmp_path))
    assert path.exists() and path.suffix == ".csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == app_ui.search.SEARCH_HEADERS + ["段落"]
    assert len(rows) == 1 + len(results)
    assert rows[1][4] == results[0]["citation"] and re.match(r"《[^》]+》.*：“.+”", rows[1][4])
    assert rows[-1][2:6] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2+3", "'@SUM(A1)"]
    assert not any(cell[:1] in "=+-@" for row in rows[1:] for cell in row if cell)

    md = Path(app_ui.search.export_results(results[:-1], "markdown", tmp_path))
    assert md.exists() and md.suffix == ".md"
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# 检索先例")
    for r in results[:-1]:
        assert f"{r['rank']}. {r['citation']}" in text and r["source"] in text
    assert app_ui.search.export_results([], "csv", tmp_path) is None


def test_chat_stream_without_llm_is_one_extractive_step(app_ui):
    steps = list(app_ui.chat.ask_stream("教师交流的主要措施有哪些？", []))
    assert len(steps) == 1
    answer, sources = steps[0]
    assert "划片交流" in answer and any("划片交流" in text for text in _cited(answer, sources).values())


def test_chat_stream_falls_back_when_generation_server_fails(app_ui, monkeypatch):
    """Configured but unreachable (nothing listens on port 9): the extractive answer, not an error."""
    a = app_ui.state.assistant()
    monkeypatch.setattr(a, "settings", dataclasses.replace(
        a.settings, llm_base_url="http://127.0.0.1:9/v1", llm_model="none", llm_timeout=5.0))
    assert app_ui.chat.llm_configured()
    answer, sources = list(app_ui.chat.ask_stream("教师交流的主要措施有哪些？", []))[-1]
    assert "划片交流" in answer and any("划片交流" in text for text in _cited(answer, sources).values())


def test_password_auth(app_auth_server):
    from gradio_client.exceptions import AuthenticationError

    url, log = app_auth_server
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        gradio_client.Client(url, verbose=False)
    for endpoint in ("config", "gradio_api/info"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + endpoint, timeout=30)
        assert err.value.code in (401, 403)
    post = urllib.request.Request(url + "gradio_api/call/documents", data=b'{"data": []}',
                                  headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(post, timeout=30)
    assert err.value.code in (401, 403)

    client = gradio_client.Client(url, auth=APP_AUTH, verbose=False)
    rows = client.predict(api_name="/documents")
    assert "000_31ca190cb7e5fb0d.txt" in {r[2] for r in rows}
    with pytest.raises(ValueError, match="Could not login to"):  # gradio answers a wrong password with 400
        gradio_client.Client(url, auth=(APP_AUTH[0], "wrong"), verbose=False)
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "Running on" in output
    assert APP_AUTH[1] not in output


def test_missing_index_exits_with_instructions(tmp_path):
    env = {**os.environ, "QA_INDEX": str(tmp_path / "no-index"), "HF_HUB_OFFLINE": "1",
           "GRADIO_SERVER_PORT": "1"}  # never reached: it must stop before serving
    proc = subprocess.run([sys.executable, str(APP_ROOT / "app.py")], cwd=APP_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "python -m qa build" in proc.stderr and "make run" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def _upload(client, *paths: Path, replace: str | None = None) -> tuple[dict, str]:
    """Upload through the tab's endpoint → ({file: (outcome, detail)}, summary)."""
    outcomes, summary, *_ = client.predict([gradio_client.handle_file(str(p)) for p in paths], replace,
                                           api_name="/upload")
    return {row[0]: (row[1], row[2]) for row in outcomes["data"]}, summary


def _finds(client, text: str, phrase: str) -> bool:
    return any(phrase in r["text"] for r in client.predict(text, 5, [], "", 0, "hybrid", api_name="/search"))


def test_upload_says_what_became_of_each_file(app_client, app_workdir, tmp_path):
    """Exactly one outcome per file; a refused file (binary renamed .txt, empty,
    too large, unsupported) never reaches corpus/ and its reason is Chinese,
    says what to do, and names no server path."""
    good = tmp_path / "新报告 (2025).txt"
    good.write_text("二〇二五年校园足球工作总结\n\n一、基本情况\n全县新建校园足球特色学校十二所，组建青训梯队三十支。\n",
                    encoding="utf-8")
    fake = tmp_path / "照片.txt"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)  # an image renamed .txt
    empty = tmp_path / "空白.txt"
    empty.write_bytes(b"")
    big = tmp_path / "big.txt"
    big.write_text("大" * 700_000, encoding="utf-8")  # ~2 MB > QA_MAX_UPLOAD_MB=1
    exe = tmp_path / "evil.exe"
    exe.write_bytes(b"MZ\x00\x00")
    outcomes, summary = _upload(app_client, good, fake, empty, big, exe)
    assert {name: o for name, (o, _) in outcomes.items()} == {
        good.name: "已加入", fake.name: "未接受", empty.name: "未接受", big.name: "未接受", exe.name: "未接受"}, outcomes
    assert "不是文字" in outcomes[fake.name][1] and "空的" in outcomes[empty.name][1]
    assert "过大" in outcomes[big.name][1] and "不支持" in outcomes[exe.name][1]
    for name, (_, detail) in outcomes.items():
        if name != good.name:  # the reason, then what to do
            assert "/" not in detail and "binary" not in detail and "请" in detail, detail
    assert summary.startswith("已加入 1 个，未接受 4 个。")
    corpus = app_workdir / "corpus"
    stored = [p.name for p in corpus.iterdir() if "2025" in p.name]
    assert stored == ["新报告_2025.txt"], stored  # a safe name, said in the detail
    assert "新报告_2025.txt" in outcomes[good.name][1]
    for refused in (fake, empty, big, exe):
        assert not (corpus / refused.name).exists(), refused.name
    assert _finds(app_client, "校园足球特色学校", "十二所")
    rows = app_client.predict(api_name="/documents")
    assert [r for r in rows if r[2] == "新报告_2025.txt"][0][5] == "已索引"
    assert not any(r[2] == fake.name for r in rows)


def test_upload_replaces_refuses_duplicates_and_delete_removes(app_client, app_workdir, tmp_path):
    """Same name, new bytes: 已替换 and only the new text is found; the same
    bytes again: refused as a duplicate; deleting removes file and passages."""
    first = tmp_path / "v1" / "课后服务.txt"
    first.parent.mkdir()
    first.write_text("二〇二五年课后服务工作总结\n\n一、基本情况\n全县课后服务覆盖学校八十六所，参与学生二万一千人。\n",
                     encoding="utf-8")
    assert _upload(app_client, first)[0] == {"课后服务.txt": ("已加入", "保存为 课后服务.txt，已建入索引。")}
    again, summary = _upload(app_client, first)
    assert again["课后服务.txt"][0] == "未接受" and "内容完全相同" in again["课后服务.txt"][1], again
    assert summary.startswith("没有文件加入语料库")
    second = tmp_path / "v2" / "课后服务.txt"
    second.parent.mkdir()
    second.write_text("二〇二五年课后服务工作总结（修订）\n\n一、基本情况\n全县课后服务覆盖学校九十四所，参与学生二万六千人。\n",
                      encoding="utf-8")
    replaced, summary = _upload(app_client, second)
    assert replaced == {"课后服务.txt": ("已替换", "替换了 课后服务.txt，索引已更新。")}, replaced
    assert "修改 1 个" in summary
    corpus = app_workdir / "corpus"
    assert (corpus / "课后服务.txt").read_bytes() == second.read_bytes()
    assert _finds(app_client, "课后服务覆盖学校多少所", "九十四所")
    assert not _finds(app_client, "课后服务覆盖学校多少所", "八十六所")

    message, *_ = app_client.predict("课后服务.txt", api_name="/delete")
    assert "已删除 《二〇二五年课后服务工作总结（修订）》" in message["value"], message
    assert not (corpus / "课后服务.txt").exists() and not (corpus / ".qa-pending").exists()
    assert not any(r[2] == "课后服务.txt" for r in app_client.predict(api_name="/documents"))
    assert not _finds(app_client, "课后服务覆盖学校多少所", "九十四所")
    message, *_ = app_client.predict("课后服务.txt", api_name="/delete")  # gone already: said, nothing breaks
    assert "找不到这个文件" in message["value"]


def test_upload_can_replace_a_chosen_document(app_client, app_workdir, tmp_path):
    """A new version under another name replaces the document the user picked."""
    old = tmp_path / "篮球（初稿）.txt"
    old.write_text("二〇二五年校园篮球工作总结（初稿）\n\n一、基本情况\n全县新建篮球场馆十七座。\n", encoding="utf-8")
    assert _upload(app_client, old)[0][old.name][0] == "已加入"
    new = tmp_path / "篮球（定稿）.txt"
    new.write_text("二〇二五年校园篮球工作总结\n\n一、基本情况\n全县新建篮球场馆二十一座。\n", encoding="utf-8")
    outcomes, _ = _upload(app_client, new, replace="篮球_初稿.txt")
    assert outcomes == {new.name: ("已替换", "替换了 篮球_初稿.txt，索引已更新。")}, outcomes  # same format: same name
    corpus = app_workdir / "corpus"
    assert (corpus / "篮球_初稿.txt").read_bytes() == new.read_bytes() and not (corpus / "篮球_定稿.txt").exists()
    app_client.predict("篮球_初稿.txt", api_name="/delete")
    assert not (corpus / "篮球_初稿.txt").exists()


def test_documents_refresh_shows_another_users_upload(app_client, app_server, app_browser, tmp_path):
    """语料 tab's refresh button (``#refresh-btn``) reloads the indexed
    documents: a report another user uploads (here through the API) after
    the page loaded is listed without reloading the page. Last in this file:
    the upload changes the app's corpus for whatever runs after it."""
    page = app_browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.set_default_timeout(120_000)
        page.goto(app_server)
        page.wait_for_selector("#question textarea")
        page.get_by_role("tab", name="语料 Corpus").click()
        page.wait_for_function("() => document.querySelector('#docs-table').innerText.includes('000_31ca190cb7e5fb0d.txt')")
        report = tmp_path / "劳动教育基地建设总结.txt"
        report.write_text("县教育局劳动教育工作总结\n\n一、基本情况\n全县建成校园劳动教育实践基地二十七个，开设劳动课程一百二十门。\n",
                          encoding="utf-8")
        assert _upload(app_client, report)[0][report.name][0] == "已加入"
        assert report.name in {r[2] for r in app_client.predict(api_name="/documents")}
        assert report.name not in page.inner_text("#docs-table")  # the page still shows what it loaded
        page.click("#refresh-btn")
        page.wait_for_function("name => document.querySelector('#docs-table').innerText.includes(name)",
                               arg=report.name)
        assert "000_31ca190cb7e5fb0d.txt" in page.inner_text("#docs-table")
    finally:
        page.close()
