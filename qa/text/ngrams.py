"""Character n-grams and how much of one text another holds.

Chinese has no spaces, so overlap is measured on character n-grams of the
folded word characters (``qa.text.fold``): bigrams for how much of a
question a sentence covers, 6-grams for how much of a draft sentence an
earlier report already words alike, hashed 8-grams for whether another
document publishes the same passage.

>>> sorted(bigrams("教师交流。"))
['交流', '师交', '教师']
>>> share({"教师", "交流"}, bigrams("推进教师轮岗"))
0.5
>>> containment("加强教师队伍建设", ngram_set("今年加强教师队伍建设工作", 6), "")
1.0
"""

from __future__ import annotations

import numpy as np

from qa.text.fold import fold_chars, match_form, word_chars


def ngram_set(chars: str, n: int) -> frozenset[str]:
    """The distinct n-grams of ``chars``; a text shorter than ``n`` is its one gram."""
    if len(chars) < n:
        return frozenset({chars})
    return frozenset(chars[i:i + n] for i in range(len(chars) - n + 1))


def pairs(chars: str) -> set[str]:
    """The character bigrams of ``chars`` (none for a single character)."""
    return {chars[i:i + 2] for i in range(len(chars) - 1)}


def bigrams(text: str) -> set[str]:
    """The bigrams of a text's folded word characters (``match_form``)."""
    return pairs(word_chars(match_form(text)))


def share(terms: set[str], grams: set[str]) -> float:
    """Share of ``terms`` among a text's n-grams."""
    return len(terms & grams) / len(terms) if terms else 0.0


def coverage(terms: set[str], text: str) -> float:
    """Share of ``terms`` (bigrams) that ``text`` holds."""
    return share(terms, bigrams(text))


def covered(folded: str, other: frozenset[str], other_text: str, n: int) -> bytearray:
    """Per character of ``folded``: 1 when it lies in an n-gram of ``other``
    (a text shorter than n counts when it occurs in ``other_text`` whole)."""
    marks = bytearray(len(folded))
    if len(folded) < n:
        if folded and folded in other_text:
            marks[:] = b"\x01" * len(folded)
        return marks
    for i in range(len(folded) - n + 1):
        if folded[i:i + n] in other:
            marks[i:i + n] = b"\x01" * n
    return marks


def containment(folded: str, other: frozenset[str], other_text: str, n: int = 6,
                mine: frozenset[str] | None = None) -> float:
    """The share of ``folded``'s distinct n-grams (``mine``, when already at
    hand) that ``other`` holds; a text shorter than n scores 1 when it occurs
    in ``other_text`` whole."""
    if len(folded) < n:
        return 1.0 if folded and folded in other_text else 0.0
    mine = mine if mine is not None else ngram_set(folded, n)
    return len(mine & other) / len(mine)


def shared_spans(text: str, other: str, n: int) -> list[tuple[int, int]]:
    """Spans of ``text`` (original offsets) worded like ``other``: runs of
    folded characters inside shared n-grams, for highlighting.

    >>> shared_spans("今年，加强教师队伍建设。", "加强教师队伍", 4)
    [(3, 9)]
    """
    folded, positions = fold_chars(text)
    other_folded, _ = fold_chars(other)
    marks = covered(folded, ngram_set(other_folded, n), other_folded, n)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(marks):
        if not marks[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(marks) and marks[j + 1]:
            j += 1
        spans.append((positions[i], positions[j] + 1))
        i = j + 1
    return spans


#: one multiplier per position of a shingle: its characters hash to one 64-bit number
SHINGLE = 8
_SHINGLE_WEIGHTS = np.array([pow(1_000_003, k, 2**64) for k in range(SHINGLE)], dtype=np.uint64)


def shingles(chars: str) -> frozenset[int]:
    """The character 8-grams of ``chars`` as 64-bit hashes: numpy hashes 30
    passages' in a few milliseconds less than Python builds their substrings."""
    codes = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < SHINGLE:
        codes = np.concatenate([codes, np.zeros(SHINGLE - len(codes), dtype=np.uint64)])
    windows = np.lib.stride_tricks.sliding_window_view(codes, SHINGLE)
    return frozenset((windows * _SHINGLE_WEIGHTS).sum(axis=1, dtype=np.uint64).tolist())
