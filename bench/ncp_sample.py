#!/usr/bin/env python
"""A fixed sample of the NCP development set for the repository (issue 27).

``make test`` gates retrieval and answers on the NCP questions, but the whole
corpus (599 documents, 3.8 MB) lives beside the checkout in
``../shared/eval/ncp``, and its index takes three minutes to build. This
script draws a sample the test suite can build in its temporary folder:
``--docs`` documents, drawn with ``random.Random(--seed)`` from the sorted ids
of the documents that dev questions are asked of, each copied byte for byte,
with every dev question asked of them (a question's gold document is always
in the sample, so ``score.py --doc-match`` applies unchanged).

    python bench/ncp_sample.py --source ../shared/eval/ncp --docs 120 --seed 27 --out tests/data/ncp_sample

Rerunning the command rewrites the same files (tests/data/README.md names it).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sample(source: Path, docs: int, seed: int) -> tuple[list[str], list[str]]:
    """(document ids, question lines as in the source file) of the sample."""
    lines = [line for line in (source / "dev_questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    asked = sorted({json.loads(line)["doc"] for line in lines})
    chosen = sorted(random.Random(seed).sample(asked, docs))
    keep = set(chosen)
    return chosen, [line for line in lines if json.loads(line)["doc"] in keep]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "eval" / "ncp",
                        help="the NCP folder (corpus/, dev_questions.jsonl)")
    parser.add_argument("--docs", type=int, default=120)
    parser.add_argument("--seed", type=int, default=27)
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "ncp_sample")
    args = parser.parse_args(argv)
    chosen, questions = sample(args.source, args.docs, args.seed)
    if (args.out / "corpus").is_dir():
        shutil.rmtree(args.out / "corpus")
    (args.out / "corpus").mkdir(parents=True)
    for doc in chosen:
        shutil.copyfile(args.source / "corpus" / f"{doc}.txt", args.out / "corpus" / f"{doc}.txt")
    (args.out / "dev_questions.jsonl").write_text("".join(line + "\n" for line in questions), encoding="utf-8")
    size = sum(p.stat().st_size for p in (args.out / "corpus").iterdir())
    print(f"wrote {args.out}: {len(chosen)} documents ({size / 1e6:.2f} MB), {len(questions)} questions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
