"""English queries are expanded into the Chinese terms the reports use."""

from qa.text.glossary import expand_english, is_english, numbered_schools


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


#: glossary phrases of several words that also occur in a question of an evaluation set, each reviewed
#: as ordinary vocabulary translated as such (not the wording of that question's answer)
REVIEWED_PHRASES = {
    "primary school", "primary schools", "primary-school", "middle school", "junior middle school", "high school",
    "senior high school", "primary and secondary", "new teachers", "first phase", "class size", "how many",
    "how much", "handed out",
    # in the glossary since its first version; u17 of own_unanswerable.jsonl (a question the seeds
    # cannot answer, written later) happens to use it: an entry prompted by no question
    "teacher qualification",
}


def test_no_glossary_phrase_is_fitted_to_an_evaluation_question():
    """The English-question scores measure the glossary only if it was not
    written from the questions: a new phrase of several words found in a
    question must be reviewed and listed above."""
    import json
    from pathlib import Path

    from qa.text.glossary import _stem_phrase, glossary

    questions = [json.loads(line)["question"] for path in sorted((Path(__file__).parent / "data").glob("*.jsonl"))
                 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    stemmed = [f" {_stem_phrase(q)} " for q in questions]
    reviewed = {_stem_phrase(p) for p in REVIEWED_PHRASES}
    phrases = {english for english, _ in glossary() if " " in english or "-" in english}
    copied = {p for p in phrases - reviewed if any(f" {p} " in q for q in stemmed)}
    assert not copied, copied
    assert not any("小学化" in chinese for _, chinese in glossary())  # the dev question d26's answer


def test_colloquial_phrases_become_the_reports_words():
    from qa.text.glossary import expand_colloquial, in_official_words

    assert "乱收费" in expand_colloquial("学校乱收钱的事怎么管？").split()
    # the longest phrase wins and consumes its parts: 乱收钱, not 收钱 as well
    assert in_official_words("学校乱收钱的事怎么管？") == "学校 乱收费 的事怎么管？"
    assert "学生" in in_official_words("娃娃们放假在家的安全谁来管？")
    assert expand_colloquial("全县初中教师学历合格率达到多少？") == ""


def test_only_phrases_the_reports_never_use_are_translated(searcher):
    """A word the corpus uses is the corpus's own word: translating it would
    trade a match for a guess (老师 in the seeds, 补贴 in a health notice)."""
    from qa.text.glossary import foreign_phrases, lexical_query, used_phrases

    assert "补贴" in used_phrases(["对一线医务人员发放临时性工作补贴"])
    assert "补贴" not in foreign_phrases(used_phrases(["对一线医务人员发放临时性工作补贴"]))
    assert "补贴" in foreign_phrases(used_phrases(["学校食堂"]))
    assert "老师" not in searcher.colloquial  # the seed reports say 老师 too
    assert "娃娃" in searcher.colloquial
    assert lexical_query("老师的业务水平怎么提高？", searcher.colloquial) == "老师的业务水平怎么提高？"
    assert "学生" in lexical_query("娃娃的业务水平怎么提高？", searcher.colloquial)
    assert lexical_query("teacher training") == expand_english("teacher training")


#: four-character phrases of the colloquial glossary that also occur in an evaluation question: the
#: glossary's author never saw the question sets, these are everyday words both happened to use
REVIEWED_COLLOQUIAL = {"上一年级", "上幼儿园", "出去打工", "城里学校", "学校门口", "年轻老师", "村里的学校", "残疾孩子",
                       "黑幼儿园",
                       "农村老师"}  # conversations4.jsonl (n-set), written long after the glossary by a helper who saw neither


def test_colloquial_glossary_is_not_written_from_the_questions():
    """The colloquial sets measure the glossary only if it was not written
    from them: it was written from general knowledge by someone who was shown
    no question set (docs/retrieval.md). A new long phrase shared with a
    question must be reviewed and listed above."""
    import json
    from pathlib import Path

    from qa.text.glossary import colloquial_glossary

    questions = [json.loads(line)["question"] for path in sorted((Path(__file__).parent / "data").glob("*.jsonl"))
                 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    shared = {phrase for phrase, _ in colloquial_glossary() if len(phrase) >= 4 and any(phrase in q for q in questions)}
    assert not shared - REVIEWED_COLLOQUIAL, shared - REVIEWED_COLLOQUIAL


def test_colloquial_share_is_the_part_of_the_question_translated():
    from qa.text.glossary import colloquial_share

    assert colloquial_share("学校乱收钱的事怎么管？") == len("乱收钱") / len("学校乱收钱的事怎么管？")
    assert colloquial_share("全县初中教师学历合格率达到多少？") == 0.0
    assert colloquial_share("学校乱收钱的事怎么管？", frozenset()) == 0.0  # the reports say 乱收钱 themselves


def test_the_build_records_the_phrases_its_reports_use(searcher):
    """Read from the manifest, not from every chunk at the first query: a
    large corpus (or a Milvus collection) would pay that scan on a user's
    question. An index built before the glossary, or with another one, is
    scanned once instead, with the same result."""
    from dataclasses import replace

    from qa.answer import sentence_scorer

    from qa.search.searcher import Searcher
    from qa.text.glossary import glossary_version, used_phrases

    stored = searcher.manifest["colloquial"]
    assert stored["glossary"] == glossary_version()
    assert "老师" in stored["used"] and "娃娃" not in stored["used"]
    assert stored["used"] == used_phrases([chunk.text for chunk in searcher.index.chunks()])
    rescanned = Searcher(replace(searcher.settings), sentence_scorer(replace(searcher.settings)))
    rescanned.manifest = {**rescanned.manifest, "colloquial": {"glossary": "another", "used": []}}
    assert rescanned.colloquial == searcher.colloquial


def test_usage_is_looked_up_in_an_even_sample_of_a_large_corpus():
    from qa.text.glossary import used_phrases

    texts = ["学校食堂" + "。" * 46, "补贴" + "。" * 48] * 4  # 400 characters
    assert used_phrases(texts) == ["补贴", "食堂"]
    assert used_phrases(texts, limit=100) == ["食堂"]  # every fourth text is read
