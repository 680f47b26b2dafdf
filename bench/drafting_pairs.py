"""Draft sentence -> precedent pairs to label by hand, for calibrating what the
drafting tab shows next to a precedent (issue 26: "相似度 0.94" on unrelated ones).

    python bench/drafting_pairs.py --index /tmp/seed-index --out pairs.jsonl

Drafts: the seed report 003 (its first ``--sentences`` sentences, against the
other reports: 003 itself is excluded, as it is for a draft that is an indexed report), the
education paragraph of the 2024 government report (docs/examples/) and the
sentences of ``--extra`` (one per line). Each sentence's ``--top-k``
precedents over the seeds are written as one line each; the labelled copy is
``tests/data/drafting/relevance_pairs.jsonl`` (``label``: 2 the same measure or fact,
1 the same topic but another point, 0 unrelated or only sharing set words).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.drafting import DraftFinder, precedent_filter, prepare_draft  # noqa: E402
from qa.ingest.corpus import ingest  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402
from qa.settings import Settings  # noqa: E402

EXTRA = ROOT / "bench" / "drafting_extra_sentences.txt"
SEED_003 = "003_23cd2b7cd9c0da57.txt"


def drafts(corpus: Path, sentences: int, extra: Path) -> dict[str, str]:
    docs = {d.doc_id: d for d in ingest(corpus).documents}
    seed = prepare_draft(docs[SEED_003].text)
    return {
        "seed-003": "\n".join(s.text for s in seed.sentences[:sentences]),
        "gov-2024-education": (ROOT / "docs" / "examples" / "draft_2024_education.txt").read_text(encoding="utf-8"),
        "extra": extra.read_text(encoding="utf-8"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--top-k", type=int, default=2)
    parser.add_argument("--extra", type=Path, default=EXTRA)
    args = parser.parse_args()
    finder = DraftFinder(Searcher(Settings.from_env(index=args.index, corpus=args.corpus)))
    with args.out.open("w", encoding="utf-8") as out:
        for name, text in drafts(args.corpus, args.sentences, args.extra).items():
            draft = prepare_draft(text)
            where = precedent_filter(exclude_ids=[SEED_003]) if name == "seed-003" else None
            for result in finder.find(draft, args.top_k, where):
                for p in result.precedents:
                    out.write(json.dumps({"draft": name, "n": result.sentence.n, "kind": result.sentence.kind,
                                          "sentence": result.sentence.text, "doc_id": p.doc_id, "start": p.start,
                                          "end": p.end, "precedent": p.text, "cosine": round(p.cosine, 4),
                                          "reuse": round(p.reuse, 4), "rank": p.rank}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
