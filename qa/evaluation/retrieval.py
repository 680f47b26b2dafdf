"""Retrieval evaluation: question set in, Recall@k / MRR@10 / nDCG@10 out.

``python -m qa eval QUESTIONS.jsonl --mode bm25,dense,hybrid --report out/eval``

Two layers, so the scoring can be tested without loading a model:

* ``evaluate_rankings(questions, rankings)`` is pure: it scores ranked hit
  dicts (the ``qa search --json`` result shape) against the question set.
* ``run_eval(searcher, questions, configs)`` runs every configuration
  (mode x settings variant) on one loaded ``Searcher`` and scores the runs.

Relevance, as in the official scorer (``shared/eval/score.py``):

* ``evidence`` strings: a passage is relevant when, after normalization
  (traditional -> simplified, ``(pinyin)`` annotations and all whitespace
  removed, exactly as ``score.py`` does), it contains one of the strings.
  There is no pre-judged passage list, so relevance is judged per *retrieved*
  passage: the qrels of a question are the retrieved chunk ids that match,
  pooled over all configurations evaluated together (TREC-style pooling), so
  every configuration is scored against the same qrels.
* ``relevant`` ids: a hit is relevant when its ``chunk_id`` or ``doc_id`` is
  in the list (listed ids nobody retrieved stay in the qrels as relevant but
  unretrieved items).

Metrics are computed with ``ranx`` from the same TREC qrels and run that
``--report`` writes out (``qrels.txt``, ``run-<config>.txt``), so anyone can
recompute them. **Recall@k here is the hit rate** -- 1 when at least one
relevant passage is in the top k, else 0 (ranx ``hit_rate@k``) -- not the
fraction of relevant passages retrieved: with evidence strings the number of
relevant passages is unknown (and duplicates of one report are deduplicated
at search time), and the hit rate is what ``score.py`` reports as R@5. MRR@10
is the reciprocal rank of the first relevant passage in the top 10 (0 if
none), again as ``score.py``. nDCG@10 is binary-gain nDCG against the pooled
qrels, so unlike R@k and MRR it depends on which configurations were pooled.
A question none of whose relevant passages was retrieved by any configuration
gets a placeholder relevant id, which keeps it in the mean with score 0.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import re
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from qa.index.protocol import MODES
from qa.questions import Question, read_questions

logger = logging.getLogger(__name__)

RECALL_KS = (1, 3, 5, 10)
#: our metric name -> ranx metric name (Recall@k is deliberately the hit rate, see module docstring)
RANX_METRICS: dict[str, str] = {
    **{f"R@{k}": f"hit_rate@{k}" for k in RECALL_KS},
    "MRR@10": "mrr@10",
    "nDCG@10": "ndcg@10",
}
METRICS = tuple(RANX_METRICS)
DEPTH = 10  # every metric is cut at 10; deeper hits are not scored
#: placeholder qrels entry for a question with no relevant retrieved passage
NO_RELEVANT = "__no_relevant_retrieved__"

Ranking = list[Mapping[str, Any]]  # hit dicts, best first (Hit.to_dict() shape)


# --- relevance ----------------------------------------------------------------

_PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")


def _t2s(text: str) -> str:
    try:
        from qa.text.simplify import to_simplified

        return to_simplified(text)
    except Exception:  # score.py falls back to identity without OpenCC; so do we
        return text


def normalize_evidence(text: str) -> str:
    """``score.py``'s ``norm``: drop ``(pinyin)``, traditional -> simplified, drop
    all whitespace. Kept byte-for-byte equivalent so our R@5 equals the official one."""
    text = _PINYIN.sub("", text or "")
    return re.sub(r"\s+", "", _t2s(text))


def hit_id(hit: Mapping[str, Any]) -> str:
    """The id a hit has in qrels and run files: its chunk id, else a stable
    stand-in built from its position (``score.py``-style runs have no chunk id).
    Whitespace would break TREC's column format, so it is replaced."""
    raw = hit.get("chunk_id")
    if not raw:
        base = hit.get("doc_id") or hit.get("source") or "hit"
        raw = f"{base}@{hit.get('start', '')}-{hit.get('end', '')}" if "start" in hit else f"{base}#{hit.get('rank', '')}"
    return re.sub(r"\s+", "_", str(raw))


