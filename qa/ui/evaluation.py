"""The 评测 tab: the evaluation harness (``qa.evaluation``) on an uploaded question set."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

from qa.index.protocol import MODES
from qa.ui.render import esc
from qa.ui.state import assistant

EVAL_METRICS = ("R@1", "R@3", "R@5", "R@10", "MRR@10", "nDCG@10")

EVAL_HEADERS = ["配置", "问题数", *EVAL_METRICS]

MISSED_HEADERS = ["配置", "编号", "问题", "类型", "首个相关位次", "实际返回（前 3）"]


#: the set the tab evaluates when none is uploaded (shipped with the package)
DEFAULT_QUESTIONS = Path(__file__).resolve().parent.parent / "data" / "dev_questions.jsonl"


def _returned_text(returned: list[dict]) -> str:
    if not returned:
        return "（无结果）"
    return "\n".join(f"{h['rank']}. 《{h['title']}》{(' ' + h['section']) if h['section'] else ''}：{h['text']}"
                     for h in returned)


def run_evaluation(file: str | Path | None, modes: Iterable[str] | None = None, top_k: int = 10,
                   progress: Callable[[str, int, int], None] | None = None,
                   directory: str | Path | None = None) -> tuple[list[list], str, str | None, list[list], str | None]:
    """Retrieval evaluation with the project's harness (``qa.evaluation``) on
    an uploaded JSONL question set, or the dev set when ``file`` is empty.

    ``progress(desc, done, total)`` is called after every searched question.
    → (metrics rows [config, n, R@1, R@3, R@5, R@10, MRR@10, nDCG@10],
    summary markdown (with the question file's bad lines), per-kind chart
    PNG path, missed-at-5 rows worst first, report zip path)."""
    from qa.evaluation.report import write_report
    from qa.evaluation.runner import make_configs, reproducibility_meta, run_eval
    from qa.questions import read_questions

    path = Path(file) if file else DEFAULT_QUESTIONS
    questions, problems = read_questions(path)
    # problems read "<path>:<line>: reason"; show the file's name, not the upload's temp path
    problems = [p.replace(str(path), path.name, 1) for p in problems]
    lines = [f"评测集：{esc(path.name)}，有效问题 {len(questions)} 个。"]
    if problems:
        lines.append(f"**跳过的行（{len(problems)}）：**")
        lines += [f"- {esc(p)}" for p in problems[:50]]
        if len(problems) > 50:
            lines.append(f"- ……另有 {len(problems) - 50} 处")
    if not questions:
        lines.append("没有可用的问题，未运行评测。")
        return [], "  \n".join(lines), None, [], None

    try:
        configs = make_configs([m for m in (modes or []) if m in MODES] or ["hybrid"])
    except ValueError as exc:
        return [], "  \n".join(lines + [f"配置错误：{esc(exc)}"]), None, [], None
    top_k = max(1, int(top_k or 10))
    total = len(questions) * len(configs)

    def tick(name: str, done: int, total: int) -> None:
        if progress:
            progress(f"{name} 检索", done, total)

    a = assistant()
    result = run_eval(a.searcher, questions, configs, top_k, progress=tick)
    result.meta = reproducibility_meta(a.searcher, path, len(questions), problems, top_k)
    if progress:
        progress("生成报告", total, total)

    out = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="qa-eval-"))
    report_dir = out / "eval-report"
    write_report(result, report_dir)
    archive = shutil.make_archive(str(out / f"eval-report-{time.strftime('%Y%m%d-%H%M%S')}"), "zip",
                                  root_dir=out, base_dir=report_dir.name)

    rows = [[cr.config.name, cr.metrics.n, *(round(cr.metrics.overall[m], 3) for m in EVAL_METRICS)]
            for cr in result.configs]
    missed = [[cr.config.name, r.id, r.question, r.kind, r.first_relevant or "未命中",
               _returned_text(r.returned)]
              for cr in result.configs for r in cr.metrics.questions if not r.scores["R@5"]]
    lines.append(f"检索深度 top-k = {top_k}；配置：{esc('、'.join(c.name for c in configs))}；"
                 f"前 5 未命中 {len(missed)} 条（下表，最差在前）。R@k 为命中率（前 k 条中至少一条相关）。")
    if top_k < 10:
        lines.append(f"注意：top-k = {top_k} < 10，@10 指标只看到前 {top_k} 条。")
    for cr in result.configs:
        for w in cr.warnings:
            lines.append(f"- 警告（{esc(cr.config.name)}）：{esc(w)}")
    return rows, "  \n".join(lines), str(report_dir / "chart.png"), missed, archive
