"""The drafting assistant: a draft in, the precedent of every sentence out.

``draft`` reads and cuts the draft, ``finder`` finds each sentence's
precedents among the indexed reports' sentences and measures how much of its
wording they already hold.
"""

from qa.drafting.draft import Draft, DraftError, prepare_draft, read_draft
from qa.drafting.finder import DraftFinder, Scope, precedent_filter

__all__ = ["Draft", "DraftError", "DraftFinder", "Scope", "precedent_filter", "prepare_draft", "read_draft"]
