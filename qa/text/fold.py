"""The forms a text is compared in; stored and quoted text is never folded.

Official Chinese prose uses full-width punctuation (GB/T 15834), scraped pages
mix widths, scripts and pinyin annotations. Every comparison in the package
(queries against passages, evidence against answers, a draft against earlier
reports) goes through one of these functions, each named after the form it
produces:

- ``fold_width``: full-width ASCII forms as ASCII, one code point for one, so
  offsets found in the folded view hold in the original;
- ``repair_chars``: what every stored text gets (pinyin annotations out,
  traditional -> simplified, invisible characters out);
- ``normalize_text``: the matching form shared by documents and queries;
- ``match_form``: ``normalize_text`` lower-cased (the answer signals' form);
- ``word_chars`` / ``letters``: only the characters of words;
- ``fold_chars``: word characters folded one by one, with their offsets;
- ``squash`` / ``holds_evidence``: ``match_form`` without whitespace, and
  whether a sentence states an evidence string in that form (the label of
  the sentence model's and the reader's training sentences);
- ``evidence_form``: the official scorer's normalisation (``score.py``).

>>> fold_width("（一）加强，落实：")
'(一)加强,落实:'
>>> normalize_text("學(xué)校　工作")
'学校 工作'
>>> letters("一、加强 教师队伍建设。")
'一加强教师队伍建设'
>>> evidence_form("教 師 (shī)交流")
'教师交流'
"""

from __future__ import annotations

import re
import unicodedata

from qa.text.simplify import to_simplified

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"

#: a pinyin annotation: after a character, or with a tone mark (``學(xué)``)
PINYIN = re.compile(rf"(?:(?<=[{CJK}?])\([a-z{TONED}]+\)|\([a-z]*[{TONED}][a-z{TONED}]*\))")
#: what the official scorer removes as pinyin (``score.py``): any lower-case word in brackets
_SCORER_PINYIN = re.compile(rf"\([a-z{TONED}]+\)")
#: full-width ASCII forms and the ideographic space -> their ASCII twins, one code point for one
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_NOT_WORD = re.compile(r"[^\w\u3400-\u9fff]")
_WORD = re.compile(r"[\w\u3400-\u9fff]")


def fold_width(text: str) -> str:
    """Full-width ASCII forms as ASCII (，：（） -> ,:()), for matching only."""
    return text.translate(_FULLWIDTH)


def normalize_chars(text: str) -> str:
    """Unify line ends and runs of spaces; drop invisible characters. Visible
    characters are kept as the source has them."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _SPACES.sub(" ", _INVISIBLE.sub("", text))


def delete_matches(pattern: re.Pattern, text: str) -> str:
    """``pattern.sub("", text)`` with the pattern matched on the width-folded view.

    >>> delete_matches(re.compile(r"\\(注\\)"), "正文（注）")
    '正文'
    """
    view = fold_width(text)
    pieces, last = [], 0
    for match in pattern.finditer(view):
        pieces.append(text[last:match.start()])
        last = match.end()
    return "".join(pieces) + text[last:] if pieces else text


def drop_pinyin(text: str) -> str:
    """``學(xué)`` -> ``學``: annotations follow a character or carry tone marks."""
    return delete_matches(PINYIN, text)


def repair_chars(text: str) -> str:
    """Pinyin annotations out, traditional -> simplified for the mainland
    reader; punctuation and width untouched. Cleaning (``qa.ingest.cleaning.clean``)
    runs the same steps with the mojibake repair between them, so the two must stay in step."""
    return to_simplified(drop_pinyin(normalize_chars(text)))


def normalize_text(text: str) -> str:
    """The matching form shared by documents and queries: repaired and width-folded."""
    return fold_width(repair_chars(text))


def match_form(text: str) -> str:
    """``normalize_text`` lower-cased: width, case and script folded.

    >>> match_form("ＡＢＣ學校")
    'abc学校'
    """
    return normalize_text(text).lower()


def word_chars(text: str) -> str:
    """The characters of words (letters, digits, CJK): no punctuation or space."""
    return _NOT_WORD.sub("", text)


def letters(text: str) -> str:
    """A text's word characters with widths folded (how reposted copies are compared)."""
    return word_chars(fold_width(text))


def squash(text: str) -> str:
    """``match_form`` without whitespace: how evidence strings meet sentences."""
    return re.sub(r"\s+", "", match_form(text))


def holds_evidence(sentence: str, evidence: list[str]) -> bool:
    """Whether a sentence states one of a question's evidence strings (or,
    12 characters or more, is itself part of one): how the sentence model
    (``qa.answer.fit``) and the reader (``qa.reader``) label their training
    sentences, and how their held-out figures count a hit.

    >>> holds_evidence("全年培训教师3000人次。", ["培训教师3000人次"])
    True
    >>> holds_evidence("全县共有中小学教师3200人，全年培训教师。", ["培训教师3000人次"])
    False
    """
    s = squash(sentence)
    return any(squash(e) in s or (len(s) >= 12 and s in squash(e)) for e in evidence)


def fold_chars(text: str) -> tuple[str, list[int]]:
    """Word characters of ``text`` folded one by one (width, case, traditional
    -> simplified), with each one's offset in ``text``: a match found in the
    folded string maps back to the original for highlighting.

    >>> fold_chars("Ａ，學")
    ('a学', [0, 2])
    """
    chars, positions = [], []
    for i, ch in enumerate(text):
        for f in unicodedata.normalize("NFKC", ch).lower():
            if _WORD.match(f):
                chars.append(f)
                positions.append(i)
    folded = "".join(chars)
    simplified = to_simplified(folded)
    return (simplified if len(simplified) == len(folded) else folded), positions


def has_word(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether ``text[start:end]`` holds a word character."""
    return _WORD.search(text, start, len(text) if end is None else end) is not None


def evidence_form(text: str) -> str:
    """The official scorer's ``norm`` (``shared/eval/score.py``): ``(pinyin)``
    dropped, traditional -> simplified, all whitespace removed. Kept
    equivalent so our R@5 equals the official one."""
    return re.sub(r"\s+", "", to_simplified(_SCORER_PINYIN.sub("", text or "")))
