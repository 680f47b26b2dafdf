"""Bytes per chunk in the Milvus collections, measured on a corpus, and what
that makes per million chunks (docs/scale.md, "What goes where in a cluster").

    python bench/milvus_sizes.py --corpus corpus --out bench/results

Measured: the fields ``qa/index/milvus.py`` writes for every chunk of the
corpus (``text``, ``search_text`` = ``lexical_text``, the other scalar fields
as stored: JSON for section and meta, 8 bytes per INT64), the distinct BM25
tokens of ``search_text`` (``qa.text.tokenize``, the local analyzer; Milvus' jieba
analyzer differs slightly) and the sentences per chunk (one rerank vector
each). Per million chunks these averages are multiplied out, raw data only;
what an index adds on the query nodes (HNSW links, the inverted index's
layout) is not measured here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from common import machine, md_table, write_results  # noqa: E402

from qa.index.passages import lexical_text  # noqa: E402
from qa.ingest.chunking import chunk_documents  # noqa: E402
from qa.ingest.corpus import ingest  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.text.sentences import vector_sentences as chunk_sentences
from qa.text.tokenize import tokenize  # noqa: E402

DIM = 384
INT64_FIELDS = 4  # start, end, year, seq
MILLION = 1_000_000


def utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="milvus-sizes")
    args = parser.parse_args(argv)

    facts = machine()
    settings = Settings.from_env(corpus=args.corpus)
    chunks = chunk_documents(ingest(args.corpus).documents, settings.chunking)
    passage_chars = [len(c.text) for c in chunks]
    text = [utf8(c.text) for c in chunks]
    search = [utf8(lexical_text(c)) for c in chunks]
    other = [utf8(c.chunk_id) + utf8(c.doc_id) + utf8(c.title) + utf8(c.source)
             + utf8(json.dumps(c.section, ensure_ascii=False)) + utf8(json.dumps(c.meta, ensure_ascii=False))
             + 8 * INT64_FIELDS for c in chunks]
    tokens = [len(set(tokenize(lexical_text(c)))) for c in chunks]
    sentences = [len(chunk_sentences(c.text)) for c in chunks]
    mean = {name: statistics.fmean(values) for name, values in
            (("passage_chars", passage_chars), ("text_bytes", text), ("search_text_bytes", search),
             ("other_scalar_bytes", other), ("distinct_tokens", tokens), ("sentences", sentences))}
    scalar = mean["text_bytes"] + mean["search_text_bytes"] + mean["other_scalar_bytes"]
    per_million_gb = {
        "dense (384 float32)": DIM * 4 * MILLION / 1e9,
        "sparse BM25 (token id + weight, 4 B each)": mean["distinct_tokens"] * 8 * MILLION / 1e9,
        "scalar fields (text, search_text, others)": scalar * MILLION / 1e9,
        "sentence vectors (_s collection, 384 float32 each)": mean["sentences"] * DIM * 4 * MILLION / 1e9,
    }
    per_chunk = md_table(["per chunk (mean over the corpus)", "value"], [
        ["chunks", len(chunks)],
        ["passage characters", round(mean["passage_chars"])],
        ["`text` bytes (UTF-8)", round(mean["text_bytes"])],
        ["`search_text` bytes (UTF-8)", round(mean["search_text_bytes"])],
        ["other scalar fields bytes", round(mean["other_scalar_bytes"])],
        ["distinct BM25 tokens of `search_text`", round(mean["distinct_tokens"])],
        ["sentences (rerank vectors)", round(mean["sentences"], 1)],
    ])
    million = md_table(["raw data per million chunks", "GB"],
                       [[k, round(v, 2)] for k, v in per_million_gb.items()])
    footer = (f"commit {facts['commit']}, {facts['date']}, corpus {args.corpus}, "
              f"chunks of up to {settings.chunking.max_chars} characters")
    write_results(args.out, args.name, {"machine": facts, "corpus": str(args.corpus), "chunks": len(chunks),
                                        "mean_per_chunk": mean, "per_million_gb": per_million_gb},
                  f"{per_chunk}\n\n{million}\n\n{footer}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
