"""Index backends and their persistence (see protocol.Index)."""

from qa.index.local import LocalIndex
from qa.index.protocol import MODES, Filter, Index

__all__ = ["Filter", "Index", "LocalIndex", "MODES"]
