"""How a (question, candidate sentence) pair becomes the reader's token ids.

One pair reads::

    <s> query: {question} </s></s> {title} > {section path} : {sentence} </s> {previous} </s> {next} </s>

Each part is tokenised on its own (the model's ``tokenizer.json``, by the Rust
``tokenizers`` library: no torch or transformers needed) and cut to its own
budget, so a long question or heading never pushes the sentence out:

- question: its head (``query: `` included),
- title and section path together: the title's head and the path's tail
  (the deepest heading is the most specific), the title keeping at least
  half the budget when both do not fit,
- sentence: its head,
- previous sentence: its tail (the words next to the candidate), next
  sentence: its head. Neighbours come from the same passage (a chunk, or an
  RC paragraph); a missing one is an empty part. ``neighbour = 0`` leaves the
  two context parts out altogether.

A pair's tokens are what inference pays for, so the budgets are small
(``reader.json`` of a run records them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.models import Chunk
from qa.text.sentences import candidate_spans

BOS, PAD, EOS = 0, 1, 2
QUERY_PROMPT = "query: "


@dataclass(frozen=True)
class Budgets:
    """Token budgets of a pair's parts (specials not counted).

    >>> Budgets.from_dict(Budgets(sentence=60).to_dict()).max_tokens
    189
    """

    question: int = 40
    context: int = 32  # title + section path
    sentence: int = 80
    neighbour: int = 24  # each of previous and next; 0: no neighbours

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> "Budgets":
        return cls(**{k: int(v) for k, v in raw.items() if k in cls.__dataclass_fields__})

    @property
    def max_tokens(self) -> int:
        specials = 5 + (2 if self.neighbour else 0)
        return self.question + self.context + self.sentence + 2 * self.neighbour + specials + 2


@dataclass(frozen=True)
class PairText:
    """The text parts of one (question, candidate sentence) pair."""

    question: str
    sentence: str
    title: str = ""
    section: tuple[str, ...] = field(default_factory=tuple)
    previous: str = ""
    next: str = ""


@lru_cache(maxsize=4)
def load_tokenizer(path: str):
    """The model's ``tokenizer.json`` (a file, or a directory holding it)."""
    from tokenizers import Tokenizer

    p = Path(path)
    tokenizer = Tokenizer.from_file(str(p / "tokenizer.json" if p.is_dir() else p))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class PairEncoder:
    """Builds the ids of a batch of pairs with one call of the tokenizer."""

    def __init__(self, tokenizer, budgets: Budgets = Budgets()):
        self.tokenizer = tokenizer
        self.budgets = budgets
        self.space = tokenizer.token_to_id("▁")
        self.arrow = self._connector(" > ")
        self.colon = self._connector(" :")

    def _connector(self, text: str) -> list[int]:
        return self.strip(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def strip(self, ids: list[int]) -> list[int]:
        """``ids`` without the leading word boundary the pre-tokenizer starts
        every text with: before a Chinese character it is a token of its own,
        worth nothing here."""
        return ids[1:] if ids and ids[0] == self.space else ids

    def _context(self, title: list[int], path: list[int]) -> list[int]:
        budget = self.budgets.context
        if not path:
            return title[:budget]
        if not title:
            return path[-budget:] if budget else []
        room = budget - len(self.arrow)
        if len(title) + len(path) > room:
            keep_title = min(len(title), max(room - len(path), room // 2))
            title, path = title[:keep_title], path[max(0, len(path) - (room - keep_title)):]
        return title + (self.arrow + path if path else [])

    def ids(self, items: Sequence[PairText]) -> list[list[int]]:
        """Token ids (specials included) of each pair, unpadded."""
        b = self.budgets
        texts: dict[str, int] = {}

        def slot(text: str) -> int:
            return texts.setdefault(text, len(texts))

        plan = []
        for item in items:
            path = " > ".join(h.strip() for h in item.section if h and h.strip())
            plan.append((slot(QUERY_PROMPT + item.question.strip()), slot(item.title.strip()), slot(path),
                         slot(item.sentence.strip()),
                         slot(item.previous.strip()) if b.neighbour else -1,
                         slot(item.next.strip()) if b.neighbour else -1))
        order = list(texts)
        encoded = self.tokenizer.encode_batch(order, add_special_tokens=False) if order else []
        toks = [self.strip(e.ids) if text else [] for text, e in zip(order, encoded)]
        out = []
        for q, t, p, s, prev, nxt in plan:
            ctx = self._context(toks[t], toks[p])
            ids = [BOS, *toks[q][:b.question], EOS, EOS, *ctx, *(self.colon if ctx else []), *toks[s][:b.sentence], EOS]
            if b.neighbour:
                before = toks[prev][-b.neighbour:] if toks[prev] else []
                ids += [*before, EOS, *toks[nxt][:b.neighbour], EOS]
            out.append(ids)
        return out


def pad(rows: Sequence[Sequence[int]], multiple: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Padded ids and mask, int64; ``multiple`` rounds the width up (fewer distinct shapes).

    >>> ids, mask = pad([[0, 5, 2], [0, 2]], multiple=4)
    >>> ids.tolist(), mask.tolist()
    ([[0, 5, 2, 1], [0, 2, 1, 1]], [[1, 1, 1, 0], [1, 1, 0, 0]])
    """
    width = max((len(r) for r in rows), default=0)
    width = -(-width // multiple) * multiple
    ids = np.full((len(rows), width), PAD, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = row
        mask[i, :len(row)] = 1
    return ids, mask


def with_neighbours(question: str, sentences: Sequence[str], title: str = "",
                    sections: Sequence[Sequence[str]] | None = None) -> list[PairText]:
    """Pairs for consecutive sentences of one passage: each gets the sentence
    before and after it in that passage as context.

    >>> [(p.previous, p.next) for p in with_neighbours("问", ["甲句。", "乙句。", "丙句。"])]
    [('', '乙句。'), ('甲句。', '丙句。'), ('乙句。', '')]
    """
    return [PairText(question, text, title, tuple(sections[i]) if sections else (),
                     sentences[i - 1] if i > 0 else "", sentences[i + 1] if i + 1 < len(sentences) else "")
            for i, text in enumerate(sentences)]


def chunk_pairs(question: str, chunk: Chunk) -> list[PairText]:
    """A pair for every candidate sentence of a passage, exactly the
    sentences the answer layer reads (``qa.text.sentences.candidate_spans``),
    each under its own section path."""
    spans = candidate_spans(chunk.text)
    return with_neighbours(question, [chunk.text[a:b] for _, a, b in spans], chunk.title,
                           [chunk.section_at(chunk.start + a) for _, a, _ in spans])
