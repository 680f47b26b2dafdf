"""Search a question set under several configurations on one loaded
``Searcher`` and score every run against the same pooled qrels.

``evaluate_rankings`` (``qa.evaluation.metrics``) is pure, so the scoring is
tested without loading a model; ``run_eval`` runs the configurations.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

from qa.evaluation.metrics import RANX_METRICS, Metrics, evaluate_rankings
from qa.evaluation.relevance import DEPTH, build_qrels
from qa.index.protocol import MODES
from qa.questions import Question

logger = logging.getLogger(__name__)


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


def split_list(value: str | None, kind: type) -> list[Any]:
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


def _config_searcher(searcher: Any, config: Config) -> Any:
    """A shallow copy sharing model, index and query vectors (each question
    is encoded once for every config), with this config's settings: the
    Searcher reads dense_weight/candidates at search time, and the caller's
    searcher is left untouched."""
    variant = copy.copy(searcher)
    variant.settings = replace(searcher.settings, mode=config.mode, **config.overrides())
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


def search_rankings(searcher: Any, questions: Sequence[Question], top_k: int = DEPTH,
                    progress: Callable[[], None] | None = None) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Search every question (``progress()`` after each); a query the
    searcher refuses becomes an empty ranking (a miss) and a warning, never an abort."""
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
        if progress is not None:
            progress()
    return rankings, problems


def run_eval(searcher: Any, questions: Sequence[Question], configs: Sequence[Config],
             top_k: int = DEPTH, doc_match: bool = False,
             progress: Callable[[str, int, int], None] | None = None) -> EvalResult:
    """Run each config on the one loaded searcher, pool the qrels over all
    runs, and score every run against that same pool. ``progress(config
    name, done, total)`` is called after every searched question."""
    total, done = len(questions) * len(configs), 0

    def tick(name: str) -> Callable[[], None] | None:
        def step() -> None:
            nonlocal done
            done += 1
            progress(name, done, total)
        return step if progress is not None else None

    searched: list[tuple[Config, dict[str, list[dict[str, Any]]], float, list[str]]] = []
    for config in configs:
        started = time.perf_counter()
        rankings, problems = search_rankings(_config_searcher(searcher, config), questions, top_k, tick(config.name))
        searched.append((config, rankings, time.perf_counter() - started, problems))
        logger.info("%s: searched %d questions in %.1fs", config.name, len(questions), searched[-1][2])
    qrels = build_qrels(questions, [r for _, r, _, _ in searched], doc_match)
    results = [
        ConfigResult(config, effective_settings(searcher.settings, config, top_k),
                     evaluate_rankings(questions, rankings, qrels, doc_match), rankings, seconds, problems)
        for config, rankings, seconds, problems in searched
    ]
    return EvalResult(results, qrels, list(questions))


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
