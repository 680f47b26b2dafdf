"""Chinese numerals as headings and enumerations write them (一、 （三） 十二是).

>>> cn_to_int("十二"), cn_to_int("第三章"), cn_to_int("二十"), cn_to_int("甲")
(12, 3, 20, None)
"""

from __future__ import annotations

CN_DIGITS = "零〇一二三四五六七八九"
#: the numerals of list markers, one to ten
CN_TEN = "一二三四五六七八九十"
#: a numeral of one to three characters (一, 十二, 二十三) in a pattern
CN_NUM = "[一二三四五六七八九十]{1,3}"
_CN_VALUE = {"零": 0, "〇": 0, **{ch: i for i, ch in enumerate("一二三四五六七八九", 1)}}


#: the digits a year is written with in Chinese (二〇二四, 二0一一, 二零一一年): one character a digit
_YEAR_DIGITS = {"〇": 0, "○": 0, "零": 0, "0": 0, "Ｏ": 0, "O": 0,
                **{ch: i for i, ch in enumerate("一二三四五六七八九", 1)}}


def year_digits(text: str) -> int | None:
    """A year written digit by digit in Chinese numerals, as an int.

    >>> year_digits("二〇二四"), year_digits("二0一一"), year_digits("二零一一"), year_digits("二十")
    (2024, 2011, 2011, None)
    """
    if len(text) != 4 or any(ch not in _YEAR_DIGITS for ch in text):
        return None
    return int("".join(str(_YEAR_DIGITS[ch]) for ch in text))


def cn_to_int(text: str) -> int | None:
    """一 -> 1, 十二 -> 12, 二十 -> 20, 三十五 -> 35; None when not a numeral."""
    text = text.strip("第、()章节部分篇 ")
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_VALUE and ch != "十" for ch in text):
        return None
    if "十" not in text:
        return _CN_VALUE[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_CN_VALUE[tens] if tens else 1) * 10 + (_CN_VALUE[ones] if ones else 0)
