"""Corpus files -> cleaned documents -> citable chunks.

``loading`` decodes a file of any supported format, ``cleaning`` removes what
the scraping sites added, ``splitting`` separates reports glued into one file,
``outline`` finds the headings and ``chunking`` cuts sections into passages;
``corpus`` runs them over a directory and reports what it skipped.

>>> from qa.ingest import chunk_documents, ingest
"""

from qa.ingest.chunking import chunk_documents
from qa.ingest.corpus import IngestResult, corpus_files, file_hash, ingest

__all__ = ["IngestResult", "chunk_documents", "corpus_files", "file_hash", "ingest"]
