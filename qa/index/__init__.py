"""Index backends and their persistence (see protocol.Index).

``LocalIndex`` is imported on first use: importing the protocol (as ``qa
--help`` does through ``qa.evaluation``) need not load FAISS, bm25s and numba.
"""

from qa.index.protocol import MODES, Filter, Index

__all__ = ["Filter", "Index", "LocalIndex", "MODES"]


def __getattr__(name: str):
    if name == "LocalIndex":
        from qa.index.local import LocalIndex

        return LocalIndex
    raise AttributeError(f"module 'qa.index' has no attribute {name!r}")
