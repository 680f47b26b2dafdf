"""English queries are expanded into the Chinese terms the reports use."""

from qa.glossary import expand_english, is_english, numbered_schools


def test_inflected_words_meet_their_glossary_entry():
    terms = expand_english("How many new teachers were recruited for kindergartens?").split()
    assert {"招聘", "幼儿园"} <= set(terms)


def test_longest_phrase_wins():
    terms = expand_english("junior middle school").split()
    assert terms == ["初中"]


def test_numbered_schools():
    assert numbered_schools("the No. 1 middle school") == ["一中", "第一中学"]
    assert numbered_schools("No.2 primary school") == ["二小", "第二小学"]
    assert numbered_schools("No. 40 middle school") == []


def test_unknown_words_give_nothing_and_chinese_is_not_english():
    assert expand_english("Who won the football world cup?") == ""
    assert not is_english("学前教育 kindergarten")
    assert is_english("How do kindergartens avoid teaching primary-school content too early?")
