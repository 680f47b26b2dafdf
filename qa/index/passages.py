"""What of a passage is embedded and what BM25 reads.

A passage is cited as it stands, but found with its context: the title and
section path name its topic when the passage itself does not ("措施" under
"（三）开展校长、教师交流工作"), and the document's lead names the issuer a
question asks about. The build, both backends and the benchmarks use these
functions, so every index sees a passage the same way.
"""

from __future__ import annotations

import numpy as np

from qa.models import Chunk
from qa.text.sentences import vector_sentences


def search_text(chunk: Chunk) -> str:
    """What the embedding sees: the passage under its title and section
    path, so a passage about "措施" still matches "教师交流" when only its
    heading says so."""
    context = " ".join([chunk.title, *chunk.section])
    return f"{context}\n{chunk.text}"


def lexical_text(chunk: Chunk) -> str:
    """What BM25 sees: ``search_text`` plus the document's lead (issuer,
    region, date: ``chunk.meta["lead"]``), which questions name and which a
    passage deep in the document does not repeat."""
    lead = chunk.meta.get("lead") or ""
    return f"{search_text(chunk)}\n{lead}" if lead else search_text(chunk)


def probe_phrases(chunks: list[Chunk], n: int = 300, seed: int = 0) -> list[str]:
    """Phrases of 8–20 characters, each cut from one sentence of a random
    chunk: what someone looking up a half-remembered sentence types. Such a
    phrase matches every chunk that repeats the sentence, so its neighbours
    scatter over many cells: a conservative probe (a phrase straddling two
    sentences would point at the one chunk holding both)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.integers(0, len(chunks), n if chunks else 0).tolist():
        text = chunks[i].text
        spans = vector_sentences(text)
        a, b = spans[int(rng.integers(len(spans)))]
        length = int(rng.integers(8, 21))
        start = a + int(rng.integers(0, max(1, b - a - length)))
        out.append(text[start:min(b, start + length)])
    return out
