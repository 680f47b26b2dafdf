"""jieba with the policy terms, its dictionary read from disk key by key.

jieba cuts with a dict of ~500k keys (its 350k words, the policy terms and
every prefix of them) mapped to frequencies. Building that dict (from
jieba's marshal cache) takes ~0.4 s at the first cut: most of a cold
``qa search --mode bm25``, where cutting the query looks up a few dozen keys.
So the dict, as it stands once the policy terms are added, is also written
to an SQLite table in the model cache (``table_path``: keyed by jieba's
version, its dictionary file and the policy terms), and a process looks
keys up there (answers remembered) until the lookups have cost about what
loading the dict costs (``LOOKUPS_BEFORE_LOADING``); then it loads the dict
whole. A query never loads it; a build or an evaluation loads it once, as
before. Both answer every lookup alike, so the tokens are the same
(``tests/test_tokenize.py`` cuts real corpus sentences both ways).

A missing table is written by the first process that loads the dict; an
unreadable one is written again, with a warning.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import jieba

from qa.settings import Settings

logger = logging.getLogger(__name__)

#: bump when the table layout changes
LAYOUT = 1
#: ~5 µs a lookup: this many cost about what loading the whole dict does (~0.5 s)
LOOKUPS_BEFORE_LOADING = 100_000
_UNSEEN = object()


def policy_terms() -> bytes:
    return resources.files("qa.data").joinpath("policy_terms.txt").read_bytes()


def table_folder() -> Path:
    """``QA_TOKENIZER_CACHE``, else ``tokenizer/`` in the model cache."""
    return Settings.from_env().tokenizer_dir


def table_path() -> Path:
    """The table for this jieba (version, dictionary file size and time)
    and these policy terms; a change to any of them names another file."""
    source = Path(jieba.__file__).with_name(jieba.DEFAULT_DICT_NAME).stat()
    key = f"{LAYOUT}|{jieba.__version__}|{source.st_size}|{source.st_mtime_ns}|"
    digest = hashlib.sha256(key.encode() + policy_terms()).hexdigest()[:16]
    return table_folder() / f"jieba-{digest}.sqlite"


def full_tokenizer() -> jieba.Tokenizer:
    """jieba's default dictionary plus the policy terms, loaded whole."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    with resources.as_file(resources.files("qa.data") / "policy_terms.txt") as path:
        tokenizer.load_userdict(str(path))
    tokenizer.initialize()
    return tokenizer


def write_table(path: Path, freq: dict[str, int], total: int) -> None:
    """Write the dict to ``path`` atomically (a temporary file renamed); a
    cache that cannot be written is only logged (the next process loads the
    dict again). Tables of other keys stay: checkouts with other policy
    terms may share the cache."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        with sqlite3.connect(tmp) as db:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("CREATE TABLE words (word TEXT PRIMARY KEY, freq INTEGER NOT NULL) WITHOUT ROWID")
            db.executemany("INSERT INTO words VALUES (?, ?)", sorted(freq.items()))
            db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)")
            db.execute("INSERT INTO meta VALUES ('total', ?)", (str(total),))
        db.close()
        os.replace(tmp, path)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        logger.warning("could not store jieba's dictionary in %s (%s); the next process loads it again", path, exc)
        return


class StoredWords:
    """The read side of the table, shaped as jieba uses its ``FREQ`` dict
    (``in``, ``[]``, ``get``); every answer is remembered."""

    def __init__(self, path: Path):
        # immutable: the file is only ever replaced whole, never written in place
        self._db = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._known: dict[str, int | None] = {}
        self.lookups = 0
        try:
            self.total = int(self._db.execute("SELECT value FROM meta WHERE name = 'total'").fetchone()[0])
            self._db.execute("SELECT freq FROM words LIMIT 1").fetchall()
        except Exception:
            self._db.close()
            raise

    def get(self, word: str, default: Any = None) -> Any:
        freq = self._known.get(word, _UNSEEN)
        if freq is _UNSEEN:
            with self._lock:
                self.lookups += 1
                row = self._db.execute("SELECT freq FROM words WHERE word = ?", (word,)).fetchone()
            freq = self._known[word] = row[0] if row else None
        return default if freq is None else freq

    def __contains__(self, word: str) -> bool:
        return self.get(word) is not None

    def __getitem__(self, word: str) -> int:
        freq = self.get(word)
        if freq is None:
            raise KeyError(word)
        return freq


def stored_tokenizer(path: Path) -> jieba.Tokenizer | None:
    """jieba over the table at ``path``; None when there is none or it is
    unreadable (with a warning: it is written again)."""
    if not path.is_file():
        return None
    try:
        words = StoredWords(path)
    except (sqlite3.Error, TypeError, ValueError) as exc:
        logger.warning("jieba's stored dictionary %s is unreadable (%s); loading the dictionary and "
                       "storing it again", path, exc)
        return None
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = words, words.total, True
    return tokenizer


class PolicyJieba:
    """The tokenizer a process cuts with: over the stored table while it is
    cheap, then over the dict loaded whole (stored for the next process when
    the table was missing or unreadable)."""

    def __init__(self, path: Path | None = None):
        self.path = path or table_path()
        self._lock = threading.Lock()
        self._stored = stored_tokenizer(self.path)
        self._full: jieba.Tokenizer | None = None

    @property
    def loaded_whole(self) -> bool:
        return self._full is not None

    def tokenizer(self) -> jieba.Tokenizer:
        stored = self._stored
        if self._full is None and stored is not None and stored.FREQ.lookups < LOOKUPS_BEFORE_LOADING:
            return stored
        with self._lock:
            if self._full is None:
                logger.debug("loading jieba's whole dictionary")
                self._full = full_tokenizer()
                if stored is None:
                    write_table(self.path, self._full.FREQ, self._full.total)
                self._stored = None
        return self._full

    def cut_for_search(self, text: str):
        return self.tokenizer().cut_for_search(text)
