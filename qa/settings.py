"""One typed settings object, read from the environment and overridden by the CLI.

Every knob lives here so the CLI, the app, the benchmarks and the tests build
the pipeline the same way; no other module reads the environment for a
setting. Environment variables use the ``QA_`` prefix and the field's name
(``QA_MODEL``, ``QA_INDEX``, ``QA_MAX_UPLOAD_MB``, ...); the server address
also reads gradio's own ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``, the
generation server OpenAI's ``OPENAI_BASE_URL``.

>>> s = Settings.from_env({"QA_TOP_K": "8", "QA_RERANK": "0"}, mode="bm25")
>>> s.top_k, s.rerank, s.mode
(8, False, 'bm25')
>>> Settings.from_env({"QA_AUTH": "planner:secret"}).login
('planner', 'secret')
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: other programs' variables a field also reads when its own ``QA_*`` one is unset
_ALSO_READ = {"llm_base_url": "OPENAI_BASE_URL", "server_name": "GRADIO_SERVER_NAME",
              "server_port": "GRADIO_SERVER_PORT"}


@dataclass(frozen=True)
class ChunkSettings:
    """How documents are cut into passages. Defaults measured on the seed dev,
    own and NCP dev sets together (docs/retrieval.md): 600 beat 400 on all three."""

    max_chars: int = 600
    min_chars: int = 80
    #: sections up to this long are packed with their short neighbours
    #: (measured: 300 lifts NCP R@5 by 0.03 and holds the seeds and own set;
    #: packing every section up to 600 cost the own set 0.02, docs/retrieval.md)
    pack_chars: int = 300
    #: an enumeration or a trailing scrap may stretch a chunk this much
    stretch: float = 1.5


@dataclass(frozen=True)
class Settings:
    corpus: Path = PROJECT_ROOT / "corpus"
    index: Path = PROJECT_ROOT / "index"
    model: str = DEFAULT_MODEL
    chunk_chars: int = ChunkSettings.max_chars
    #: sections up to this long are packed with their short neighbours (0: never)
    chunk_pack_chars: int = ChunkSettings.pack_chars
    #: search mode: hybrid (default), bm25 or dense
    mode: str = "hybrid"
    top_k: int = 5
    #: candidates each retriever hands to fusion and the reranker
    candidates: int = 30
    #: fusion and rerank settings chosen on the seed dev, own and NCP dev sets
    #: together, after short sections were packed (docs/retrieval.md); the
    #: seeds alone favoured other values each time, so none is fitted to one set
    #: weight of the dense ranking in reciprocal-rank fusion (bm25 gets 1 - w)
    dense_weight: float = 0.3
    #: reciprocal-rank constant: 10 lets the top ranks of each list count more than 60 or 20 did
    rrf_k: int = 10
    rerank: bool = True
    #: second stage (qa/search/second_stage.py): weight of the best-sentence-similarity ranking
    rerank_weight: float = 0.3
    #: second stage: weight of the most-probable-answer-sentence ranking (the first stage gets the rest)
    evidence_weight: float = 0.5
    #: second stage: a question no candidate sentence (with its title and headings) covers to this
    #: share of its words is a paraphrase, ranked with the two weights below instead
    paraphrase_coverage: float = 0.35
    paraphrase_rerank_weight: float = 0.6
    paraphrase_evidence_weight: float = 0.2
    #: second stage: reciprocal-rank constant; 3 lets each list's first places decide
    rerank_rrf_k: int = 3
    batch_size: int = 16
    #: what runs the embedding model: auto (the faster of torch and openvino, measured once per
    #: machine: qa/embedding/probe.py), torch, or openvino (~3× faster on CPUs with bf16, docs/performance.md)
    encoder: str = "auto"
    #: derived files kept between runs: the materialised model, encoder conversions, jieba's stored dictionary
    model_cache: Path = Path("~/.cache/policy-qa/models").expanduser()
    #: encoder conversions and probe verdicts (default: ``encoders/`` in the model cache)
    encoder_cache: Path | None = None
    #: jieba's dictionary stored as a table (default: ``tokenizer/`` in the model cache)
    tokenizer_cache: Path | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_timeout: float = 30.0
    #: index backend: local (FAISS + bm25s in --index DIR) or milvus (everything in Milvus, readers need only the URI)
    backend: str = "local"
    #: Milvus: a file path ending in .db (embedded milvus-lite) or http://host:19530
    milvus_uri: str | None = None
    #: Milvus: the alias readers follow; each build writes a new version behind it
    milvus_collection: str = "policy_qa"
    #: Milvus: a server's credentials ("user:password" or an API key); never written to a manifest
    milvus_token: str = ""
    #: the app: largest upload accepted, in MB
    max_upload_mb: float = 20.0
    #: the app: "user:password" turns on a login
    auth: str | None = None
    #: the app's address; 127.0.0.1 keeps it on this machine
    server_name: str = "127.0.0.1"
    server_port: int = 7860

    @property
    def chunking(self) -> ChunkSettings:
        return ChunkSettings(max_chars=self.chunk_chars, pack_chars=self.chunk_pack_chars)

    @property
    def encoder_dir(self) -> Path:
        return self.encoder_cache or self.model_cache / "encoders"

    @property
    def tokenizer_dir(self) -> Path:
        return self.tokenizer_cache or self.model_cache / "tokenizer"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def login(self) -> tuple[str, str] | None:
        """``auth`` as gradio's (user, password), None when unset or malformed."""
        user, sep, password = (self.auth or "").partition(":")
        return (user, password) if sep and user else None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Defaults, then ``QA_*`` variables, then explicit overrides (CLI flags);
        ``None`` overrides are ignored so unset flags keep the env value."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"QA_{f.name.upper()}")
            if raw is None and f.name in _ALSO_READ:
                raw = env.get(_ALSO_READ[f.name]) or None
            if raw is not None:
                values[f.name] = _convert(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _convert(f, raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if kind.startswith("bool"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind.startswith("int"):
        return int(raw)
    if kind.startswith("float"):
        return float(raw)
    if kind.startswith("Path"):
        return Path(raw).expanduser()
    return raw
