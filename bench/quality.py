"""The quality figures the docs report, measured one way for ``make figures``
and for the gates of ``make test`` (issue 27).

Every figure comes from the command line a user runs, scored by the official
scorers vendored in ``tests/vendor`` (verbatim copies of ``../shared/eval``):

- retrieval: ``qa search --batch SET --mode M --top-k 10 --json`` scored by
  ``score.py`` (R@5, MRR@10; ``--doc-match`` for sets that name their document);
- answers: ``qa ask --batch SET --json`` scored by ``score_answers.py`` with the
  chunks of ``qa chunks --json`` (answered with evidence, declined when not in
  the reports, citations that are exact spans);
- drafting: ``DraftFinder`` on a report of the index against the reports of
  earlier years, labelled by ``bench/bench_drafting.py``'s independent 6-gram
  labeler (top-3 hit rate, precision and recall of the reuse mark).

The ``qa`` commands run in this process (``run_cli``: the parser and command
function of ``python -m qa``), so the model loads once for every set; the
scorers run as the separate scripts they are. The results files hold only
what the code and the data decide (no date, commit or load: those go to
``NAME.run.json`` beside them), so running the same code on the same data
rewrites them byte for byte, and ``.ci/run`` can tell a figure that no longer
matches the code by ``git status``.

``tests/test_quality_gates.py`` runs the same functions on the indexes the
test session built and fails when a figure falls below the committed one by
more than the margin (``margin``).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENDOR = ROOT / "tests" / "vendor"
SCORE = VENDOR / "score.py"
SCORE_ANSWERS = VENDOR / "score_answers.py"
MODES = ("bm25", "dense", "hybrid")
NAIVE = "naive 500/100 BM25"


@dataclass(frozen=True)
class Corpus:
    """A corpus folder: in the repository, or beside it (``../shared``)."""

    name: str
    path: str  # relative to the checkout

    @property
    def folder(self) -> Path:
        return (ROOT / self.path).resolve()

    @property
    def in_repo(self) -> bool:
        return not self.path.startswith("..")


CORPORA = {c.name: c for c in (
    Corpus("seeds", "corpus"),
    Corpus("ncp-sample", "tests/data/ncp_sample/corpus"),
    Corpus("gov-asked", "tests/data/gov_asked"),
    Corpus("gov8", "tests/data/gov_reports"),
    Corpus("ncp", "../shared/eval/ncp/corpus"),
    Corpus("gov72", "../shared/corpus-extra"),
)}


@dataclass(frozen=True)
class QSet:
    """A question set asked of one corpus: ``questions`` (files, concatenated)
    and, for answers, ``unanswerable`` files whose questions the reports
    cannot answer (asked as ``kind: none``)."""

    name: str
    corpus: str
    questions: tuple[str, ...] = ()
    unanswerable: tuple[str, ...] = ()
    doc_match: bool = False

    @property
    def in_repo(self) -> bool:
        return CORPORA[self.corpus].in_repo and all(not f.startswith("..") for f in self.questions + self.unanswerable)


DEV, DEV_NONE = "qa/data/dev_questions.jsonl", "qa/data/dev_unanswerable.jsonl"
OWN, OWN_NONE = "tests/data/own_questions.jsonl", "tests/data/own_unanswerable.jsonl"
COLL, COLL_NONE = "tests/data/colloquial_questions.jsonl", "tests/data/colloquial_unanswerable.jsonl"
COLL2, COLL2_NONE = "tests/data/colloquial2_questions.jsonl", "tests/data/colloquial2_unanswerable.jsonl"
NCP_SAMPLE = "tests/data/ncp_sample/dev_questions.jsonl"
GOV_ASKED = "tests/data/gov_asked_questions.jsonl"
NCP_DEV = "../shared/eval/ncp/dev_questions.jsonl"
GOV = "tests/data/gov_questions.jsonl"
CONV, CONV2, CONV3, CONV4, CONV5 = (f"tests/data/conversations{n}.jsonl" for n in ("", "2", "3", "4", "5"))

#: results file -> the retrieval sets it holds, in table order
RETRIEVAL = {
    # README's quality table
    "retrieval": (
        QSet("seeds-dev", "seeds", (DEV,)),
        QSet("own", "seeds", (OWN,)),
        QSet("ncp-dev", "ncp", (NCP_DEV,), doc_match=True),
        QSet("colloquial", "seeds", (COLL,)),
        QSet("colloquial2", "seeds", (COLL2,)),
    ),
    # docs/retrieval.md: the samples in the repository and the 72 government reports
    "retrieval-more": (
        QSet("ncp-sample", "ncp-sample", (NCP_SAMPLE,), doc_match=True),
        QSet("gov-asked", "gov-asked", (GOV_ASKED,)),
        QSet("gov", "gov72", (GOV,)),
    ),
}

#: results file -> the answer sets it holds
ANSWERS = {
    "answers-current": (
        QSet("seeds-dev", "seeds", (DEV,), (DEV_NONE,)),
        QSet("own", "seeds", (OWN,), (OWN_NONE,)),
        QSet("colloquial", "seeds", (COLL,), (COLL_NONE,)),
        QSet("colloquial2", "seeds", (COLL2,), (COLL2_NONE,)),
        QSet("ncp-cross100", "seeds", (), ("tests/data/ncp_cross100.jsonl",)),
        QSet("ncp-sample", "ncp-sample", (NCP_SAMPLE,)),
        QSet("gov-asked", "gov-asked", (GOV_ASKED,)),
        QSet("ncp-dev", "ncp", (NCP_DEV,)),
        QSet("gov", "gov72", (GOV,)),
    ),
    # docs/answers.md: the second turn of two-turn conversations (``history`` = the first question)
    "answers-conversations": (
        QSet("conversations", "seeds", (CONV,)),
        QSet("conversations2", "seeds", (CONV2,)),
        QSet("conversations3", "seeds", (CONV3,)),
        QSet("conversations4", "seeds", (CONV4,)),
        QSet("conversations5", "seeds", (CONV5,)),
    ),
}

#: results file -> the sets of questions about several reports (``documents``: the reports an answer must cite)
MULTI = {
    "answers-multi": (
        QSet("multi-seeds", "seeds", ("tests/data/multi_seeds.jsonl",)),
        QSet("multi2-seeds", "seeds", ("tests/data/multi2_seeds.jsonl",)),
        QSet("multi-gov", "gov8", ("tests/data/multi_gov.jsonl",)),
        QSet("multi2-gov", "gov8", ("tests/data/multi2_gov.jsonl",)),
    ),
}


@dataclass(frozen=True)
class DraftSet:
    """Reports of a corpus used as drafts against the reports of earlier years."""

    name: str
    corpus: str
    years: tuple[int, ...]
    first_year: int | None = None  # earlier reports before this year are left out of the labels and the index filter

    @property
    def in_repo(self) -> bool:
        return CORPORA[self.corpus].in_repo


DRAFTING = {
    "drafting-current": (
        DraftSet("gov-asked", "gov-asked", (2024,)),
        DraftSet("gov72", "gov72", (2025, 2024, 2023, 2022)),
    ),
}

ALL = {**RETRIEVAL, **ANSWERS, **MULTI, **DRAFTING}


# --------------------------------------------------------------------------- running the commands

def run_cli(argv: list[str], out: Path) -> Path:
    """``python -m qa ARGV > OUT``, in this process: the same parser and
    command function, the model loaded once per process (``get_embedder``)."""
    from qa.cli import _settings, build_parser

    args = build_parser().parse_args(argv)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle, contextlib.redirect_stdout(handle):
        code = args.func(args, _settings(args))
    if code:
        raise RuntimeError(f"qa {' '.join(argv)} exited with {code}")
    return out


def _scorer(script: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode not in (0, 1) or not done.stdout.strip():  # 1: a minimum failed (none is asked here)
        raise RuntimeError(f"{script.name} {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def questions_file(qset: QSet, work: Path) -> Path:
    """The set's question files as one file; unanswerable questions as ``kind: none``."""
    lines = []
    for name, none in [(f, False) for f in qset.questions] + [(f, True) for f in qset.unanswerable]:
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                lines.append(json.dumps({**json.loads(line), "kind": "none"}, ensure_ascii=False) if none else line)
    path = work / f"{qset.name}-questions.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def score_run(questions: Path, run: Path, doc_match: bool) -> dict[str, Any]:
    last = _scorer(SCORE, str(questions), str(run), *(["--doc-match"] if doc_match else [])).strip().splitlines()[-1]
    r5, mrr, n = re.search(r"R@5=([\d.]+) MRR@10=([\d.]+) .*n=(\d+)", last).groups()
    return {"R@5": float(r5), "MRR@10": float(mrr), "n": int(n), "scorer_line": last}