def _as_dict(hit: Any) -> Mapping[str, Any]:
    return hit.to_dict() if hasattr(hit, "to_dict") else hit


def is_relevant(question: Question, hit: Mapping[str, Any], doc_match: bool = False,
                _evidence: Sequence[str] | None = None) -> bool:
    """Whether one retrieved passage answers the question: it contains an
    evidence string (normalized) or its chunk/doc id is listed in ``relevant``.
    With ``doc_match`` (score.py ``--doc-match``) it must also come from the
    question's ``doc``: its source, or one of the documents that publish the
    same passage (``also_in``)."""
    if doc_match and question.doc and not any(question.doc in str(source) for source in
                                              [hit.get("source", ""), *(hit.get("also_in") or [])]):
        return False
    if question.relevant:
        ids = set(question.relevant)
        if hit.get("chunk_id") in ids or hit.get("doc_id") in ids:
            return True
    evidence = _evidence if _evidence is not None else [normalize_evidence(e) for e in question.evidence]
    if evidence:
        text = normalize_evidence(str(hit.get("text", "")))
        return any(e and e in text for e in evidence)
    return False


def build_qrels(questions: Sequence[Question], runs: Iterable[Mapping[str, Sequence[Any]]],
                doc_match: bool = False, depth: int = DEPTH) -> dict[str, dict[str, int]]:
    """TREC qrels ``{qid: {chunk_id: 1}}`` pooled over several runs' top ``depth``.

    Evidence relevance can only be judged on passages someone retrieved, so
    the pool is the union of the runs; listed ``relevant`` ids are added as
    they are (relevant though maybe never retrieved), except doc ids that
    matched retrieved chunks (those chunks stand for them)."""
    runs = list(runs)
    qrels: dict[str, dict[str, int]] = {}
    for q in questions:
        evidence = [normalize_evidence(e) for e in q.evidence]
        rel: dict[str, int] = {}
        matched_ids: set[str] = set()
        for rankings in runs:
            for hit in map(_as_dict, list(rankings.get(q.id, []))[:depth]):
                if is_relevant(q, hit, doc_match, evidence):
                    rel[hit_id(hit)] = 1
                    matched_ids.update({str(hit.get("chunk_id")), str(hit.get("doc_id"))})
        for rid in q.relevant:
            if rid not in matched_ids:
                rel.setdefault(re.sub(r"\s+", "_", rid), 1)
        qrels[q.id] = rel or {NO_RELEVANT: 1}
    return qrels


def to_run(questions: Sequence[Question], rankings: Mapping[str, Sequence[Any]],
           depth: int = DEPTH) -> dict[str, dict[str, float]]:
    """TREC run ``{qid: {chunk_id: score}}``, top ``depth`` per question.

    Scores are ``1/rank``, not the retrieval scores: fused RRF scores tie
    often, and ranx (like trec_eval) re-sorts by score, so rank-derived scores
    keep the searcher's order exactly. A repeated id keeps its first rank."""
    run: dict[str, dict[str, float]] = {}
    for q in questions:
        docs: dict[str, float] = {}
        for hit in map(_as_dict, rankings.get(q.id, [])):
            if len(docs) == depth:
                break
            docs.setdefault(hit_id(hit), 1.0 / (len(docs) + 1))
        run[q.id] = docs
    return run


# --- scoring --------------------------------------------------------------------

