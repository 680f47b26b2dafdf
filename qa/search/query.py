"""A user's question as it is searched: repaired, width-folded, capped.

>>> normalize_query("  學校安全工作？ ")
'学校安全工作?'
>>> normalize_query("？？")
Traceback (most recent call last):
...
qa.search.query.QueryError: the query is empty or has no words to search for
"""

from __future__ import annotations

import re

from qa.text.fold import normalize_text

#: longer input is a pasted draft; its head carries the topic
MAX_QUERY_CHARS = 2000


class QueryError(ValueError):
    """A query that cannot be searched; the message says why."""


def normalize_query(query: str) -> str:
    """The form a query is searched in (``qa.text.fold.normalize_text``, control
    characters out); raises ``QueryError`` when it has no word to search for."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", query or "")
    text = normalize_text(text).strip()
    if not re.search(r"[\w\u3400-\u9fff]", text):
        raise QueryError("the query is empty or has no words to search for")
    return text[:MAX_QUERY_CHARS]
