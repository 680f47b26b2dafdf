"""Traditional -> simplified Chinese (OpenCC's t2s), fast enough for a corpus.

The pure-Python OpenCC is slow (~4 s per MB). It converts each piece between
separators on its own: phrases first, then single characters. A piece that
holds no phrase key therefore converts character by character, which
``str.translate`` does at C speed; only lines holding a phrase key (反覆, 乾燥,
... ~280 of them) go through OpenCC itself.

>>> to_simplified("學校教育")
'学校教育'
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _t2s_tables() -> tuple[dict[int, str], re.Pattern] | None:
    """OpenCC's t2s as a character table plus a pattern of its phrases.

    A single character matches no phrase key (they are two or more long), so
    OpenCC turns it into its ``TSCharacters.txt`` value (the first, where
    several are listed), read here directly (asking OpenCC for each of the
    4,113 took 0.1 s at every start; ``tests/test_cleaning.py`` checks the
    table against OpenCC)."""
    import opencc

    folder = Path(opencc.__file__).parent / "dictionary"
    try:
        entries = {name: [line.strip().split("\t") for line in
                          (folder / name).read_text(encoding="utf-8").splitlines() if line.strip()]
                   for name in ("TSCharacters.txt", "TSPhrases.txt")}
    except OSError:
        return None  # dictionaries not where expected: OpenCC converts everything
    characters, phrases = entries["TSCharacters.txt"], [entry[0] for entry in entries["TSPhrases.txt"]]
    if any(len(entry) != 2 or len(entry[0]) != 1 for entry in characters) or any(len(k) < 2 for k in phrases):
        return None
    table = {ord(key): first for key, value in characters if (first := value.split(" ")[0]) != key}
    return table, re.compile("|".join(map(re.escape, sorted(phrases, key=len, reverse=True))))


def to_simplified(text: str) -> str:
    """``text`` in simplified characters; punctuation and width untouched."""
    tables = _t2s_tables()
    if tables is None:
        return _t2s().convert(text)
    table, phrases = tables
    if not phrases.search(text):
        return text.translate(table)
    # phrase keys hold no separator (whitespace included): lines convert on their own
    return "\n".join(_t2s().convert(line) if phrases.search(line) else line.translate(table)
                      for line in text.split("\n"))
