"""The drafting assistant on real reports (issue 16).

    python bench/bench_drafting.py --index /tmp/gov-index --first-year 2005 --years 2025 2024 2023 2022

Corpus: the 72 government work reports (../shared/corpus-extra/
government_work_reports.jsonl), indexed once (built here when --index is
missing). Each report of ``--years`` is used as the draft, and the index is
restricted to the reports of earlier years (``Filter(before_year=Y)``; the
NPC resolutions carry no year and are left out).

Labels come from a brute-force comparison written here, independently of
``qa.drafting`` (it shares no code with it): each text is reduced to its
NFKC-folded, lower-cased word characters; an earlier report's sentences are
cut at 。！？；!?; and line ends; a draft sentence's *containment* in an earlier
sentence is the share of its character 6-grams found among that sentence's
6-grams, computed against every earlier sentence (through a 6-gram -> sentence
inverted index, which skips exactly the sentences sharing no 6-gram, whose
containment is 0). A draft sentence is "reused" when its best containment is
>= ``--threshold`` (0.5: at least half of its 6-grams come from one earlier
sentence). Draft sentences with fewer than 6 word characters are left out.

Measured:
* top-3 hit rate: among reused sentences, the share whose top 3 precedents
  (``DraftFinder``) hold one with containment >= threshold (judged by the
  labeler's own measure on the precedent text the tool returned);
* the reuse mark: precision and recall of "reused" as ``qa.drafting`` marks
  it (best precedent reuse >= ``qa.drafting.finder.REUSED``) against the labels;
* warm seconds for a 10,000-character draft (the head of the newest report)
  and, with ``--big``, a 200,000-character draft (reports concatenated):
  seconds and peak RSS growth.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import machine, md_table, peak_rss_mb, rss_mb, write_results  # noqa: E402

from qa.drafting import draft as drafting_draft, finder as drafting  # noqa: E402
from qa.drafting import DraftFinder, prepare_draft  # noqa: E402
from qa.index.protocol import Filter  # noqa: E402
from qa.ingest.corpus import ingest  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402
from qa.settings import Settings  # noqa: E402

#: next to the checkout, as on the developer machines (/work/main, /work/shared); --corpus elsewhere
CORPUS = ROOT.parent / "shared" / "corpus-extra"
FILE = "government_work_reports.jsonl"
GRAM = 6


def subset_corpus(source: Path, first_year: int, folder: Path) -> Path:
    """The dated reports from ``first_year`` on, as a corpus folder of one
    .jsonl (a smaller index builds in minutes on a loaded machine)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [line for line in (source / FILE).read_text(encoding="utf-8").splitlines()
             if line.strip() and int(json.loads(line).get("year") or 0) >= first_year]
    (folder / FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- the independent labeler

def plain(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())


def sixgrams(text: str) -> set[str]:
    return {text[i:i + GRAM] for i in range(len(text) - GRAM + 1)}


def containment(sentence: str, other: str) -> float:
    a = sixgrams(plain(sentence))
    return len(a & sixgrams(plain(other))) / len(a) if a else 0.0


class Labeler:
    """Every sentence of the earlier reports, with a 6-gram inverted index."""

    def __init__(self, texts: list[str]):
        self.sentences = [s for text in texts for s in re.split(r"[。！？；!?;\n]+", text) if plain(s)]
        self.postings: dict[str, list[int]] = defaultdict(list)
        for k, s in enumerate(self.sentences):
            for g in sixgrams(plain(s)):
                self.postings[g].append(k)

    def best(self, sentence: str) -> float:
        grams = sixgrams(plain(sentence))
        if not grams:
            return 0.0
        shared = Counter(k for g in grams for k in self.postings.get(g, ()))
        return max(shared.values()) / len(grams) if shared else 0.0


# --------------------------------------------------------------------------- measurement

def evaluate_year(finder: DraftFinder, docs: list, year: int, threshold: float) -> dict:
    (draft_doc,) = [d for d in docs if d.year == year and d.title.startswith(f"{year}年")]
    earlier = [d for d in docs if d.year is not None and d.year < year]
    labeler = Labeler([d.text for d in earlier])
    draft = prepare_draft(draft_doc.text)
    started = time.perf_counter()
    results = list(finder.find(draft, 3, Filter(before_year=year)))
    seconds = time.perf_counter() - started
    counts = Counter()
    misses, pairs = [], []
    for r in results:
        if len(plain(r.sentence.text)) < GRAM:
            continue
        counts["sentences"] += 1
        best = labeler.best(r.sentence.text)
        label = best >= threshold
        marked = r.reuse >= drafting.REUSED
        pairs.append([r.sentence.n, round(r.reuse, 3), round(best, 3)])
        counts["reused"] += label
        counts["marked"] += marked
        counts["true_positive"] += label and marked
        if label:
            hit = any(containment(r.sentence.text, p.text) >= threshold for p in r.precedents)
            counts["top3_hit"] += hit
            if not hit and len(misses) < 5:
                misses.append({"sentence": r.sentence.text, "top": [p.text for p in r.precedents[:1]]})
    return {
        "year": year, "draft_doc": draft_doc.doc_id, "draft_chars": len(draft.text),
        "earlier_reports": len(earlier), "earlier_years": f"{min(d.year for d in earlier)}-{max(d.year for d in earlier)}",
        "earlier_sentences": len(labeler.sentences), **counts, "seconds": round(seconds, 2),
        "top3_rate": round(counts["top3_hit"] / max(1, counts["reused"]), 4),
        "precision": round(counts["true_positive"] / max(1, counts["marked"]), 4),
        "recall": round(counts["true_positive"] / max(1, counts["reused"]), 4),
        "misses": misses, "n_reuse_label": pairs,
    }


def head(text: str, chars: int) -> str:
    """The first ``chars`` characters, cut back to a line end."""
    cut = text[:chars]
    return cut[:cut.rfind("\n")] if "\n" in cut else cut


def time_draft(finder: DraftFinder, text: str, year: int, repeat: int) -> dict:
    """Warm wall and CPU seconds of a whole draft, and the share spent encoding."""
    draft = prepare_draft(text)
    list(finder.find(draft, 3, Filter(before_year=year)))  # warm: model, sentence table, caches of this filter
    seconds, cpu = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        list(finder.find(draft, 3, Filter(before_year=year)))
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    started = time.perf_counter()
    finder.searcher.embedder.encode_documents([s.text for s in draft.sentences])
    return {"encoder": finder.searcher.embedder.encoder, "chars": len(draft.text), "sentences": len(draft.sentences),
            "seconds": [round(s, 2) for s in seconds], "best_seconds": round(min(seconds), 2),
            "cpu_seconds": [round(s, 2) for s in cpu], "encode_only_seconds": round(time.perf_counter() - started, 2),
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def big_draft(finder: DraftFinder, docs: list, chars: int) -> dict:
    text = head("\n".join(d.text for d in sorted(docs, key=lambda d: -(d.year or 0))), chars)
    draft = prepare_draft(text)
    before, peak_before = rss_mb(), peak_rss_mb()
    ticks = []
    started = time.perf_counter()
    n = sum(1 for _ in finder.find(draft, 3, Filter(before_year=2000), progress=lambda d, t: ticks.append(d)))
    return {"chars": len(draft.text), "sentences": n, "seconds": round(time.perf_counter() - started, 1),
            "progress_updates": len(ticks), "rss_mb_before": round(before, 1),
            "peak_rss_growth_mb": round(max(0.0, peak_rss_mb() - max(before, peak_before)), 1),
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="index of the 72 reports (built when missing)")
    parser.add_argument("--years", type=int, nargs="+", default=[2025, 2024, 2023, 2022])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help=f"folder holding {FILE}")
    parser.add_argument("--first-year", type=int, help="index only the reports from this year on")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="also a 200,000-character draft")
    parser.add_argument("--encoders", nargs="+", default=["torch", "openvino"], help="encoders to time")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    corpus = (subset_corpus(args.corpus, args.first_year, args.index.with_name(args.index.name + "-corpus"))
              if args.first_year else args.corpus)
    settings = Settings.from_env(corpus=corpus, index=args.index)
    from qa.index.build import build
    build(settings, show_progress=True)  # a no-op when the index is up to date
    docs = ingest(corpus, files=[corpus / FILE]).documents
    info = {"commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "machine": machine(),
            "encoder": settings.encoder, "first_year": args.first_year, "threshold": args.threshold, "reuse_gram": drafting.REUSE_GRAM,
            "reused_at": drafting.REUSED}
    started = time.perf_counter()
    finder = DraftFinder(Searcher(settings))
    info["load_seconds"] = round(time.perf_counter() - started, 1)
    years = [evaluate_year(finder, docs, y, args.threshold) for y in args.years]
    newest = max(args.years)
    (newest_doc,) = [d for d in docs if d.year == newest and d.title.startswith(f"{newest}年")]
    timing = [time_draft(finder if encoder == settings.encoder else DraftFinder(Searcher(replace(settings, encoder=encoder))),
                         head(newest_doc.text, 10_000), newest, args.repeat) for encoder in args.encoders]
    big = big_draft(finder, docs, drafting_draft.MAX_DRAFT_CHARS) if args.big else None
    total = Counter()
    for y in years:
        total.update({k: y[k] for k in ("sentences", "reused", "marked", "true_positive", "top3_hit")})
    overall = {"top3_rate": round(total["top3_hit"] / max(1, total["reused"]), 4),
               "precision": round(total["true_positive"] / max(1, total["marked"]), 4),
               "recall": round(total["true_positive"] / max(1, total["reused"]), 4), **total}
    rows = [[y["year"], y["earlier_years"], y["sentences"], y["reused"], y["top3_rate"], y["precision"], y["recall"],
             y["seconds"]] for y in years]
    rows.append(["all", "", overall["sentences"], overall["reused"], overall["top3_rate"], overall["precision"],
                 overall["recall"], ""])
    table = (f"commit {info['commit']}, {info['date']}, load avg {info['machine']['load_avg_1m_at_start']}, "
             f"encoder {info['encoder']}; labels: 6-gram containment >= {args.threshold}\n\n"
             + md_table(["draft year", "index years", "sentences", "reused (label)", "top-3 hit", "mark precision",
                         "mark recall", "seconds"], rows)
             + "".join(f"\n\n10,000-char draft ({t['chars']} chars, {t['sentences']} sentences), warm, encoder "
                       f"{t['encoder']}: best {t['best_seconds']} s of {t['seconds']} (CPU {t['cpu_seconds']} s; "
                       f"encoding alone {t['encode_only_seconds']} s; load avg {t['load_avg_1m']})" for t in timing))
    if big:
        table += (f"\n\n{big['chars']:,}-char draft: {big['sentences']} sentences in {big['seconds']} s, "
                  f"{big['progress_updates']} progress updates, peak RSS growth {big['peak_rss_growth_mb']} MB "
                  f"(load avg {big['load_avg_1m']})")
    write_results(args.out, "drafting", {**info, "years": years, "overall": overall, "timing_10k": timing,
                                         "big": big}, table)


if __name__ == "__main__":
    main()