def retrieval_figures(qset: QSet, index: Path, work: Path, modes: tuple[str, ...] = MODES,
                      naive: bool = True) -> dict[str, Any]:
    """R@5 / MRR@10 of each mode (and the naive baseline) on one set."""
    questions = questions_file(qset, work)
    scores = {}
    for mode in modes:
        run = run_cli(["search", "--batch", str(questions), "--index", str(index), "--mode", mode, "--top-k", "10",
                       "--json"], work / f"run-{qset.name}-{mode}.jsonl")
        scores[mode] = score_run(questions, run, qset.doc_match)
    if naive:
        run = work / f"run-{qset.name}-naive.jsonl"
        with run.open("w", encoding="utf-8") as handle:
            subprocess.run([sys.executable, str(ROOT / "bench" / "naive_baseline.py"),
                            str(CORPORA[qset.corpus].folder), str(questions)], stdout=handle, check=True, cwd=ROOT)
        scores[NAIVE] = score_run(questions, run, qset.doc_match)
    return {"corpus": CORPORA[qset.corpus].path, "questions": list(qset.questions), "doc_match": qset.doc_match,
            "n": scores[modes[0]]["n"], "scores": scores}


ANSWER_LINE = re.compile(r"answered with evidence ([\d.]+) \(n=(\d+)\), declined when not in the reports ([\d.]+) "
                         r"\(n=(\d+)\)")


