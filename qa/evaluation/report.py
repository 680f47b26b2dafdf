"""An evaluation as tables, a chart, TREC files and the runs ``score.py`` reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from qa.evaluation.metrics import METRICS
from qa.evaluation.relevance import to_run
from qa.evaluation.runner import EvalResult


def _table(header: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)])


def _kinds(result: EvalResult) -> list[str]:
    return sorted({k for cr in result.configs for k in cr.metrics.by_kind})


def render_tables(result: EvalResult, markdown: bool = False) -> str:
    """Overall metrics (rows = configs) and per-kind R@5 / MRR@10."""
    overall = _table(
        ["config", *METRICS, "n", "sec"],
        [[cr.config.name, *(f"{cr.metrics.overall[m]:.3f}" for m in METRICS), str(cr.metrics.n), f"{cr.seconds:.1f}"]
         for cr in result.configs],
        markdown,
    )
    kinds = _kinds(result)
    counts = {k: n for cr in result.configs for k, n in cr.metrics.kind_counts.items()}
    per_kind = _table(
        ["R@5 / MRR@10", *(f"{k} (n={counts[k]})" for k in kinds)],
        [[cr.config.name, *(f"{cr.metrics.by_kind[k]['R@5']:.2f} / {cr.metrics.by_kind[k]['MRR@10']:.2f}"
                            if k in cr.metrics.by_kind else "-" for k in kinds)]
         for cr in result.configs],
        markdown,
    )
    return f"{overall}\n\n{per_kind}"


def render_text(result: EvalResult) -> str:
    lines = [render_tables(result), ""]
    for cr in result.configs:
        missed = sorted(r.id for r in cr.metrics.questions if not r.scores["R@5"])
        lines.append(f"{cr.config.name} missed@5 ({len(missed)}): {' '.join(missed) or '-'}")
    return "\n".join(lines)


def render_markdown(result: EvalResult) -> str:
    """report.md: meta, the tables, then per config the questions not answered
    at rank 1, worst first, with what was returned instead."""
    meta = result.meta
    out = ["# Retrieval evaluation", ""]
    for key in ("questions_file", "questions", "questions_sha256", "model", "index_manifest_hash", "index_version",
                "git_commit", "git_dirty", "top_k", "timestamp"):
        if key in meta:
            out.append(f"- **{key}**: `{meta[key]}`")
    out += ["", "Recall@k is the hit rate (at least one relevant passage in the top k), as in score.py.", "",
            "## Overall and per kind", "", render_tables(result, markdown=True), ""]
    if meta.get("question_problems"):
        out += ["## Question-set problems", "", *(f"- {p}" for p in meta["question_problems"]), ""]
    for cr in result.configs:
        out += [f"## {cr.config.name}: per question, worst first", "",
                f"settings: `{json.dumps(cr.settings)}`", ""]
        for w in cr.warnings:
            out.append(f"- warning: {w}")
        shown = [r for r in cr.metrics.questions if r.first_relevant != 1]
        if not shown:
            out += ["Every question has a relevant passage at rank 1.", ""]
            continue
        for r in shown:
            status = "**missed** (not in top 10)" if r.missed else f"first relevant at rank {r.first_relevant}"
            out.append(f"### {r.id} [{r.kind}] {status}")
            out.append("")
            out.append(f"Q: {r.question}  ")
            want = [f"「{e}」" for e in r.evidence] + [f"`{x}`" for x in r.relevant]
            out.append(f"expected: {' / '.join(want)}")
            out.append("")
            for h in r.returned:
                section = f" {h['section']}" if h["section"] else ""
                out.append(f"{h['rank']}. 《{h['title']}》{section}: {h['text']}")
            if not r.returned:
                out.append("(no results)")
            out.append("")
    return "\n".join(out) + "\n"


def plot_chart(result: EvalResult, path: Path) -> None:
    """Grouped bars of Recall@5 and MRR@10 per config, overall and per kind.
    Uses a bare Agg-backed Figure, so no global pyplot/backend state changes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = ["overall", *_kinds(result)]
    fig = Figure(figsize=(max(6.0, 1.1 * len(groups) * max(1, len(result.configs)) ** 0.5 + 3), 7), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 1, sharex=True)
    width = 0.8 / max(1, len(result.configs))
    for ax, metric in zip(axes, ("R@5", "MRR@10")):
        for i, cr in enumerate(result.configs):
            values = [cr.metrics.overall[metric] if g == "overall" else cr.metrics.by_kind.get(g, {}).get(metric, 0.0)
                      for g in groups]
            xs = [x + (i - (len(result.configs) - 1) / 2) * width for x in range(len(groups))]
            ax.bar(xs, values, width, label=cr.config.name)
        ax.set_ylabel(metric)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_title(f"Retrieval on {Path(str(result.meta.get('questions_file', 'questions'))).name}")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize="small", ncols=min(6, len(labels)))
    counts = {k: n for cr in result.configs for k, n in cr.metrics.kind_counts.items()}
    n_all = max((cr.metrics.n for cr in result.configs), default=0)
    axes[-1].set_xticks(range(len(groups)), [f"{g}\n(n={n_all if g == 'overall' else counts.get(g, 0)})" for g in groups])
    fig.savefig(path, dpi=120)


def write_trec_qrels(qrels: Mapping[str, Mapping[str, int]], path: Path) -> None:
    """``qid 0 docid relevance`` per line (trec_eval / ranx ``Qrels.from_file``)."""
    path.write_text("".join(f"{qid} 0 {doc} {rel}\n" for qid, docs in qrels.items() for doc, rel in docs.items()),
                    encoding="utf-8")


def write_trec_run(run: Mapping[str, Mapping[str, float]], path: Path, tag: str) -> None:
    """``qid Q0 docid rank score tag`` per line; questions with no hits have no line."""
    lines = []
    for qid, docs in run.items():
        for rank, (doc, score) in enumerate(sorted(docs.items(), key=lambda d: -d[1]), 1):
            lines.append(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")
    path.write_text("".join(lines), encoding="utf-8")


def write_report(result: EvalResult, directory: Path) -> list[Path]:
    """report.json, report.md, the chart, qrels.txt, and per config a TREC run
    (run-<config>.txt) plus the same run as `qa search --batch --json`
    lines (run-<config>.jsonl) that shared/eval/score.py reads directly."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def put(name: str, text: str) -> None:
        (directory / name).write_text(text, encoding="utf-8")
        written.append(directory / name)

    put("report.json", json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n")
    put("report.md", render_markdown(result))
    write_trec_qrels(result.qrels, directory / "qrels.txt")
    written.append(directory / "qrels.txt")
    for cr in result.configs:
        write_trec_run(to_run(result.questions, cr.rankings), directory / f"run-{cr.config.name}.txt", cr.config.name)
        written.append(directory / f"run-{cr.config.name}.txt")
        put(f"run-{cr.config.name}.jsonl", "".join(
            json.dumps({"id": q.id, "query": q.question, "results": cr.rankings.get(q.id, [])}, ensure_ascii=False) + "\n"
            for q in result.questions))
    plot_chart(result, directory / "chart.png")
    written.append(directory / "chart.png")
    return written
