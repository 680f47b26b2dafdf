"""policy-qa: cited retrieval and question answering over Chinese policy reports.

Data flows one way, one subpackage per stage::

    corpus files --qa.ingest--> Document --qa.ingest.chunking--> Chunk
      --qa.embedding / qa.index--> index --qa.search--> Hit --qa.answer--> Answer

with ``qa.text`` (folding, n-grams, sentences, tokens) under all of them and
``qa.drafting``, ``qa.evaluation`` and ``qa.ui`` on top. The front door::

    from qa import Settings, build, Searcher, Assistant, DraftFinder

    settings = Settings.from_env(corpus="corpus", index="index")
    build(settings)                                   # corpus/ -> index/, incremental
    answer = Assistant(settings).ask("教师交流的主要措施有哪些？")
    print(answer.answer)                              # every statement ends with [n]
    for c in answer.citations:                        # document, section path, exact quote
        print(c.n, c.title, " > ".join(c.section), c.text)

A plain ``Searcher(settings)`` ranks by BM25 and dense vectors and then by
sentence similarity; ``Searcher(settings, sentence_scorer(settings))`` adds
the answer layer's sentence model to its second stage, as ``qa search`` and
the ``Assistant`` do.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first use: ``qa --help`` stays fast)
_EXPORTS = {
    "Settings": "qa.settings",
    "Document": "qa.models", "Chunk": "qa.models", "Hit": "qa.models", "Citation": "qa.models",
    "Answer": "qa.models",
    "build": "qa.index.build",
    "Searcher": "qa.search", "QueryError": "qa.search",
    "Assistant": "qa.answer", "sentence_scorer": "qa.answer",
    "DraftFinder": "qa.drafting",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
