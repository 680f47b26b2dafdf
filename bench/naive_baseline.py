"""The naive pipeline our retrieval must beat: fixed windows over the raw
text of each file (no cleaning, no sections), jieba BM25, nothing else.

Writes a run in the shape of ``qa search --batch --json`` (one line per
question with ranked ``results`` carrying ``text`` and ``source``), so the
official scorer reads it as it reads ours:

    python bench/naive_baseline.py CORPUS QUESTIONS.jsonl --size 500 --overlap 100 > run.jsonl
    python ../shared/eval/score.py QUESTIONS.jsonl run.jsonl --doc-match
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import bm25s

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.ingest.corpus import corpus_files  # noqa: E402
from qa.ingest.loading import LoadError, read_file  # noqa: E402
from qa.text.tokenize import tokenize  # noqa: E402


def windows(text: str, size: int, overlap: int) -> list[str]:
    step = size - overlap
    return [text[start:start + size] for start in range(0, max(1, len(text) - overlap), step)]


def passages(corpus: Path, size: int, overlap: int) -> list[tuple[str, str]]:
    """(source, window text) over every file's raw text."""
    out = []
    for path in corpus_files(corpus):
        source = path.relative_to(corpus).as_posix()
        try:
            raws = read_file(path)
        except LoadError as exc:
            print(f"skipped {exc}", file=sys.stderr)
            continue
        for raw in raws:
            out.extend((source, w) for w in windows(raw.text, size, overlap))
    return out


def run(corpus: Path, questions: Path, size: int, overlap: int, top_k: int) -> list[dict]:
    found = passages(corpus, size, overlap)
    bm25 = bm25s.BM25()
    bm25.index([tokenize(text) or ["<empty>"] for _, text in found], show_progress=False)
    lines = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        known = [t for t in tokenize(q["question"]) if t in bm25.vocab_dict]
        results = []
        if known:
            docs, scores = bm25.retrieve([known], k=min(top_k, len(found)), show_progress=False)
            results = [{"rank": r, "score": float(s), "source": found[d][0], "text": found[d][1]}
                       for r, (d, s) in enumerate(zip(docs[0].tolist(), scores[0].tolist()), 1) if s > 0]
        lines.append({"id": q["id"], "query": q["question"], "results": results})
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--overlap", type=int, default=100)
    parser.add_argument("--top-k", type=int, default=10)
    args = parser.parse_args()
    for line in run(args.corpus, args.questions, args.size, args.overlap, args.top_k):
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