@dataclass
class QuestionResult:
    """One question under one configuration, for the worst-first report."""

    id: str
    question: str
    kind: str
    #: 1-based rank of the first relevant hit in the top 10, None when missed
    first_relevant: int | None
    scores: dict[str, float]
    evidence: list[str] = field(default_factory=list)
    relevant: list[str] = field(default_factory=list)
    #: what came back instead: rank, title, section, first 80 chars of the top 3
    returned: list[dict[str, Any]] = field(default_factory=list)

    @property
    def missed(self) -> bool:
        return self.first_relevant is None


@dataclass
class Metrics:
    """Mean metrics overall and per ``kind``, plus per-question results worst first."""

    n: int
    overall: dict[str, float]
    by_kind: dict[str, dict[str, float]]
    kind_counts: dict[str, int]
    questions: list[QuestionResult]


def _ranx_per_query(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """ranx per-query scores ``{metric: {qid: value}}`` for our METRICS."""
    from ranx import Qrels, Run, evaluate

    with warnings.catch_warnings():
        # ranx's numba kernels warn about an int cast that cannot overflow for our sizes
        warnings.filterwarnings("ignore", message=".*unsafe cast.*")
        ranx_run = Run.from_dict({qid: dict(docs) for qid, docs in run.items()})
        evaluate(Qrels.from_dict(qrels), ranx_run, list(RANX_METRICS.values()), return_mean=False)
    per_query = ranx_run.scores
    return {ours: {qid: float(v) for qid, v in per_query[theirs].items()} for ours, theirs in RANX_METRICS.items()}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def evaluate_rankings(questions: Sequence[Question], rankings: Mapping[str, Sequence[Any]],
                      qrels: dict[str, dict[str, int]] | None = None, doc_match: bool = False) -> Metrics:
    """Score one configuration's rankings ``{qid: [hit, ...]}`` (best first;
    hit dicts in the ``qa search --json`` shape or ``Hit`` objects).

    ``qrels`` defaults to the pool of these rankings alone; ``run_eval``
    passes the pool of all configurations so nDCG is comparable. A question
    without a ranking counts as a miss, as in ``score.py``."""
    if not questions:
        return Metrics(0, {m: 0.0 for m in METRICS}, {}, {}, [])
    qrels = qrels if qrels is not None else build_qrels(questions, [rankings], doc_match)
    run = to_run(questions, rankings)
    per_query = _ranx_per_query({q.id: qrels.get(q.id) or {NO_RELEVANT: 1} for q in questions}, run)

    results: list[QuestionResult] = []
    for q in questions:
        ranked = list(run[q.id])
        relevant = qrels.get(q.id, {})
        first = next((i for i, doc in enumerate(ranked, 1) if relevant.get(doc, 0) > 0), None)
        top = [_as_dict(h) for h in list(rankings.get(q.id, []))[:3]]
        results.append(QuestionResult(
            id=q.id, question=q.question, kind=q.kind, first_relevant=first,
            scores={m: per_query[m][q.id] for m in METRICS},
            evidence=list(q.evidence), relevant=list(q.relevant),
            returned=[{
                "rank": h.get("rank", i), "title": h.get("title", ""),
                "section": " > ".join(h.get("section") or []) if isinstance(h.get("section"), list) else str(h.get("section") or ""),
                "text": re.sub(r"\s+", " ", str(h.get("text", "")))[:80],
            } for i, h in enumerate(top, 1)],
        ))

    kinds: dict[str, list[QuestionResult]] = {}
    for r in results:
        kinds.setdefault(r.kind, []).append(r)
    overall = {m: _mean([r.scores[m] for r in results]) for m in METRICS}
    by_kind = {k: {m: _mean([r.scores[m] for r in rs]) for m in METRICS} for k, rs in sorted(kinds.items())}
    # worst first: missed, then found lowest, then by nDCG; ties by id for a stable report
    results.sort(key=lambda r: (r.first_relevant is not None, -(r.first_relevant or 0), r.scores["nDCG@10"], r.id))
    return Metrics(len(results), overall, by_kind, {k: len(v) for k, v in sorted(kinds.items())}, results)


# --- configurations and runs -------------------------------------------------------

@dataclass(frozen=True)
class Config:
    """One searched configuration: a mode plus the settings it overrides.
    ``None`` means "the base settings' value"."""

    name: str
    mode: str
    dense_weight: float | None = None
    candidates: int | None = None

    def overrides(self) -> dict[str, Any]:
        return {k: v for k, v in (("dense_weight", self.dense_weight), ("candidates", self.candidates)) if v is not None}


def _split(value: str | None, kind: type) -> list[Any]:
    if value is None:
        return []
    try:
        return [kind(v.strip()) for v in str(value).split(",") if v.strip()]
    except ValueError as exc:
        raise ValueError(f"cannot read {value!r} as a comma-separated list of {kind.__name__}") from exc


def make_configs(modes: Sequence[str], dense_weights: Sequence[float] = (),
                 candidates: Sequence[int] = ()) -> list[Config]:
    """The cross product mode x dense weight x candidates, without duplicates:
    the dense weight only matters in hybrid mode, so bm25/dense get one
    config per candidates value. Names stay short when a knob has one value."""
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    for w in dense_weights:
        if not 0.0 <= w <= 1.0:
            raise ValueError(f"dense weight {w} is outside 0..1")
    for c in candidates:
        if c < 1:
            raise ValueError(f"candidates must be positive, got {c}")
    weights: list[float | None] = list(dict.fromkeys(dense_weights)) or [None]
    cands: list[int | None] = list(dict.fromkeys(candidates)) or [None]
    configs: list[Config] = []
    for mode in dict.fromkeys(modes):
        for w in (weights if mode == "hybrid" else [None]):
            for c in cands:
                name = mode
                if w is not None and len(weights) > 1:
                    name += f"-dw{w:g}"
                if c is not None and len(cands) > 1:
                    name += f"-c{c}"
                configs.append(Config(name, mode, w if mode == "hybrid" else None, c))
    return configs


class _QueryCache:
    """Memoises query vectors so dense and hybrid configs encode each question
    once; everything else is the wrapped embedder's."""

    def __init__(self, embedder: Any):
        self._embedder, self._cache = embedder, {}

    def encode_queries(self, texts: list[str]):
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self._embedder.encode_queries(missing)):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)