def answer_figures(qset: QSet, index: Path, work: Path, chunks: Path | None = None) -> dict[str, Any]:
    """Answers of one set scored like the held-out check (``chunks``: the
    corpus's ``qa chunks --json``, made here when not given)."""
    questions = questions_file(qset, work)
    run = run_cli(["ask", "--batch", str(questions), "--index", str(index), "--json"],
                  work / f"answers-{qset.name}.jsonl")
    if chunks is None:
        chunks = corpus_chunks(CORPORA[qset.corpus], work)
    output = _scorer(SCORE_ANSWERS, str(questions), str(run), "--chunks", str(chunks))
    acc, n_ans, dec, n_none = ANSWER_LINE.search(output).groups()
    exact, cited = re.search(r"citations that are exact spans: (\d+)/(\d+)", output).groups()
    median = re.search(r"median answer length (\d+)", output)
    return {"corpus": CORPORA[qset.corpus].path, "questions": list(qset.questions),
            "unanswerable": list(qset.unanswerable),
            "answerable": int(n_ans), "none": int(n_none),
            "answered_with_evidence": float(acc) if int(n_ans) else None,
            "declined": float(dec) if int(n_none) else None,
            "citations": int(cited), "exact_citations": int(exact),
            "median_chars": int(median.group(1)) if median else None,
            "scorer_output": output}


