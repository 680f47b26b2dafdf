"""The same notice reposted by several offices, shown once.

Copies are compared on their hashed character 8-grams (``qa.text.ngrams.shingles``)
of the width-folded word characters (``qa.text.fold.letters``): a reposted
notice cut into passages differently still counts as the same text.
"""

from __future__ import annotations

from qa.models import Hit
from qa.text.fold import letters
from qa.text.ngrams import shingles

#: share of a passage's character 8-grams another document must hold to publish it too
COPY_SHARE = 0.95


def _published_in(passage: frozenset[int], document: set[int]) -> bool:
    return len(passage & document) >= COPY_SHARE * len(passage)


def collapse_copies(ranked: list, top_k: int) -> list[Hit]:
    """The best ``top_k`` distinct passages. The same notice is often
    reposted by several offices, cut into passages differently: a passage
    whose text another candidate document also publishes (95% of its
    8-grams, among that document's candidate passages) names that document
    in ``also_in``, and a lower-ranked copy (each text in the other's
    document, or the very same text) is dropped in favour of the first."""
    folded = [letters(chunk.text) for chunk, _ in ranked]
    hashed = [shingles(chars) for chars in folded]
    documents: dict[str, set[int]] = {}
    for (chunk, _), grams in zip(ranked, hashed):
        documents.setdefault(chunk.doc_id, set()).update(grams)
    hits: list[tuple[Hit, frozenset[int]]] = []
    fingerprints: set[str] = set()
    for (chunk, score), grams, chars in zip(ranked, hashed, folded):
        key = chars[:200]
        copy_of = next((hit for hit, hit_grams in hits if hit.chunk.doc_id != chunk.doc_id
                        and _published_in(grams, documents[hit.chunk.doc_id])
                        and _published_in(hit_grams, documents[chunk.doc_id])), None)
        if key in fingerprints or copy_of is not None:
            continue
        fingerprints.add(key)
        if len(hits) < top_k:
            hits.append((Hit(chunk, score, len(hits) + 1), grams))
    sources: dict[str, str] = {}
    for chunk, _ in ranked:
        sources.setdefault(chunk.doc_id, chunk.source)
    for hit, grams in hits:
        hit.also_in = [source for doc_id, source in sources.items()
                       if doc_id != hit.chunk.doc_id and source != hit.chunk.source
                       and _published_in(grams, documents[doc_id])]
    return [hit for hit, _ in hits]