def _config_searcher(searcher: Any, config: Config, embedder: Any) -> Any:
    """A shallow copy sharing model and index, with this config's settings:
    the Searcher reads dense_weight/candidates at search time, and the
    caller's searcher is left untouched."""
    variant = copy.copy(searcher)
    variant.settings = replace(searcher.settings, mode=config.mode, **config.overrides())
    variant.embedder = embedder
    return variant


def effective_settings(settings: Any, config: Config, top_k: int) -> dict[str, Any]:
    """The knobs that shaped this config's ranking (dense weight only in hybrid)."""
    out: dict[str, Any] = {"top_k": top_k, "candidates": config.candidates or settings.candidates}
    if config.mode == "hybrid":
        out["dense_weight"] = config.dense_weight if config.dense_weight is not None else settings.dense_weight
        out["rrf_k"] = settings.rrf_k
    return out


@dataclass
class ConfigResult:
    config: Config
    settings: dict[str, Any]
    metrics: Metrics
    #: {qid: [hit dict, ...]} as searched, the `qa search --batch --json` results
    rankings: dict[str, list[dict[str, Any]]]
    seconds: float
    warnings: list[str] = field(default_factory=list)


@dataclass
class EvalResult:
    configs: list[ConfigResult]
    qrels: dict[str, dict[str, int]]
    questions: list[Question]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, per_question: bool = True) -> dict[str, Any]:
        """The ``--json`` / report.json shape: fields are only ever added."""
        configs = []
        for cr in self.configs:
            entry: dict[str, Any] = {
                "name": cr.config.name, "mode": cr.config.mode, "settings": cr.settings,
                "n": cr.metrics.n, "seconds": round(cr.seconds, 3),
                "overall": {m: round(v, 4) for m, v in cr.metrics.overall.items()},
                "by_kind": {k: {"n": cr.metrics.kind_counts[k], **{m: round(v, 4) for m, v in ms.items()}}
                            for k, ms in cr.metrics.by_kind.items()},
                "missed_at_5": sorted(r.id for r in cr.metrics.questions if not r.scores["R@5"]),
                "warnings": cr.warnings,
            }
            if per_question:
                entry["questions"] = [asdict(r) for r in cr.metrics.questions]
            configs.append(entry)
        return {"configs": configs, "meta": self.meta}