def multi_figures(qset: QSet, index: Path, work: Path) -> dict[str, Any]:
    """Answers to questions about several reports, scored by ``qa eval
    --answers --json`` (the official scorer knows no ``documents``): the
    share of the reports each question needs that its answer cites, and the
    answers that hold an evidence string."""
    questions = questions_file(qset, work)
    run = run_cli(["eval", str(questions), "--answers", "--index", str(index), "--json"],
                  work / f"multi-{qset.name}.json")
    total = next(r for r in json.loads(run.read_text(encoding="utf-8"))["by_kind"] if r["kind"] == "all")
    documents = sum(len(set(json.loads(line)["documents"])) for line in questions.read_text(encoding="utf-8").splitlines())
    return {"corpus": CORPORA[qset.corpus].path, "questions": list(qset.questions), "n": total["questions"],
            "documents": documents, "document_recall": total["document_recall"],
            "answered_with_evidence": total["answered_with_evidence"], "exact_citations": total["exact_citations"],
            "median_chars": total["median_answer_chars"]}


def corpus_chunks(corpus: Corpus, work: Path) -> Path:
    return run_cli(["chunks", "--corpus", str(corpus.folder), "--json"], work / f"chunks-{corpus.name}.jsonl")


def drafting_figures(dset: DraftSet, index: Path, threshold: float = 0.5) -> dict[str, Any]:
    """Each draft year of ``dset`` against the earlier reports of its index
    (``bench_drafting.evaluate_year``: the tool's precedents against the
    independent labels), without the timings."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_drafting import evaluate_year

    from qa.drafting.finder import DraftFinder
    from qa.ingest.corpus import ingest
    from qa.search.searcher import Searcher
    from qa.settings import Settings

    folder = CORPORA[dset.corpus].folder
    docs = [d for d in ingest(folder).documents if dset.first_year is None or (d.year or 0) >= dset.first_year]
    finder = DraftFinder(Searcher(Settings.from_env(corpus=folder, index=index)))
    drafts = []
    for year in dset.years:
        found = evaluate_year(finder, docs, year, threshold)
        drafts.append({k: v for k, v in found.items() if k not in ("seconds", "n_reuse_label")})
    return {"corpus": CORPORA[dset.corpus].path, "threshold": threshold, "drafts": drafts}


def build_index(corpus: Corpus, index: Path) -> Path:
    """A fresh index of ``corpus`` (the real build path, the default settings)."""
    from qa.index.build import build
    from qa.settings import Settings

    build(Settings.from_env(corpus=corpus.folder, index=index), rebuild=True)
    return index


# --------------------------------------------------------------------------- results files

def results_path(name: str) -> Path:
    return RESULTS / f"{name}.json"


def load(name: str) -> dict[str, Any]:
    path = results_path(name)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def table(name: str, data: dict[str, Any]) -> str:
    """The Markdown table of a results file (what the docs cite)."""
    sets = data.get("sets", {})
    if name in RETRIEVAL:
        rows = ["| set | pipeline | R@5 | MRR@10 |", "|---|---|---|---|"]
        for set_name, entry in sets.items():
            for label, s in entry["scores"].items():
                rows.append(f"| {set_name} | {label} | {s['R@5']:.3f} | {s['MRR@10']:.3f} |")
        return "\n".join(rows)
    if name in ANSWERS:
        rows = ["| set | answered with evidence | declined (none) | exact citations | median chars |",
                "|---|---|---|---|---|"]
        show = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
        for set_name, e in sets.items():
            rows.append(f"| {set_name} (n={e['answerable']}+{e['none']}) | {show(e['answered_with_evidence'])} | "
                        f"{show(e['declined'])} | {e['exact_citations']}/{e['citations']} | "
                        f"{'–' if e['median_chars'] is None else e['median_chars']} |")
        return "\n".join(rows)
    if name in MULTI:
        rows = ["| set | questions | reports needed | reports cited (recall) | answered with evidence | "
                "exact citations | median chars |", "|---|---|---|---|---|---|---|"]
        for set_name, e in sets.items():
            rows.append(f"| {set_name} | {e['n']} | {e['documents']} | {e['document_recall']:.3f} | "
                        f"{e['answered_with_evidence']:.3f} | {e['exact_citations']:.3f} | {e['median_chars']} |")
        return "\n".join(rows)
    rows = ["| corpus | draft year | index years | sentences | reused (label) | top-3 hit | mark precision | "
            "mark recall |", "|---|---|---|---|---|---|---|---|"]
    for set_name, entry in sets.items():
        for d in entry["drafts"]:
            rows.append(f"| {set_name} | {d['year']} | {d['earlier_years']} | {d['sentences']} | {d['reused']} | "
                        f"{d['top3_rate']:.3f} | {d['precision']:.3f} | {d['recall']:.3f} |")
    return "\n".join(rows)


def save(name: str, measured: dict[str, dict[str, Any]], command: str, facts: dict[str, Any] | None) -> Path:
    """Write ``NAME.json`` / ``NAME.md`` with the sets just measured; the
    sets of the file not measured this time are kept as committed (in the
    declared order), so the in-repository half can be regenerated without
    the data beside the checkout. ``facts`` (commit, date, load) go to
    ``NAME.run.json`` when given."""
    old = load(name).get("sets", {})
    order = [s.name for s in ALL[name]]
    sets = {n: measured.get(n, old.get(n)) for n in order if n in measured or n in old}
    data = {"what": DESCRIPTION[name], "command": command, "scorers": "tests/vendor (verbatim ../shared/eval)",
            "sets": sets}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = results_path(name)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (RESULTS / f"{name}.md").write_text(table(name, data) + "\n", encoding="utf-8")
    if facts is not None:
        (RESULTS / f"{name}.run.json").write_text(json.dumps({**facts, "measured": sorted(measured)},
                                                             ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


DESCRIPTION = {
    "retrieval": "README's quality table: qa search --batch --top-k 10 --json per mode, and "
                 "bench/naive_baseline.py, scored by score.py (--doc-match where the set names its document)",
    "retrieval-more": "the NCP sample and the government-report questions in the repository, and the 40 "
                      "government-report questions over all 72 reports; measured as README's table",
    "answers-current": "qa ask --batch --json scored by score_answers.py --chunks (qa chunks --json); "
                       "unanswerable files asked as kind none",
    "answers-conversations": "the second turn of two-turn conversations (history = the first question): "
                             "qa ask --batch --json scored by score_answers.py --chunks (qa chunks --json)",
    "answers-multi": "questions about several reports: qa eval --answers --json (document recall: the reports "
                     "a question needs that its answer cites)",
    "drafting-current": "DraftFinder on a report against the earlier reports of its index "
                        "(Filter(before_year)), labelled by bench_drafting.py's 6-gram labeler at 0.5",
}


# --------------------------------------------------------------------------- gates

@dataclass
class Gate:
    """One committed figure and how far today's may fall below it."""

    results: str  # file name under bench/results
    set_name: str
    what: str  # e.g. "hybrid R@5"
    committed: float
    n: int  # questions (or sentences) the figure is a share of
    margin: float = field(init=False)

    def __post_init__(self) -> None:
        self.margin = margin(self.n)

    @property
    def floor(self) -> float:
        return self.committed - self.margin

    def message(self, today: float) -> str:
        return (f"{self.set_name} {self.what}: {today:.3f} today, below the committed {self.committed:.3f} - "
                f"margin {self.margin:.3f} in bench/results/{self.results}.json. If the drop is intended, "
                f"regenerate the figures (make figures) and commit the results file with the change.")


def margin(n: int) -> float:
    """0.02 on a share of 60 or more questions; one question on a smaller set
    (plus 0.001: the scorers print three decimals, each rounded)."""
    return 0.02 if n >= 60 else 1 / n + 0.001
