"""qa's reader of the saved BM25 matrix ranks exactly as bm25s does.

The seeds' real chunks and tokens are indexed by bm25s and saved as a build
saves them; the reader (``qa.index.bm25_scores``) and bm25s' own loader then
answer the dev and own questions and 200 phrases cut from the chunks, with and
without a filter mask: same passages, same scores, same order.
"""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

from qa.index.bm25_scores import BM25Scores
from qa.index.local import BM25_B, BM25_FILES, BM25_K1
from qa.index.passages import lexical_text, probe_phrases
from qa.ingest.chunking import chunk_documents
from qa.ingest.corpus import ingest
from qa.settings import Settings
from qa.text.tokenize import tokenize

DATA = Path(__file__).resolve().parent / "data"
QA_DATA = DATA.parent.parent / "qa" / "data"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    settings = Settings.from_env()
    chunks = chunk_documents(ingest(settings.corpus).documents, settings.chunking)
    bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    bm25.index([tokenize(lexical_text(c)) or ["<empty>"] for c in chunks], show_progress=False)
    folder = tmp_path_factory.mktemp("bm25")
    bm25.save(str(folder), **BM25_FILES, show_progress=False)
    questions = [json.loads(line)["question"] for path in (QA_DATA / "dev_questions.jsonl", DATA / "own_questions.jsonl")
                 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return folder, bm25, questions + probe_phrases(chunks, n=200)


def test_reader_ranks_as_bm25s(saved):
    folder, built, queries = saved
    theirs = bm25s.BM25.load(str(folder), **BM25_FILES, mmap=True, show_progress=False)
    ours = BM25Scores.load(folder, BM25_FILES)
    assert isinstance(ours.data, np.memmap) and ours.num_docs == built.scores["num_docs"] > 100
    mask = (np.arange(ours.num_docs) % 3 != 0).astype("float32")
    compared = 0
    for query in queries:
        known = [t for t in tokenize(query) if t in ours.vocab]
        if not known:
            continue
        for k in (1, 10, 30):
            for weights in (None, mask):
                docs, scores = theirs.retrieve([known], k=k, show_progress=False, n_threads=0, weight_mask=weights)
                rows, values = ours.top_k(known, k, weight_mask=weights)
                assert rows.tolist() == docs[0].tolist() and values.tolist() == scores[0].tolist(), query
                compared += 1
    assert compared > 1000


def test_matrix_of_an_index_built_in_this_process_is_the_saved_one(saved):
    folder, built, queries = saved
    loaded, fresh = BM25Scores.load(folder, BM25_FILES, mmap=False), BM25Scores.of(built)
    assert loaded.vocab == fresh.vocab and loaded.num_docs == fresh.num_docs
    for name in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(loaded, name), getattr(fresh, name))
    tokens = tokenize(queries[0])
    assert loaded.scores(tokens).tolist() == fresh.scores(tokens).tolist()


def test_variants_the_reader_cannot_score_are_refused(saved, tmp_path):
    folder, _, _ = saved
    for name in BM25_FILES.values():
        if (folder / name).is_file():
            (tmp_path / name).write_bytes((folder / name).read_bytes())
    params = tmp_path / BM25_FILES["params_name"]
    params.write_text(json.dumps(json.loads(params.read_text()) | {"method": "bm25+"}))
    with pytest.raises(ValueError, match="rebuild"):
        BM25Scores.load(tmp_path, BM25_FILES)
