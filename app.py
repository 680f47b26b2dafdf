"""The gradio web UI: `python app.py` (or `make run`) serves it.

Five tabs — 问答 (chat with cited answers), 检索先例 (precedent search),
起草助手 (a whole draft, the precedent of every sentence), 评测 (evaluation),
语料 (corpus management) — over the plain functions of ``qa/ui/``
and ``qa/drafting/finder.py``. Runs fully offline: no analytics, no CDN fonts.
Binds 127.0.0.1:7860 unless QA_SERVER_NAME / QA_SERVER_PORT (or gradio's
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT) say otherwise; QA_AUTH="user:pass"
turns on a login (all read by ``qa.settings``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

from starlette.middleware import Middleware  # noqa: E402

from qa.ui import chat, corpus, corpus_changes, drafting, evaluation, search, state  # noqa: E402
from qa.ui.locale import ZhLocale  # noqa: E402
from qa.ui.messages import FORMATS  # noqa: E402
from qa.index.protocol import MODES  # noqa: E402
from qa.settings import Settings  # noqa: E402

EXAMPLES = [
    "教师交流的主要措施有哪些？",
    "新城第四初中整体新建工程投资了多少？",
    "学前教育如何防止小学化倾向？",
]

FONTS = ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "sans-serif"]
MONO = ["Noto Sans Mono CJK SC", "WenQuanYi Micro Hei Mono", "monospace"]

CSS = """
.qa-sources { display: flex; flex-direction: column; gap: 10px; font-size: 14px; line-height: 1.7; }
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
           background: var(--background-fill-secondary); }