def search_rankings(searcher: Any, questions: Sequence[Question], top_k: int = DEPTH
                    ) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Search every question; a query the searcher refuses becomes an empty
    ranking (a miss) and a warning, never an abort."""
    from qa.search.query import QueryError

    rankings: dict[str, list[dict[str, Any]]] = {}
    problems: list[str] = []
    for q in questions:
        try:
            hits = searcher.search(q.question, top_k)
        except QueryError as exc:
            problems.append(f"{q.id}: {exc}")
            hits = []
        rankings[q.id] = [h.to_dict() for h in hits]
    return rankings, problems


def run_eval(searcher: Any, questions: Sequence[Question], configs: Sequence[Config],
             top_k: int = DEPTH, doc_match: bool = False) -> EvalResult:
    """Run each config on the one loaded searcher, pool the qrels over all
    runs, and score every run against that same pool."""
    embedder = _QueryCache(searcher.embedder)
    searched: list[tuple[Config, dict[str, list[dict[str, Any]]], float, list[str]]] = []
    for config in configs:
        started = time.perf_counter()
        rankings, problems = search_rankings(_config_searcher(searcher, config, embedder), questions, top_k)
        searched.append((config, rankings, time.perf_counter() - started, problems))
        logger.info("%s: searched %d questions in %.1fs", config.name, len(questions), searched[-1][2])
    qrels = build_qrels(questions, [r for _, r, _, _ in searched], doc_match)
    results = [
        ConfigResult(config, effective_settings(searcher.settings, config, top_k),
                     evaluate_rankings(questions, rankings, qrels, doc_match), rankings, seconds, problems)
        for config, rankings, seconds, problems in searched
    ]
    return EvalResult(results, qrels, list(questions))


# --- reproducibility -------------------------------------------------------------

def _git_commit(root: Path) -> tuple[str, bool | None]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
        return commit or "unknown", dirty
    except (OSError, subprocess.SubprocessError):
        return "unknown", None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def reproducibility_meta(searcher: Any, question_file: Path, n_questions: int, problems: Sequence[str],
                         top_k: int, doc_match: bool = False) -> dict[str, Any]:
    """Everything needed to reproduce or compare a run: model, index, settings,
    code version, the question set's exact bytes, and when."""
    from qa.index.storage import current_dir, manifest_hash
    from qa.settings import PROJECT_ROOT

    commit, dirty = _git_commit(PROJECT_ROOT)
    try:
        ranx_version = metadata.version("ranx")
    except metadata.PackageNotFoundError:  # pragma: no cover - ranx is a dependency
        ranx_version = None
    settings = searcher.settings
    version = current_dir(settings.index)
    return {
        "model": settings.model,
        "model_path": searcher.manifest.get("model_path"),
        "index": str(settings.index),
        "index_version": version.name if version else None,
        "index_manifest_hash": manifest_hash(searcher.manifest),
        "index_chunks": len(searcher.index) if hasattr(searcher.index, "__len__") else None,
        "settings": _jsonable({k: v for k, v in asdict(settings).items() if not k.startswith("llm")}),
        "top_k": top_k,
        "doc_match": doc_match,
        "git_commit": commit,
        "git_dirty": dirty,
        "questions_file": str(question_file),
        "questions_sha256": hashlib.sha256(question_file.read_bytes()).hexdigest(),
        "questions": n_questions,
        "question_problems": list(problems),
        "metrics": {m: f"ranx {r}" for m, r in RANX_METRICS.items()},
        "relevance": "evidence substring after score.py normalization, or chunk/doc id in 'relevant'; "
                     "qrels pooled over all configs; R@k = hit rate",
        "ranx_version": ranx_version,
        "python": sys.version.split()[0],
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


# --- output --------------------------------------------------------------------

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


# --- command line ----------------------------------------------------------------

def cmd_eval(args: argparse.Namespace) -> int:
    from qa.index.storage import IndexProblem
    from qa.search.searcher import Searcher
    from qa.settings import Settings

    path = Path(args.questions)
    try:
        configs = make_configs(_split(args.mode, str) or list(MODES), _split(args.dense_weight, float),
                               _split(args.candidates, int))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.top_k < 1:
        print("error: --top-k must be positive", file=sys.stderr)
        return 2
    questions, problems = read_questions(path)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not questions:
        print(f"error: no usable questions in {path}", file=sys.stderr)
        return 2
    if args.top_k < DEPTH:
        print(f"warning: --top-k {args.top_k} < {DEPTH}: metrics @{DEPTH} only see the top {args.top_k}",
              file=sys.stderr)

    try:
        searcher = Searcher(Settings.from_env(index=args.index, model=args.model))
    except IndexProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = run_eval(searcher, questions, configs, args.top_k, args.doc_match)
    result.meta = reproducibility_meta(searcher, path, len(questions), problems, args.top_k, args.doc_match)
    for cr in result.configs:
        for w in cr.warnings:
            print(f"warning: {cr.config.name}: {w}", file=sys.stderr)

    if args.report:
        written = write_report(result, Path(args.report))
        if not args.json:
            print(f"report: {', '.join(str(p) for p in written)}", file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    else:
        print(render_text(result))
    return 0


def add_eval_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``eval`` on the ``qa`` subparsers (qa/cli.py's ``build_parser``)."""
    p = subparsers.add_parser(
        "eval", help="score retrieval on a question set (Recall@k, MRR@10, nDCG@10)",
        description="Search every question of a JSONL question set under each configuration and report "
                    "Recall@1/3/5/10 (hit rate), MRR@10 and nDCG@10 overall and per kind. A configuration "
                    "is mode x dense weight x candidates.",
    )
    p.add_argument("questions", help="JSONL: id, question, evidence or relevant, optional kind")
    p.add_argument("--mode", default=",".join(MODES), help="comma-separated modes (default: bm25,dense,hybrid)")
    p.add_argument("--top-k", type=int, default=DEPTH, help=f"results per question (default {DEPTH})")
    p.add_argument("--dense-weight", help="comma-separated hybrid dense weights, e.g. 0.3,0.5 (default: settings)")
    p.add_argument("--candidates", help="comma-separated candidate depths, e.g. 30,60 "
                                        "(values below 3 x top-k have no effect)")
    p.add_argument("--doc-match", action="store_true", help="a passage must also come from the question's 'doc'")
    p.add_argument("--report", help="write report.json, report.md, chart.png, qrels.txt and runs here")
    p.add_argument("--index", type=Path, help="index directory (default: index/, env QA_INDEX)")
    p.add_argument("--model", help="sentence-transformers model name or path (env QA_MODEL)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=cmd_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry: the arguments of ``qa eval`` (a leading ``eval`` is accepted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "eval" and not Path("eval").exists():
        argv = argv[1:]
    verbose = [a for a in argv if a in ("-v", "--verbose")]  # qa's top-level flag, accepted anywhere here
    argv = verbose[:1] + ["eval"] + [a for a in argv if a not in ("-v", "--verbose")]
    parser = argparse.ArgumentParser(prog="qa")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_eval_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("faiss", "faiss.loader", "jieba", "httpx", "sentence_transformers", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
