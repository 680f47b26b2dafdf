"""Two-fold cross-validation of the answer model: what the fitted model is
worth on questions it was not fitted on.

The questions of every set are split in two by a hash of their id; the model
is fitted (``qa.answer.fit``) on one half of every set and answers the other
half, then the other way round. Reported per set: share of answerable
questions whose answer holds an evidence string (``found`` true), share of
unanswerable ones declined, median answer length; scored like
``score_answers.py``. The sentence model also reranks retrieval
(``qa/search/second_stage.py``), so each half is searched with the model fitted on the other
too: R@5 and MRR@10 of the answerable questions, scored like ``score.py``
(``--doc-match`` for questions that name their document). The candidates the
fit learns from were retrieved with the committed model's rerank.

    python bench/answer_cv.py --set index=../shared/eval/dev_questions.jsonl ... [--fit-on NAME,...]

``--fit-on`` restricts fitting to some sets (``STEM@INDEXDIR``); every set is
still answered, so a set left out of the fit is measured out of sample.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import machine, write_results  # noqa: E402

from qa.answer.assistant import Assistant  # noqa: E402
from qa.answer.fit import collect, fit  # noqa: E402
from qa.evaluation.relevance import is_relevant  # noqa: E402
from qa.text.fold import evidence_form as norm  # noqa: E402
from qa.questions import fold, read_questions  # noqa: E402
from qa.answer import sentence_scorer  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402
from qa.settings import Settings  # noqa: E402


def stem(spec: str) -> str:
    """A set's name: its question file's stem at its index's folder name."""
    index, _, rest = spec.partition("=")
    return f"{Path(rest.partition(':')[0]).stem}@{Path(index).name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", required=True, metavar="INDEX=QUESTIONS[:none]")
    parser.add_argument("--fit-on", help="comma-separated sets (STEM@INDEXDIR) to fit on (default: all)")
    parser.add_argument("--name", default="answer-cv")
    args = parser.parse_args()
    fit_on = set(args.fit_on.split(",")) if args.fit_on else {stem(s) for s in args.set}
    examples = {spec: collect(spec) for spec in args.set}
    assistants: dict[str, Assistant] = {}
    tally: dict[str, dict] = {}
    for held_out in (0, 1):
        train = [e for spec, ex in examples.items() if stem(spec) in fit_on for e in ex if fold(e.qid) != held_out]
        model = fit(train, sorted(fit_on))
        for spec in args.set:
            index, _, rest = spec.partition("=")
            path, _, flag = rest.partition(":")
            if index not in assistants:
                settings = replace(Settings.from_env(), index=Path(index))
                assistants[index] = Assistant(settings, Searcher(settings, sentence_scorer(settings)))
            assistant = assistants[index]
            assistant.model = model
            t = tally.setdefault(stem(spec), {"answered": [0, 0], "declined": [0, 0], "lengths": [],
                                              "retrieval": [0, 0.0, 0]})
            for q in read_questions(Path(path), need_relevance=False)[0]:
                if fold(q.id) != held_out:
                    continue
                answer = assistant.ask(q.question)
                if flag == "none" or q.kind == "none":
                    t["declined"][0] += not answer.found
                    t["declined"][1] += 1
                else:
                    t["answered"][0] += answer.found and any(norm(e) in norm(answer.answer) for e in q.evidence)
                    t["answered"][1] += 1
                    hits = assistant.searcher.search(q.question, 10)
                    rank = next((r for r, h in enumerate(hits, 1) if is_relevant(q, h.to_dict(), bool(q.doc))), None)
                    t["retrieval"][0] += rank is not None and rank <= 5
                    t["retrieval"][1] += 1 / rank if rank else 0.0
                    t["retrieval"][2] += 1
                if answer.found:
                    t["lengths"].append(len(answer.answer))
    rows = ["| set | fitted on | answered with evidence | declined (none) | median chars | R@5 / MRR@10 |",
            "|---|---|---|---|---|---|"]
    share = lambda k: f"{k[0] / k[1]:.3f} (n={k[1]})" if k[1] else "–"
    for name, t in tally.items():
        median = int(statistics.median(t["lengths"])) if t["lengths"] else 0
        hits, rr, n = t["retrieval"]
        retrieval = f"{hits / n:.3f} / {rr / n:.3f}" if n else "–"
        rows.append(f"| {name} | {'yes' if name in fit_on else 'no'} | {share(t['answered'])} | "
                    f"{share(t['declined'])} | {median} | {retrieval} |")
    write_results(ROOT / "bench" / "results", args.name,
                  {"machine": machine(), "sets": args.set, "fit_on": sorted(fit_on), "tally": tally}, "\n".join(rows))


if __name__ == "__main__":
    main()
