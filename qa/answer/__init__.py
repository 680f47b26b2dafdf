"""Retrieved passages -> an answer in the reports' own words, every statement cited.

``signals`` and ``sentence_model`` score each candidate sentence,
``enumeration`` finds the list a list question asks for (``sections`` reads a
passage in its whole section, ``inline_lists`` the lists inside a sentence),
``followup`` reads a chat follow-up against the previous question, ``assistant`` composes the
answer, ``generation`` the optional generated one; ``fit`` refits the
sentence model.
"""

from qa.answer.assistant import Assistant
from qa.answer.scorer import LogisticScorer
from qa.search.scorer import SentenceScorer
from qa.settings import Settings


def sentence_scorer(settings: Settings) -> SentenceScorer:
    """The scorer a ``Searcher``'s second stage ranks sentences with, as
    ``settings`` ask: what ``qa search`` and the ``Assistant`` use."""
    return LogisticScorer()


__all__ = ["Assistant", "LogisticScorer", "sentence_scorer"]
