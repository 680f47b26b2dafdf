"""The lexical levers of docs/retrieval.md, measured without embeddings.

BM25 alone (bm25s over the project's jieba tokens), on the project's own
cleaning and chunking, for chunk sizes, what text a passage is scored with
(passage, + title and section path, + the document's lead, + neighbouring
passages: parent-child) and bm25s' k1/b. Scored like ``score.py``
(evidence inside the passage after its normalisation; ``--doc-match``: from
the gold document too).

    python bench/bm25_levers.py ../shared/eval/ncp/corpus ../shared/eval/ncp/dev_questions.jsonl --doc-match
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import bm25s

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import machine, md_table, write_results  # noqa: E402

from qa.text.fold import evidence_form as norm  # noqa: E402  (score.py's normalisation)
from qa.index.passages import lexical_text, search_text  # noqa: E402
from qa.ingest.chunking import chunk_documents
from qa.ingest.corpus import ingest  # noqa: E402
from qa.settings import ChunkSettings  # noqa: E402
from qa.text.tokenize import tokenize  # noqa: E402


def scores(chunks, texts: list[str], questions: list[dict], doc_match: bool, k1: float, b: float) -> tuple[float, float]:
    bm25 = bm25s.BM25(k1=k1, b=b)
    bm25.index([tokenize(t) or ["<empty>"] for t in texts], show_progress=False)
    r5 = mrr = 0.0
    for q in questions:
        known = [t for t in tokenize(q["question"]) if t in bm25.vocab_dict]
        ranked = []
        if known:
            docs, s = bm25.retrieve([known], k=min(10, len(texts)), show_progress=False)
            ranked = [int(d) for d, x in zip(docs[0], s[0]) if x > 0]
        evidence = [norm(e) for e in q["evidence"]]
        hit = next((r for r, i in enumerate(ranked) if any(e in norm(chunks[i].text) for e in evidence)
                    and (not doc_match or q.get("doc", "") in chunks[i].source)), None)
        r5 += hit is not None and hit < 5
        mrr += 0 if hit is None else 1 / (hit + 1)
    return round(r5 / len(questions), 3), round(mrr / len(questions), 3)


def neighbours(chunks, base: list[str], chars: int = 150) -> list[str]:
    out = []
    for i, c in enumerate(chunks):
        before = chunks[i - 1].text[-chars:] if i and chunks[i - 1].doc_id == c.doc_id else ""
        after = chunks[i + 1].text[:chars] if i + 1 < len(chunks) and chunks[i + 1].doc_id == c.doc_id else ""
        out.append(f"{base[i]}\n{before}\n{after}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--doc-match", action="store_true")
    parser.add_argument("--name", default=None, help="results file name (default: bm25-levers-<questions stem>)")
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    documents = ingest(args.corpus).documents
    rows = []
    for size in (400, 600):
        chunks = chunk_documents(documents, ChunkSettings(max_chars=size, min_chars=size // 5))
        lexical = [lexical_text(c) for c in chunks]
        variants = {
            "passage only": [c.text for c in chunks],
            "+ title, section path": [search_text(c) for c in chunks],
            "+ title, section path, document lead": lexical,
            "+ title, section path, lead, neighbours (parent-child)": neighbours(chunks, lexical),
        }
        for name, texts in variants.items():
            for k1, b in ((1.5, 0.75), (0.9, 0.4)):
                r5, mrr = scores(chunks, texts, questions, args.doc_match, k1, b)
                rows.append([size, name, f"{k1}/{b}", r5, mrr])
                print(rows[-1], flush=True)
    table = md_table(["max chars", "BM25 text", "k1/b", "R@5", "MRR@10"], rows)
    name = args.name or f"bm25-levers-{args.questions.stem}-{args.corpus.name}"
    write_results(ROOT / "bench" / "results", name, {"machine": machine(), "corpus": str(args.corpus),
                                                       "questions": str(args.questions), "doc_match": args.doc_match,
                                                       "rows": rows}, table)


if __name__ == "__main__":
    main()
