"""The 评测 tab: retrieval *and* answers scored on a question set, on the
app's one loaded index and model.

Retrieval is scored by the project's harness (``qa.evaluation.runner``, as
``qa eval``), answers by ``qa.evaluation.answers.evaluate_answers`` on the
shared ``Assistant`` (as ``qa eval --answers``). Without an upload the tab
runs the development set: the answerable questions
(``qa/data/dev_questions.jsonl``) and the ones the reports cannot answer
(``dev_unanswerable.jsonl``, which only the answers are scored on).

The metric library (ranx) compiles its kernels with numba the first time it
runs in a process, 10-20 s on two busy cores; ``warm_up`` does that while
the app starts, so the first evaluation a user runs is not the slow one.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from qa.index.protocol import MODES
from qa.ui.messages import question_problem, strip_paths
from qa.ui.render import esc
from qa.ui.state import assistant

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

EVAL_METRICS = ("R@1", "R@3", "R@5", "R@10", "MRR@10", "nDCG@10")
EVAL_HEADERS = ["配置", "问题数", *EVAL_METRICS]
MISSED_HEADERS = ["配置", "编号", "问题", "类型", "首个相关位次", "实际返回（前 3）"]
ANSWER_HEADERS = ["题型", "问题数", "答出且含证据", "检索 R@5", "正确拒答", "引文精确", "回答中位字数"]
ANSWER_MISSED_HEADERS = ["编号", "问题", "题型", "问题所在"]

#: the set the tab evaluates when none is uploaded (shipped with the package)
DATA = Path(__file__).resolve().parent.parent / "data"
DEFAULT_QUESTIONS = DATA / "dev_questions.jsonl"
DEFAULT_UNANSWERABLE = DATA / "dev_unanswerable.jsonl"

#: question kinds (``qa.questions.KNOWN_KINDS``) as the tables name them
KINDS = {"fact": "事实", "list": "列举", "paraphrase": "换说法", "english": "英文", "traditional": "繁体",
         "number": "数字", "cleaning": "清洗", "draft": "草稿", "negative": "否定", "none": "无答案",
         "ncp": "NCP", "colloquial": "口语", "other": "其他", "all": "全部"}

Progress = Callable[[str, int, int], None]


def kind_name(kind: str) -> str:
    return KINDS.get(kind, kind)


#: the chart's columns (``chart_data``)
CHART_X, CHART_Y, CHART_COLOR = "类别", "数值", "配置"


def chart_data(result) -> "pd.DataFrame":
    """R@5 and MRR@10 per configuration, overall and per kind, as the rows of
    the tab's bar chart. The browser draws it, so its labels are Chinese on
    any machine (the report's PNG is drawn by matplotlib, which needs a CJK
    font the server may not have). Every bar has a category of its own: the
    browser stacks bars that share one."""
    import pandas as pd

    several = len(result.configs) > 1
    kinds = sorted({k for cr in result.configs for k in cr.metrics.by_kind})
    rows = []
    for kind in [None, *kinds]:  # a kind's bars side by side: metric, then configuration
        for metric in ("R@5", "MRR@10"):
            for cr in result.configs:
                if kind is None:
                    name, figures, n = "总体", cr.metrics.overall, cr.metrics.n
                elif kind in cr.metrics.by_kind:
                    name, figures, n = kind_name(kind), cr.metrics.by_kind[kind], cr.metrics.kind_counts[kind]
                else:
                    continue
                label = f"{name}（{n}题）{metric}" + (f" · {cr.config.name}" if several else "")
                rows.append({CHART_X: label, CHART_Y: round(figures[metric], 3), CHART_COLOR: cr.config.name})
    return pd.DataFrame(rows, columns=[CHART_X, CHART_Y, CHART_COLOR])


def _returned_text(returned: list[dict]) -> str:
    if not returned:
        return "（无结果）"
    return "\n".join(f"{h['rank']}. 《{h['title']}》{(' ' + h['section']) if h['section'] else ''}：{h['text']}"
                     for h in returned)


def read_set(file: str | Path | None) -> tuple[list, list, list[str], str, Path]:
    """→ (retrieval questions: those with evidence or relevant ids, answer
    questions: those plus the ``kind: none`` ones, problems in Chinese, the
    set's name, the file the report records)."""
    from qa.questions import read_questions

    paths = [Path(file)] if file else [DEFAULT_QUESTIONS, DEFAULT_UNANSWERABLE]
    questions, problems = [], []
    for path in paths:
        found, bad = read_questions(path, need_relevance=False)
        questions += found
        problems += [question_problem(p) for p in bad]
    scorable = [q for q in questions if q.evidence or q.relevant]
    unscorable = [q for q in questions if not (q.evidence or q.relevant) and q.kind != "none"]
    problems += [f"{esc(q.id)}：缺少 \"evidence\" 或 \"relevant\"，也不是 \"kind\": \"none\" 的无答案题，已跳过"
                 for q in unscorable]
    answerable = [q for q in questions if q.kind == "none" or q.evidence or q.relevant]
    name = " + ".join(p.name for p in paths)
    return scorable, answerable, problems, name, paths[0]


def answer_rows(by_kind: dict) -> list[list]:
    """``evaluate_answers``' per-kind results as the table's rows ("—" where a figure does not apply)."""
    rows = []
    for r in by_kind.values():
        f = r.figures()
        cell = lambda v: "—" if v is None else v  # noqa: E731
        rows.append([kind_name(f["kind"]), f["questions"], cell(f["answered_with_evidence"]), cell(f["retrieval_r5"]),
                     cell(f["declined"]), cell(f["exact_citations"]), cell(f["median_answer_chars"])])
    return rows


def _clean_meta(meta: dict) -> dict:
    """The report a user downloads names files, not where the server keeps them."""
    def clean(value):
        if isinstance(value, str):
            return strip_paths(value)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    return clean(meta)


def run_evaluation(file: str | Path | None, modes: Iterable[str] | None = None, top_k: int = 10,
                   progress: Progress | None = None, directory: str | Path | None = None,
                   answers: bool = True) -> tuple[list[list], str, "pd.DataFrame | None", list[list], list[list],
                                                  list[list], str | None]:
    """Score retrieval (per mode) and, with ``answers``, the answers, on an
    uploaded JSONL question set or the development set when ``file`` is empty.

    ``progress(desc, done, total)`` is called after every searched or answered
    question, one count over both parts (the tab draws one bar).
    → (metrics rows [config, n, R@1, R@3, R@5, R@10, MRR@10, nDCG@10],
    summary markdown (with the question file's bad lines), the per-kind
    chart's rows (``chart_data``), missed-at-5 rows worst first, answer rows per kind, the questions
    whose answers missed, report zip path)."""
    from qa.evaluation.answers import evaluate_answers
    from qa.evaluation.report import write_report
    from qa.evaluation.runner import make_configs, reproducibility_meta, run_eval

    started = time.perf_counter()
    questions, answer_questions, problems, name, path = read_set(file)
    answer_questions = answer_questions if answers else []
    lines = [f"评测集：{esc(name)}，检索评测 {len(questions)} 题"
             + (f"，回答评测 {len(answer_questions)} 题（含无答案题 "
                f"{sum(q.kind == 'none' for q in answer_questions)} 题）" if answers else "") + "。"]
    if problems:
        lines.append(f"**跳过或有问题的行（{len(problems)}）：**")
        lines += [f"- {esc(p)}" for p in problems[:50]]
        if len(problems) > 50:
            lines.append(f"- ……另有 {len(problems) - 50} 处")
    if not questions and not answer_questions:
        lines.append("没有可用的问题，未运行评测。请检查文件格式：每行一个 JSON 对象，含 id、question 和 evidence。")
        return [], "  \n".join(lines), None, [], [], [], None
    configs = make_configs([m for m in (modes or []) if m in MODES] or ["hybrid"])
    top_k = max(1, int(top_k or 10))
    total = len(questions) * len(configs) + len(answer_questions)
    done = 0

    def step(desc: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(desc, done, total)

    a = assistant()
    result = None
    if questions:
        result = run_eval(a.searcher, questions, configs, top_k,
                          progress=lambda config, n, _: step(f"检索（{config}）"))
        result.meta = _clean_meta(reproducibility_meta(a.searcher, path, len(questions), problems, top_k))
    by_kind, answer_missed = {}, []
    if answer_questions:
        by_kind, missed_ids = evaluate_answers(a, answer_questions, progress=lambda i, n: step("回答"))
        answered = {q.id: q for q in answer_questions}
        answer_missed = [[q.id, q.question, kind_name(q.kind),
                          "应拒答却给出了回答" if q.kind == "none" else "回答中没有证据原文"]
                         for q in (answered[i] for i in missed_ids)]

    out = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="qa-eval-"))
    report_dir = out / "eval-report"
    report_dir.mkdir(parents=True, exist_ok=True)
    if result is not None:
        write_report(result, report_dir)
    if by_kind:
        (report_dir / "answers.json").write_text(json.dumps(
            {"questions": name, "by_kind": [r.figures() for r in by_kind.values()],
             "missed": [row[0] for row in answer_missed]}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    archive = shutil.make_archive(str(out / f"eval-report-{time.strftime('%Y%m%d-%H%M%S')}"), "zip",
                                  root_dir=out, base_dir=report_dir.name)

    rows, missed = [], []
    if result is not None:
        rows = [[cr.config.name, cr.metrics.n, *(round(cr.metrics.overall[m], 3) for m in EVAL_METRICS)]
                for cr in result.configs]
        missed = [[cr.config.name, r.id, r.question, kind_name(r.kind), r.first_relevant or "未命中",
                   _returned_text(r.returned)]
                  for cr in result.configs for r in cr.metrics.questions if not r.scores["R@5"]]
        lines.append(f"检索：top-k = {top_k}；配置 {esc('、'.join(c.name for c in configs))}；"
                     f"前 5 未命中 {len(missed)} 条（见下表，最差在前）。R@k 为命中率（前 k 条中至少一条相关）。")
        if top_k < 10:
            lines.append(f"注意：top-k = {top_k} < 10，@10 指标只看到前 {top_k} 条。")
        for cr in result.configs:
            for w in cr.warnings:  # "<id>: <QueryError>": the only cause is a question with no words
                lines.append(f"- {esc(cr.config.name)}：{esc(w.split(':', 1)[0])} 没有可检索的文字，按未命中计。")
    if by_kind:
        f = by_kind["all"].figures()
        share = lambda v: "—" if v is None else f"{v:.0%}"  # noqa: E731
        lines.append(f"回答：可答题中 {share(f['answered_with_evidence'])} 答出且含证据原文，无答案题中 "
                     f"{share(f['declined'])} 正确拒答，未达标 {len(answer_missed)} 题（与 python -m qa eval --answers 相同）。")
    lines.append(f"评测完成，用时 {time.perf_counter() - started:.1f} 秒。")
    chart = chart_data(result) if result is not None else None
    return rows, "  \n".join(lines), chart, missed, answer_rows(by_kind), answer_missed, archive


def warm_up() -> None:
    """Compile the metric library's kernels and load the chart library once,
    so no user waits for them (called from a thread when the app starts)."""
    started = time.perf_counter()
    from qa.evaluation.metrics import evaluate_rankings
    from qa.evaluation.report import plot_chart  # noqa: F401 - imports the report module
    from qa.questions import Question

    question = Question("warm-up", "教师交流", evidence=["教师交流"])
    evaluate_rankings([question], {"warm-up": [{"chunk_id": "a", "text": "校车"}, {"chunk_id": "b", "text": "教师交流"}]})
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401
    logger.info("evaluation warmed up in %.1fs", time.perf_counter() - started)
