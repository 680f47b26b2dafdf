"""The BM25 tokenizer gives the tokens the index was built with, however
jieba's dictionary is read (``qa.text.jieba_dict``: a table on disk, or loaded whole).

The reference is jieba itself, set up as the index build always did:
``jieba.Tokenizer()`` plus the policy terms, the dictionary loaded whole.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import jieba
import pytest

from qa.text import jieba_dict
from qa.text.fold import normalize_text
from qa.text.jieba_dict import PolicyJieba, stored_tokenizer, write_table
from qa.text.tokenize import STOPWORDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reference() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    with resources.as_file(resources.files("qa.data") / "policy_terms.txt") as path:
        tokenizer.load_userdict(str(path))
    return tokenizer


@pytest.fixture(scope="module")
def table(reference, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tokenizer") / "jieba-test.sqlite"
    write_table(path, reference.FREQ, reference.total)
    return path


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    """Every 3rd sentence of the seed reports (~700), in the form tokenize cuts
    (normalised, lower-cased), plus queries with English, digits, policy terms
    and words jieba's dictionary lacks (its HMM cuts those)."""
    found = []
    for path in sorted((ROOT / "corpus").glob("*.txt")):
        text = normalize_text(path.read_text(encoding="utf-8", errors="replace")).lower()
        found += [s.strip() for s in re.split(r"[。!?;\n]", text) if len(s.strip()) >= 4]
    extra = ["教师交流", "控辍保学和两免一补落实情况", "2024年经济增长预期目标是多少", "teacher exchange 教师轮岗",
             "新城第四初中整体新建工程投资了多少?", "薄改项目与全面改薄、校校通、班班通", "鄠邑区义务教育优质均衡"]
    return found[::3] + extra


def test_stored_dictionary_cuts_real_sentences_as_jieba_does(reference, table, sentences):
    assert len(sentences) >= 300
    stored = stored_tokenizer(table)
    assert stored is not None and stored.total == reference.total
    for sentence in sentences:
        assert list(stored.cut_for_search(sentence)) == list(reference.cut_for_search(sentence)), sentence


def test_policy_jieba_switches_to_the_whole_dictionary_without_changing_tokens(reference, table, sentences,
                                                                             monkeypatch):
    few = PolicyJieba(table)
    assert [list(few.cut_for_search(s)) for s in sentences[:20]] == [list(reference.cut_for_search(s))
                                                                     for s in sentences[:20]]
    assert not few.loaded_whole  # twenty sentences are far from LOOKUPS_BEFORE_LOADING
    monkeypatch.setattr(jieba_dict, "LOOKUPS_BEFORE_LOADING", 2000)
    many = PolicyJieba(table)
    cut = [list(many.cut_for_search(s)) for s in sentences]
    assert many.loaded_whole
    assert cut == [list(reference.cut_for_search(s)) for s in sentences]


def test_a_missing_table_is_written_and_an_unreadable_one_rewritten(tmp_path, caplog):
    path = tmp_path / "jieba-x.sqlite"
    first = PolicyJieba(path)
    assert list(first.cut_for_search("教师交流")) == ["教师", "交流", "教师交流"]
    assert first.loaded_whole and path.is_file()
    second = PolicyJieba(path)
    assert list(second.cut_for_search("教师交流")) == ["教师", "交流", "教师交流"]
    assert not second.loaded_whole  # it read the table
    path.write_bytes(b"not a database" * 100)
    damaged = PolicyJieba(path)
    assert "unreadable" in caplog.text
    assert list(damaged.cut_for_search("教师交流")) == ["教师", "交流", "教师交流"]
    assert stored_tokenizer(path) is not None


def test_stopwords_are_bm25s_lists():
    """The list is owned by qa (an index's tokens must not change with a
    bm25s upgrade); it was copied from bm25s, and this says when they part."""
    from bm25s.stopwords import STOPWORDS_CHINESE, STOPWORDS_EN

    assert STOPWORDS == frozenset(STOPWORDS_CHINESE) | frozenset(STOPWORDS_EN)