.qa-card-head { font-weight: 600; margin-bottom: 2px; }
.qa-label { color: var(--color-accent); margin-right: 4px; }
.qa-score { font-weight: 400; color: var(--body-text-color-subdued); font-size: 12px; margin-left: 6px; }
.qa-section { color: var(--body-text-color-subdued); font-size: 12px; margin-bottom: 4px; }
.qa-citation { font-size: 13px; margin-bottom: 4px; color: var(--body-text-color); }
.qa-passage { white-space: pre-wrap; word-break: break-all; max-height: 260px; overflow-y: auto; }
.qa-passage mark.qa-cite { background: #ffe58f; padding: 0 1px; }
.qa-passage mark.qa-hl { background: #bae7ff; padding: 0; }
.qa-empty, .qa-note { color: var(--body-text-color-subdued); }
.qa-draft { font-size: 15px; line-height: 1.9; max-height: 640px; overflow-y: auto; padding: 4px 8px; }
.qa-draft p { margin: 0 0 8px 0; }
.qa-draft .qa-s { cursor: pointer; border-radius: 3px; padding: 1px 0; }
.qa-draft .qa-s:hover { outline: 1px solid #fa8c16; }
.qa-draft .qa-s.qa-selected { outline: 2px solid #d4380d; }
.qa-copy { user-select: all; }
.qa-status { min-height: 2.6em; }
.qa-status .pending { min-height: 2.6em; }
/* tables keep their column widths and scroll sideways inside their box on a narrow screen */
.qa-table .table-wrap { overflow-x: auto; }
"""

#: clicks on a sentence of the draft (event delegation: survives re-rendering)
DRAFT_CLICK_JS = ("element.addEventListener('click', (e) => { const s = e.target.closest('[data-n]');"
                  " if (s) trigger('select_sentence', {n: s.dataset.n}); });")


def _chat(question: str, history: list | None):
    """Streams the answer when a generation server is configured; otherwise
    one step with the extractive answer."""
    history = list(history or [])
    if not (question or "").strip():
        yield history, gr.update(), '<div class="qa-sources qa-empty">请输入问题。</div>'
        return
    asked = history + [{"role": "user", "content": question}]
    for answer_md, sources in chat.ask_stream(question, history):
        yield asked + [{"role": "assistant", "content": answer_md}], "", sources


def _clear():
    return [], "", ""


def _search(text, top_k, doc_ids, title, year, mode):
    rows, html_out, results = search.search_precedents(text, int(top_k or 5), doc_ids, title, year, mode)
    return rows, html_out, results


def _export(results, fmt):
    path = search.export_results(results or [], fmt)
    if path is None:
        gr.Warning("请先检索，再导出结果。")
    return path


def _draft(text, file, top_k, before_year, doc_ids, exclude_ids, progress=gr.Progress()):
    def report(done: int, total: int) -> None:
        progress((done, total), desc=f"逐句检索 {done}/{total}")

    path = file if isinstance(file, (str, type(None))) else getattr(file, "name", None)
    state, status = drafting.analyze(text, path, top_k, before_year, doc_ids, exclude_ids, report)
    n = 1 if state["results"] else 0
    precedents, citations = drafting.precedents_view(state, n)
    return (drafting.draft_html(state, n), state, status, precedents, citations,
            drafting.table_rows(state), n)


def _draft_pick(state, n):
    n = drafting.sentence_number(n) or 0
    precedents, citations = drafting.precedents_view(state, n)
    return drafting.draft_html(state, n), precedents, citations, n


def _draft_select(state, evt: gr.EventData):
    return _draft_pick(state, getattr(evt, "n", 0))


def _draft_export(state, fmt):
    path = drafting.export_table(state or {}, fmt)
    if path is None:
        gr.Warning("请先分析草稿，再导出结果。")
    return path


def _report(progress):
    """gr.Progress as the (desc, done, total) callback the tabs' functions take."""
    def report(desc: str, done: int, total: int) -> None:
        progress((done, total) if total else None, desc=f"{desc} {done}/{total}" if total else desc)
    return report


def _shown(view: corpus.View, clear_filters: bool = False):
    """The corpus table and every control that lists documents or files, from
    one look at the corpus (after a delete the document filters are cleared:
    they may name the deleted one)."""
    kept = {"value": []} if clear_filters else {}
    docs, files = view.documents, view.files
    return (view.rows, gr.update(choices=docs, **kept), gr.update(choices=docs, **kept),
            gr.update(choices=docs, **kept), gr.update(choices=files, value=None), gr.update(choices=files, value=None))


def _upload(files, replace, progress=gr.Progress()):
    paths = [f if isinstance(f, str) else getattr(f, "name", f) for f in (files or [])]
    outcomes, summary, view = corpus.upload_files(paths, progress=_report(progress), replace=replace or None)
    return (outcomes, summary, *_shown(view))


def _delete_ask(source):
    """First step of a delete: say what will go and show the confirm button."""
    if not source:
        return gr.update(value="请先在列表中选择要删除的文件。", visible=True), gr.update(visible=False)
    label = next((name for name, value in corpus.view().files if value == source), source)
    return (gr.update(value=f"将从语料库和索引中删除：{label}。确定吗？", visible=True),
            gr.update(visible=True))


def _delete(source, progress=gr.Progress()):
    message, view = corpus.delete_file(source, progress=_report(progress))
    return (gr.update(value=message, visible=True), gr.update(visible=False), *_shown(view, clear_filters=True))


def _delete_cancel():
    return gr.update(value="", visible=False), gr.update(visible=False)


def _documents():
    return _shown(corpus.view())


def _evaluate(file, modes, top_k, answers, progress=gr.Progress()):
    path = file if isinstance(file, (str, type(None))) else getattr(file, "name", None)
    try:
        table, summary, chart, *rest = evaluation.run_evaluation(path, modes, int(top_k or 10),
                                                                 progress=_report(progress), answers=bool(answers))
    except Exception as exc:  # never an English traceback in the page
        logging.getLogger(__name__).exception("evaluation failed")
        raise gr.Error("评测没有完成。请检查评测集格式后重试；若仍失败，请联系管理员查看服务器日志。") from exc
    order = list(chart[evaluation.CHART_X]) if chart is not None else None  # bars in the table's order
    return table, summary, gr.BarPlot(value=chart, sort=order), *rest


# typed functions for gr.api (plain JSON endpoints for API clients)
def api_ask(question: str, history: list[str] | None = None) -> tuple[str, str]:
    """Answer a question; returns (answer markdown, sources HTML)."""
    return chat.ask(question, history or [])


def api_search(query: str, top_k: int = 5, doc_ids: list[str] | None = None, title_contains: str = "",
               year: int = 0, mode: str = "hybrid") -> list[dict]:
    """Precedent search; returns results with citation lines."""
    return search.search_results(query, top_k, doc_ids, title_contains or None, year or None, mode)


def api_documents() -> list[list]:
    """Indexed documents: [doc_id, title, source, chunks, chars, status, year, region, sections]."""
    return corpus.api_rows()


def build_app() -> gr.Blocks:
    shown = corpus.view()  # the corpus as the controls first show it
    with gr.Blocks(title="教育政策报告问答") as demo:
        gr.Markdown("## 教育政策报告问答 · Policy QA")
        with gr.Tabs(overflow_behavior="wrap"):  # at 420 px every tab stays in sight
            with gr.Tab("问答 Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="对话", height=460, elem_id="chatbot",
                                             feedback_options=None, buttons=["copy"])
                        question = gr.Textbox(label="问题", placeholder="例如：教师交流的主要措施有哪些？（回车发送，可追问）",
                                              elem_id="question", lines=1)
                        with gr.Row():
                            send = gr.Button("提问", variant="primary", elem_id="ask-btn")
                            clear = gr.Button("新对话", elem_id="clear-btn")
                        gr.Examples(EXAMPLES, inputs=[question], label="示例问题")
                    with gr.Column(scale=2):
                        gr.Markdown("**引用来源**")
                        sources = gr.HTML('<div class="qa-sources qa-empty">提问后在此显示引文出处。</div>',
                                          elem_id="sources")
                send.click(_chat, [question, chatbot], [chatbot, question, sources], api_name="chat")
                question.submit(_chat, [question, chatbot], [chatbot, question, sources],
                                api_visibility="private")
                clear.click(_clear, None, [chatbot, question, sources], api_visibility="private")

            with gr.Tab("检索先例 Search", id="search"):
                with gr.Row():
                    query = gr.Textbox(label="检索内容（一段文字或关键词）", lines=2, scale=4, elem_id="search-query")
                    with gr.Column(scale=1, min_width=180):
                        top_k = gr.Slider(1, 20, value=5, step=1, label="返回条数")
                        mode = gr.Dropdown(list(MODES), value="hybrid", label="检索模式")
                with gr.Row():
                    doc_filter = gr.Dropdown(shown.documents, multiselect=True, label="限定文档",
                                             scale=3)
                    title_filter = gr.Textbox(label="标题包含", scale=2)
                    year_filter = gr.Number(label="年份（0 = 不限）", value=0, precision=0, scale=1)
                search_btn = gr.Button("检索", variant="primary", elem_id="search-btn")
                results_state = gr.State([])
                table = gr.Dataframe(headers=search.SEARCH_HEADERS, label="结果", wrap=True, elem_classes=["qa-table"],
                                     interactive=False, elem_id="search-table", max_height=900,
                                     column_widths=["5%", "7%", "20%", "14%", "32%", "10%", "6%", "6%"])
                result_html = gr.HTML(elem_id="search-results")
                with gr.Row():
                    fmt = gr.Radio(["csv", "markdown"], value="csv", label="导出格式")
                    export_btn = gr.Button("导出结果", elem_id="search-export-btn")
                    export_file = gr.File(label="导出文件", interactive=False, elem_id="search-export")
                inputs = [query, top_k, doc_filter, title_filter, year_filter, mode]
                search_btn.click(_search, inputs, [table, result_html, results_state], api_name="search_ui")
                query.submit(_search, inputs, [table, result_html, results_state], api_visibility="private")
                export_btn.click(_export, [results_state, fmt], export_file, api_visibility="private")

            with gr.Tab("起草助手 Drafting", id="draft"):
                gr.Markdown("粘贴或上传一份草稿（.txt / .md / .docx，不超过 "
                            f"{drafting.MAX_UI_CHARS:,} 字；更长的用 `python -m qa draft FILE`），逐句查找已有报告中的先例。"
                            "句子底色越深，沿用已有表述越多；点击句子，右侧显示其先例，共同措辞高亮。")
                with gr.Row():
                    draft_text = gr.Textbox(label="草稿", lines=6, scale=3, elem_id="draft-text")
                    with gr.Column(scale=1, min_width=200):
                        draft_file = gr.File(label="或上传草稿", file_types=[".txt", ".md", ".docx"], type="filepath",
                                             elem_id="draft-file")
                        draft_k = gr.Slider(1, 10, value=3, step=1, label="每句先例数")
                with gr.Row():
                    draft_year = gr.Number(label="只看此年之前的报告（0 = 不限）", value=0, precision=0, scale=1,
                                           elem_id="draft-year")
                    draft_docs = gr.Dropdown(shown.documents, multiselect=True, label="限定文档", scale=2)
                    draft_exclude = gr.Dropdown(shown.documents, multiselect=True, label="排除文档",
                                                scale=2)
                draft_btn = gr.Button("逐句查找先例", variant="primary", elem_id="draft-btn")
                draft_status = gr.Markdown(elem_id="draft-status")
                draft_state = gr.State({})
                with gr.Row():
                    with gr.Column(scale=3):
                        draft_view = gr.HTML('<div class="qa-draft qa-empty">分析后在此显示草稿。</div>',
                                             elem_id="draft-view", js_on_load=DRAFT_CLICK_JS)
                    with gr.Column(scale=2):
                        draft_n = gr.Number(label="当前句", value=0, precision=0, elem_id="draft-n")
                        draft_cites = gr.Textbox(label="引用（可复制）", lines=3, buttons=["copy"], elem_id="draft-cites")
                        draft_precedents = gr.HTML(elem_id="draft-precedents")
                draft_table = gr.Dataframe(headers=drafting.TABLE_HEADERS, label="逐句先例表", wrap=True, elem_classes=["qa-table"],
                                           interactive=False, elem_id="draft-table", max_height=600)
                with gr.Row():
                    draft_fmt = gr.Radio(["csv", "markdown", "docx"], value="csv", label="导出格式")
                    draft_export_btn = gr.Button("导出逐句先例表", elem_id="draft-export-btn")
                    draft_export_file = gr.File(label="导出文件", interactive=False, elem_id="draft-export")
                draft_btn.click(_draft, [draft_text, draft_file, draft_k, draft_year, draft_docs, draft_exclude],
                                [draft_view, draft_state, draft_status, draft_precedents, draft_cites, draft_table,
                                 draft_n], api_name="draft_ui")
                draft_view.select_sentence(_draft_select, [draft_state],
                                           [draft_view, draft_precedents, draft_cites, draft_n],
                                           api_visibility="private")
                draft_n.submit(_draft_pick, [draft_state, draft_n], [draft_view, draft_precedents, draft_cites, draft_n],
                               api_visibility="private")
                draft_export_btn.click(_draft_export, [draft_state, draft_fmt], draft_export_file,
                                       api_visibility="private")

            with gr.Tab("评测 Evaluation", id="eval"):
                gr.Markdown("上传 JSONL 评测集（每行 `{\"id\": …, \"question\": …, \"evidence\": [\"…\"], "
                            "\"kind\": …}`；`\"kind\": \"none\"` 表示报告中没有答案、应当拒答），不上传则使用开发集"
                            "（dev_questions.jsonl 28 题 + dev_unanswerable.jsonl 10 题）。检索指标：R@k 命中率、MRR@10、"
                            "nDCG@10（同 `python -m qa eval`）；回答指标：答出且含证据、正确拒答、引文精确"
                            "（同 `python -m qa eval --answers`）。")
                with gr.Row():
                    eval_file = gr.File(label="评测集 (.jsonl)", file_types=[".jsonl"], type="filepath")
                    with gr.Column():
                        eval_modes = gr.CheckboxGroup(list(MODES), value=["hybrid"], label="检索模式",
                                                      elem_id="eval-modes")
                        eval_k = gr.Slider(1, 20, value=10, step=1, label="检索深度 top-k")
                        eval_answers = gr.Checkbox(value=True, label="同时评测回答", elem_id="eval-answers")
                        eval_btn = gr.Button("运行评测", variant="primary", elem_id="eval-btn")
                eval_summary = gr.Markdown("点击「运行评测」后，进度和结果摘要显示在这里。", elem_id="eval-summary",
                                           elem_classes=["qa-status"])
                with gr.Row():
                    eval_table = gr.Dataframe(headers=evaluation.EVAL_HEADERS, label="检索指标", interactive=False,
                                              elem_id="eval-table", scale=3, elem_classes=["qa-table"])
                    eval_report = gr.File(label="下载报告 (zip)", interactive=False, elem_id="eval-report", scale=1)
                eval_answer_table = gr.Dataframe(headers=evaluation.ANSWER_HEADERS, label="回答指标（按题型）",
                                                 interactive=False, elem_id="eval-answers-table",
                                                 elem_classes=["qa-table"])
                eval_chart = gr.BarPlot(x=evaluation.CHART_X, y=evaluation.CHART_Y, color=evaluation.CHART_COLOR,
                                        label="分类型 R@5 / MRR@10", x_title="题型与指标", y_title="得分",
                                        color_title="检索模式", y_lim=[0, 1], x_label_angle=-40, height=420,
                                        elem_id="eval-chart")
                eval_missed = gr.Dataframe(headers=evaluation.MISSED_HEADERS, label="检索前 5 未命中的问题（最差在前）",
                                           interactive=False, wrap=True, elem_id="eval-missed", max_height=600,
                                           elem_classes=["qa-table"],
                                           column_widths=["90px", "70px", "220px", "70px", "90px", "420px"])
                eval_answer_missed = gr.Dataframe(headers=evaluation.ANSWER_MISSED_HEADERS, label="回答未达标的问题",
                                                  interactive=False, wrap=True, elem_id="eval-answer-missed",
                                                  max_height=400, elem_classes=["qa-table"])
                # one progress bar, on the summary line, not over every output
                eval_btn.click(_evaluate, [eval_file, eval_modes, eval_k, eval_answers],
                               [eval_table, eval_summary, eval_chart, eval_missed, eval_answer_table,
                                eval_answer_missed, eval_report],
                               api_name="evaluate", show_progress_on=[eval_summary])

            with gr.Tab("语料 Corpus", id="corpus"):
                limit_mb = state.assistant().settings.max_upload_mb
                gr.Markdown(f"上传报告（{FORMATS}，单个文件不超过 {limit_mb:g} MB），上传后自动增量更新索引。"
                            "与已有文件同名的上传会替换原文件；也可以在右侧选一篇文档，用上传的文件替换它。")
                with gr.Row():
                    files = gr.File(label="上传文件", file_count="multiple", type="filepath", scale=2,
                                    elem_id="upload-files")
                    with gr.Column(scale=1, min_width=220):
                        # custom values: the choices change with the corpus; the handler checks the file
                        replace_pick = gr.Dropdown(shown.files, value=None, label="用上传的文件替换（可选）",
                                                   elem_id="replace-pick", allow_custom_value=True)
                        upload_btn = gr.Button("加入语料库并更新索引", variant="primary", elem_id="upload-btn")
                upload_summary = gr.Markdown(elem_id="upload-summary", elem_classes=["qa-status"])
                outcomes = gr.Dataframe(headers=corpus.OUTCOME_HEADERS, label="上传结果（每个文件一行）",
                                        interactive=False, wrap=True, elem_id="upload-outcomes",
                                        elem_classes=["qa-table"], column_widths=["200px", "80px", "420px"])
                docs = gr.Dataframe(value=shown.rows, headers=corpus.DOC_HEADERS,
                                    label="语料库中的文档", interactive=False, wrap=True, elem_id="docs-table",
                                    max_height=900, elem_classes=["qa-table"],
                                    column_widths=["300px", "64px", "120px", "56px", "64px", "200px", "220px"])
                with gr.Row():
                    delete_pick = gr.Dropdown(shown.files, value=None, label="选择要删除的文件",
                                              elem_id="delete-pick", scale=3, allow_custom_value=True)
                    with gr.Column(scale=1, min_width=160):
                        delete_btn = gr.Button("删除所选文件", variant="stop", elem_id="delete-btn")
                        refresh_btn = gr.Button("刷新列表", elem_id="refresh-btn")
                delete_message = gr.Markdown(visible=False, elem_id="delete-message", elem_classes=["qa-status"])
                with gr.Row(visible=False) as delete_confirm:
                    delete_yes = gr.Button("确认删除", variant="stop", elem_id="delete-confirm-btn")
                    delete_no = gr.Button("取消", elem_id="delete-cancel-btn")
                pickers = [doc_filter, draft_docs, draft_exclude, delete_pick, replace_pick]
                upload_btn.click(_upload, [files, replace_pick], [outcomes, upload_summary, docs, *pickers],
                                 api_name="upload", show_progress_on=[upload_summary])
                delete_btn.click(_delete_ask, [delete_pick], [delete_message, delete_confirm],
                                 api_visibility="private")
                delete_yes.click(_delete, [delete_pick], [delete_message, delete_confirm, docs, *pickers],
                                 api_name="delete", show_progress_on=[delete_message])
                delete_no.click(_delete_cancel, None, [delete_message, delete_confirm], api_visibility="private")
                refresh_btn.click(_documents, None, [docs, *pickers], api_name="documents_ui")

        gr.api(api_ask, api_name="ask")
        gr.api(api_search, api_name="search")
        gr.api(api_documents, api_name="documents")
    return demo


def _warm_up() -> None:
    state.assistant().searcher.embedder
    evaluation.warm_up()


def main() -> None:
    from qa.index.storage import IndexMissing, IndexProblem

    try:
        settings = Settings.from_env()
        for step in corpus_changes.recover(settings):  # a corpus change a killed app left half-done
            logging.getLogger(__name__).warning("unfinished corpus change: %s", step)
        state.init(settings)  # model + index load once, shared by every request
    except IndexMissing as exc:
        print(f"错误：找不到索引。{exc}\n"
              "请先构建索引：python -m qa build（或直接运行 make run，会在需要时自动构建后启动）。",
              file=sys.stderr)
        sys.exit(2)
    except IndexProblem as exc:
        print(f"错误：索引不可用：{exc}\n请运行 python -m qa build（或 make run）后再启动。", file=sys.stderr)
        sys.exit(2)
    # the query encoder loads while gradio starts (the port opens without waiting for it), then
    # the evaluation tab's metric kernels compile, so neither a question nor an evaluation waits
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    demo = build_app()
    demo.queue()
    demo.launch(
        server_name=settings.server_name,
        server_port=settings.server_port,
        auth=settings.login,
        theme=gr.themes.Default(font=FONTS, font_mono=MONO),
        css=CSS,
        show_error=True,
        footer_links=["api"],
        app_kwargs={"middleware": [Middleware(ZhLocale)]},  # gradio's own labels in Chinese
    )


if __name__ == "__main__":
    main()
