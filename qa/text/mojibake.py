"""Mojibake runs in scraped Chinese text: found, repaired where the bytes allow, else cut out.

The template site behind seed 004 decoded GBK bytes one byte off in places:
``。現`` (GBK ``A1A3 AC46``) came out as ``?,F`` (a lost byte, then ``A3AC`` =
``，`` folded to ``,``, then ``46`` = ``F``), ``“手拉手`` as ``?!笆掷…``. Such a
run starts at a ``?`` that follows a Chinese character (the lost byte), runs
through characters decoded from misaligned byte pairs, and ends where the
decoder fell back into step: at an ASCII letter (a trail byte read alone,
``F``, ``Y``, ``W``) or at another lost byte ``?``. A ``?`` may carry the
pinyin its character was annotated with (``?shù)``: the ``(`` was eaten).

**Repair**: the run's bytes re-encoded (GB18030, the site's full-width
punctuation restored) and decoded one byte later give the original text
(``?,F`` -> ``現``). A repair is kept only when it decodes cleanly into
characters the same file uses elsewhere. The character whose first byte was
lost keeps its second byte; it is restored only when the file itself settles
which one it is (``成績?,F將`` -> ``成績。現將``: of the characters ending in that
byte, ``。`` is the one the file writes between ``績`` and ``現``), else left out. **Drop**: a run that cannot
be repaired is cut out whole when both its ends are marked; otherwise only
the ``?`` and the private-use characters (``\\ue1fb``) go, so real text after
a stray ``?`` is never removed. A ``?`` after a question word (``面对呢?即使``)
or next to ASCII (``http://x/?a=1``) is not mojibake.

>>> text = "取得了一定的成績?,F將20xx年教育系統工作開展情況總結如下。現有學校56所。現有教師3000人。"
>>> fix_mojibake(text)[0]
'取得了一定的成績。現將20xx年教育系統工作開展情況總結如下。現有學校56所。現有教師3000人。'
>>> fix_mojibake("抓好學生寢室、?;\\ue1fb反娣攀?、校門口等重點區域")[0]
'抓好學生寢室、、校門口等重點區域'
>>> fix_mojibake("我們該如何面對呢?即使我們現在不是")[0]
'我們該如何面對呢?即使我們現在不是'
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass

from qa.text.fold import CJK, TONED

#: a lost character's pinyin annotation whose "(" went with it: ``?shù)``
_LOST_PINYIN = re.compile(rf"[a-z{TONED}]+\)")
#: ASCII that a GB byte pair could have been folded to (the site folded full-width punctuation)
_FOLDED = {",": "，", "!": "！", ";": "；", ":": "："}
#: a trail byte read alone: the decoder is back in step after it
_IN_STEP = re.compile(r"[A-Za-z@\[\\\]^_`{|}~]")
#: characters a run never crosses: sentence ends, quotes, brackets, line breaks, spaces, digits
_STOP = set("。、“”《》（）()\n\t 0123456789")
_PRIVATE = re.compile("[\ue000-\uf8ff]")
#: the particles that end a real question
_QUESTION = set("吗呢么嘛吧嗎麼")
MAX_RUN = 16
#: after a second lost byte, a run goes on to a letter this near (``?!冻吭姺弧逢囮?yán)世试婍嶏h``)
MAX_TAIL = 8


@dataclass
class Run:
    """``text[start:end]`` is mojibake; ``repair`` replaces it ("" when nothing could be recovered)."""

    start: int
    end: int
    repair: str
    text: str = ""  # the run itself


def _is_cjk(ch: str) -> bool:
    return bool(re.match(f"[{CJK}]", ch))


def _candidate(text: str, at: int, eager: bool) -> tuple[int, int, bool] | None:
    """(end of the lost part, end of the run, whether the run's end is marked)
    for a ``?`` at ``at``; None when that ``?`` is not a lost byte. ``eager``:
    the file shows misaligned runs elsewhere, so a lone ``?`` between Chinese
    characters is one too (``以“感恩?奮進”為主題``)."""
    prev = text[at - 1] if at else ""
    if not prev or prev.isspace() or prev in _QUESTION or (prev.isascii() and not prev.isdigit() and prev not in _FOLDED):
        return None
    head = at + 1
    while head < len(text) and text[head] == "?":
        head += 1
    lost = _LOST_PINYIN.match(text, head)
    if lost:
        head = lost.end()
    k, end = head, None
    while k < len(text) and k - head < MAX_RUN:
        ch = text[k]
        if ch == "?" or _IN_STEP.match(ch):
            lost_too = _LOST_PINYIN.match(text, k + 1) if ch == "?" else None  # ``?jǐn)?shù)``
            end = lost_too.end() if lost_too else k + 1
            if ch == "?":  # out of step again: on to the next letter that ends it, if one is near
                after = _IN_STEP.search(text, end, min(len(text), end + MAX_TAIL))
                if after and not any(c in _STOP or (c.isascii() and c not in _FOLDED) for c in text[end:after.start()]):
                    end = after.end()
            break
        if ch in _STOP or (ch.isascii() and ch not in _FOLDED):
            break
        k += 1
    if end is not None:
        return head, end, True
    signs = lost or head > at + 1 or text[at + 1:at + 2] in _FOLDED or _PRIVATE.search(text, head, k)
    if not (signs or (eager and _is_cjk(prev) and _is_cjk(text[head:head + 1] or " "))):
        return None
    return head, k, False


def _encode(text: str) -> bytes:
    """The bytes the misaligned decoder saw: GBK as Windows writes it (``€`` is
    its byte 0x80), the user-defined area through GB18030."""
    out = bytearray()
    for ch in text:
        out += b"\x80" if ch == "€" else ch.encode("gbk") if not _PRIVATE.match(ch) else ch.encode("gb18030")
    return bytes(out)


def _common(ch: str) -> bool:
    """A first-level character of GB2312 or Big5: what real text is made of (mojibake
    lands on rare characters: ``姺``, ``鷮``)."""
    for encoding, low, high in (("gb2312", 0xB0A1, 0xD7F9), ("big5", 0xA440, 0xC67E)):
        try:
            code = int.from_bytes(ch.encode(encoding), "big")
        except UnicodeEncodeError:
            continue
        if low <= code <= high:
            return True
    return False


def _decode_shifted(body: str, known: Counter) -> tuple[str, int] | None:
    """``body`` re-encoded and decoded one byte later, if that reads as real text
    (common characters, at least half of them used elsewhere in the file), with
    the byte it skipped: the second byte of the character whose first was lost."""
    options = [[_FOLDED[ch], ch] if ch in _FOLDED else [ch] for ch in body]
    for combo in itertools.islice(itertools.product(*options), 64):
        try:
            data = _encode("".join(combo))
            decoded = data[1:].decode("gbk")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        letters = [ch for ch in decoded if not ch.isdigit() and ch not in "，。、；：！“”《》"]
        if not letters or not all(_is_cjk(ch) and (known[ch] > 0 or _common(ch)) for ch in letters):
            continue
        if 2 * sum(known[ch] > 0 for ch in letters) >= len(letters):
            return decoded, data[0]
    return None


def _lost_character(before: str, after: str, trail: int, pairs: Counter) -> str:
    """The character whose first byte was lost, when the file decides it: of
    the GBK characters ending in byte ``trail``, the one the file itself most
    often writes after ``before`` and before ``after`` (``成績?,F將``: trail
    A3, ``績。`` and ``。現`` against ``績校``, ``校現`` -> ``。``; ``學?!笆掷``:
    ``學校`` -> ``校``). "" unless one candidate is seen at least twice and more
    than any other."""
    scores = []
    for lead in range(0x81, 0xFF):
        try:
            ch = bytes((lead, trail)).decode("gbk")
        except UnicodeDecodeError:
            continue
        if _is_cjk(ch) or ch in "。，、；：！？“”":
            scores.append((pairs[before + ch] + pairs[ch + after], ch))
    scores.sort(reverse=True)
    if scores and scores[0][0] >= 2 and (len(scores) == 1 or scores[0][0] > scores[1][0]):
        return scores[0][1]
    return ""


def _spans(text: str, eager: bool) -> list[tuple[int, int, int, bool]]:
    spans = []
    at = text.find("?")
    while at >= 0:
        found = _candidate(text, at, eager)
        if found:
            spans.append((at, *found))
            at = text.find("?", max(found[1], at + 1))
        else:
            at = text.find("?", at + 1)
    return spans


#: a file with this many runs whose both ends are marked decodes misaligned: its lone ``?`` are lost bytes too
EAGER_AFTER = 3


def find_runs(text: str) -> list[Run]:
    """Every mojibake run of ``text`` with its repair, in order."""
    spans = _spans(text, eager=False)
    if sum(marked for *_, marked in spans) >= EAGER_AFTER:
        spans = _spans(text, eager=True)
    if not spans:  # most files: no run, so no character counts to take
        return []
    inside = Counter()
    for start, _, end, _ in spans:
        inside.update(text[start:end])
    known = Counter(text) - inside
    pairs = Counter(text[k:k + 2] for k in range(len(text) - 1))
    runs = []
    for start, head, end, marked in spans:
        body = re.sub(r"\?.*", "", text[head:end])  # up to a second lost byte
        found = _decode_shifted(body, known) if body else None
        if found is None and head == start + 2:
            # ``??h``: the second ``?`` was a full-width ``？`` (A3BF) whose second byte pairs with the next
            found = _decode_shifted("？" + body, known)
        if found is not None:
            repair, trail = found
            if head <= start + 2:  # no pinyin of another lost character in between
                repair = _lost_character(text[start - 1:start], repair[:1], trail, pairs) + repair
            runs.append(Run(start, end, repair))
            continue
        if marked:
            runs.append(Run(start, end, ""))
            continue
        # unmarked and beyond repair: only the lost byte and private-use characters go; the rest may be real text
        runs.append(Run(start, head, ""))
        runs.extend(Run(m.start(), m.end(), "") for m in _PRIVATE.finditer(text, head, end))
    return runs


def fix_mojibake(text: str) -> tuple[str, list[Run]]:
    """``text`` with every run replaced by its repair (or removed), and the runs."""
    runs = find_runs(text)
    pieces, last = [], 0
    for run in runs:
        run.text = text[run.start:run.end]
        pieces.append(text[last:run.start] + run.repair)
        last = run.end
    return "".join(pieces) + text[last:], runs
