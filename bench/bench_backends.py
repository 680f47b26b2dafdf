"""Inference backends for the embedding model on CPU: torch fp32 (reference)
against ONNX Runtime (plain, O1-O4 graph optimization, dynamic int8) and
OpenVINO (default config, fp32, static int8), in one run.

The question: does a backend speed up CPU encoding without costing more than
1 point of Recall@5 on the dev set and on our own question set? Every variant
encodes the seed-corpus chunks and short queries, then builds a fresh index
that is scored with the same harness (``run_eval``, hybrid mode) on each
question set, exactly as ``bench_int8.py`` does for torch int8.

Speed is measured interleaved: all variants are loaded first, then each
timing round encodes the chunks and 50 queries with every variant in turn,
so drifting load on a shared machine hits all of them alike. encode_chunks_s
and query_encode_ms_p50 are the best round's; speedups are against torch fp32
from the same run; every round's numbers are in the JSON.

How the variants are made (all exports go to a temp copy of the model, never
to the materialised model directory):

* ``openvino*``: sentence-transformers' own ``backend="openvino"`` (optimum-intel
  exports on the fly). ``openvino`` keeps OpenVINO's default precision, which is
  bf16 on CPUs with AMX/avx512_bf16; ``openvino-fp32`` forces
  INFERENCE_PRECISION_HINT=f32; ``openvino-qint8`` is NNCF static int8
  (what ``export_static_quantized_openvino_model`` does) calibrated on the
  corpus chunks instead of GLUE/SST-2, which needs the hub.
* ``onnx*``: sentence-transformers' ``backend="onnx"`` needs optimum-onnx, whose
  releases (<= 0.1.0) require transformers < 4.58 while sentence-transformers 6
  requires transformers >= 5, so it cannot load. The ONNX variants are
  therefore made here with the same tools optimum calls: torch.onnx export of
  the encoder (input_ids, attention_mask -> last_hidden_state, opset 14),
  ``onnxruntime.transformers.optimizer.optimize_model`` with optimum's
  O1-O4 ``AutoOptimizationConfig``, and ``ONNXQuantizer`` with optimum's
  ``AutoQuantizationConfig.avx2/avx512_vnni(is_static=False)`` (the file names
  follow ``export_optimized_onnx_model`` / ``export_dynamic_quantized_onnx_model``).
  They run in ONNX Runtime (CPUExecutionProvider) inside the same
  SentenceTransformer (tokenizer, mean pooling, normalization), in place of
  the torch encoder, as optimum's ORTModelForFeatureExtraction would.
* ``torch-int8``: torch dynamic int8 quantization, as in ``bench_int8.py``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import machine, md_table, write_results  # noqa: E402

from qa.embedding.embedder import get_embedder  # noqa: E402
from qa.evaluation.runner import make_configs, run_eval  # noqa: E402
from qa.index.build import build  # noqa: E402
from qa.index.passages import search_text  # noqa: E402
from qa.ingest.chunking import chunk_documents  # noqa: E402
from qa.ingest.corpus import ingest  # noqa: E402
from qa.questions import read_questions  # noqa: E402
from qa.answer import sentence_scorer  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402
from qa.settings import Settings  # noqa: E402

REFERENCE = "torch-fp32"
ONNX_LEVELS = ("O1", "O2", "O3", "O4")
ONNX_QUANT = {"onnx-quint8-avx2": "avx2", "onnx-qint8-avx512_vnni": "avx512_vnni"}
VARIANTS = (REFERENCE, "torch-int8", "onnx", *(f"onnx-{lvl}" for lvl in ONNX_LEVELS), *ONNX_QUANT,
            "openvino", "openvino-fp32", "openvino-qint8")
MAX_R5_LOSS = 0.01  # the acceptance bar: at most 1 point of Recall@5 on every question set
N_QUERIES = 50
PACKAGES = ("torch", "transformers", "sentence-transformers", "huggingface-hub", "onnx", "onnxruntime",
            "optimum", "optimum-onnx", "optimum-intel", "openvino", "nncf")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "-"
    return found


class _EncoderForExport(torch.nn.Module):
    """input_ids, attention_mask -> last_hidden_state of a BERT-like encoder.

    The additive mask is built here the transformers-4 way because the
    TorchScript exporter cannot trace transformers 5's mask functions, and
    because this Expand/Sub/Where pattern is the one ONNX Runtime's attention
    fusion (O2+) recognises."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model.embeddings(input_ids=input_ids)
        batch, length = attention_mask.shape
        inverted = 1.0 - attention_mask[:, None, None, :].expand(batch, 1, length, length).to(hidden.dtype)
        mask = inverted.masked_fill(inverted.to(torch.bool), torch.finfo(hidden.dtype).min)
        return self.model.encoder(hidden, attention_mask=mask).last_hidden_state


class OrtEncoder(torch.nn.Module):
    """An ONNX Runtime session in place of the transformers model inside a
    SentenceTransformer's Transformer module (what ORTModelForFeatureExtraction does)."""

    def __init__(self, path: Path, config):
        super().__init__()
        import onnxruntime as ort

        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.config = config

    def forward(self, **features) -> dict[str, torch.Tensor]:
        feed = {name: features[name].cpu().numpy() for name in self.input_names}
        return {"last_hidden_state": torch.from_numpy(self.session.run(["last_hidden_state"], feed)[0])}


class Variants:
    """Loads each variant as a SentenceTransformer; exports are made once, lazily,
    into ``workdir/model`` (a copy of the model directory), in the layout
    sentence-transformers uses (``onnx/model_O2.onnx``, ``openvino/openvino_model.xml``)."""

    def __init__(self, reference, model_dir: Path, workdir: Path, calibration: list[str]):
        self.reference = reference
        self.dir = workdir / "model"
        shutil.copytree(model_dir, self.dir)
        self.calibration = calibration
        self.artifacts: dict[str, Path] = {}

    def load(self, name: str):
        from sentence_transformers import SentenceTransformer

        if name == REFERENCE:
            return self.reference
        if name == "torch-int8":
            model = SentenceTransformer(str(self.dir), device="cpu")
            return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        if name.startswith("onnx"):
            model = SentenceTransformer(str(self.dir), device="cpu")
            model[0].model = OrtEncoder(self._onnx(name), model[0].model.config)  # the torch weights go
            return model
        if name.startswith("openvino"):
            kwargs = {"file_name": str(self._openvino(name).relative_to(self.dir))}
            if name == "openvino-fp32":
                kwargs["ov_config"] = {"INFERENCE_PRECISION_HINT": "f32"}
            return SentenceTransformer(str(self.dir), device="cpu", backend="openvino", model_kwargs=kwargs)
        raise ValueError(f"unknown variant {name!r}; use {', '.join(VARIANTS)}")

    def _onnx(self, name: str) -> Path:
        if name not in self.artifacts:
            self.artifacts[name] = (self._export_onnx() if name == "onnx"
                                    else self._quantize_onnx(ONNX_QUANT[name]) if name in ONNX_QUANT
                                    else self._optimize_onnx(name.removeprefix("onnx-")))
        return self.artifacts[name]

    def _export_onnx(self) -> Path:
        from transformers import AutoModel

        out = self.dir / "onnx" / "model.onnx"
        out.parent.mkdir(exist_ok=True)
        model = AutoModel.from_pretrained(str(self.dir), attn_implementation="eager").eval()
        sample = self.reference.tokenizer(["passage: 样例", "passage: 较长的样例文本"], padding=True,
                                          return_tensors="pt")
        names = ["input_ids", "attention_mask", "last_hidden_state"]
        with torch.no_grad():  # TorchScript exporter with optimum's opset; dynamo's graph defeats attention fusion
            torch.onnx.export(_EncoderForExport(model).eval(), (sample["input_ids"], sample["attention_mask"]),
                              str(out), input_names=names[:2], output_names=names[2:],
                              dynamic_axes={n: {0: "batch_size", 1: "sequence_length"} for n in names},
                              opset_version=14, dynamo=False, do_constant_folding=True)
        return out

    def _optimize_onnx(self, level: str) -> Path:
        """optimum's ORTOptimizer.optimize for one AutoOptimizationConfig level."""
        from onnxruntime.transformers.optimizer import optimize_model
        from optimum.onnxruntime.configuration import AutoOptimizationConfig

        config = getattr(AutoOptimizationConfig, level)()
        hf = self.reference[0].model.config
        optimizer = optimize_model(str(self._onnx("onnx")), "bert", hf.num_attention_heads, hf.hidden_size,
                                   opt_level=config.optimization_level,
                                   optimization_options=config.create_fusion_options("bert"),
                                   use_gpu=config.optimize_for_gpu,
                                   only_onnxruntime=not config.enable_transformers_specific_optimizations)
        if config.fp16:
            optimizer.convert_float_to_float16(use_symbolic_shape_infer=not config.disable_shape_inference,
                                               keep_io_types=True)
        out = self.dir / "onnx" / f"model_{level}.onnx"
        optimizer.save_model_to_file(str(out))
        return out

    def _quantize_onnx(self, arch: str) -> Path:
        """optimum's ORTQuantizer.quantize with AutoQuantizationConfig.<arch>(is_static=False)."""
        import onnx
        from onnxruntime.quantization.onnx_quantizer import ONNXQuantizer
        from optimum.onnxruntime.configuration import AutoQuantizationConfig

        c = getattr(AutoQuantizationConfig, arch)(is_static=False)
        quantizer = ONNXQuantizer(
            model=onnx.load(str(self._onnx("onnx"))), static=False, per_channel=c.per_channel, mode=c.mode,
            weight_qType=c.weights_dtype, activation_qType=c.activations_dtype, tensors_range=None,
            reduce_range=c.reduce_range, nodes_to_quantize=c.nodes_to_quantize, nodes_to_exclude=c.nodes_to_exclude,
            op_types_to_quantize=[getattr(op, "value", op) for op in c.operators_to_quantize],
            extra_options={"WeightSymmetric": c.weights_symmetric, "ActivationSymmetric": c.activations_symmetric,
                           "EnableSubgraph": False,
                           "ForceSymmetric": c.activations_symmetric and c.weights_symmetric,
                           "AddQDQPairToWeight": c.qdq_add_pair_to_weight, "DedicatedQDQPair": c.qdq_dedicated_pair,
                           "QDQOpTypePerChannelSupportToAxis": c.qdq_op_type_per_channel_support_to_axis})
        quantizer.quantize_model()
        out = self.dir / "onnx" / f"model_{c.weights_dtype.name.lower()}_{arch}.onnx"
        quantizer.model.save_model_to_file(str(out))
        return out

    def _openvino(self, name: str) -> Path:
        from sentence_transformers import SentenceTransformer

        fp32 = self.dir / "openvino" / "openvino_model.xml"
        if not fp32.exists():  # export once, keep it like sentence-transformers' save_pretrained would
            SentenceTransformer(str(self.dir), device="cpu", backend="openvino")[0].model.save_pretrained(self.dir)
        if name != "openvino-qint8":
            return fp32
        out = self.dir / "openvino" / "openvino_model_qint8_quantized.xml"
        if not out.exists():
            import nncf
            import openvino as ov

            prompt = (self.reference.prompts or {}).get("document", "")
            samples = [dict(self.reference.tokenizer([prompt + t], truncation=True, return_tensors="np"))
                       for t in self.calibration[:300]]  # 300: optimum-intel's default sample count
            model = nncf.quantize(ov.Core().read_model(fp32), nncf.Dataset(samples),
                                  model_type=nncf.ModelType.TRANSFORMER, subset_size=len(samples))
            ov.save_model(model, out)
        return out


def time_variant(embedder, texts: list[str]) -> tuple[float, float, np.ndarray]:
    """One round: all chunks once, then N_QUERIES single short queries (their p50 in ms)."""
    start = time.perf_counter()
    vectors = embedder.encode_documents(texts)
    encode_s = time.perf_counter() - start
    query_s = []
    for text in texts[:N_QUERIES]:
        start = time.perf_counter()
        embedder.encode_queries([text[:40]])
        query_s.append(time.perf_counter() - start)
    return encode_s, float(np.median(query_s)) * 1000, vectors


def score(settings: Settings, question_sets: dict[str, list]) -> dict[str, float]:
    """Build a fresh index with the current embedder and score each question set."""
    try:
        build(settings, rebuild=True)
        searcher = Searcher(settings, sentence_scorer(settings))
        metrics = {}
        for label, questions in question_sets.items():
            overall = run_eval(searcher, questions, make_configs(["hybrid"])).configs[0].metrics.overall
            metrics[f"{label} R@5"] = round(overall["R@5"], 3)
            metrics[f"{label} MRR@10"] = round(overall["MRR@10"], 3)
        return metrics
    finally:
        shutil.rmtree(settings.index, ignore_errors=True)


def run(names: list[str], corpus: Path, question_paths: list[Path], repeat: int, keep: Path | None) -> list[dict]:
    # torch: the variants swap the sentence-transformers model inside the torch encoder
    settings = Settings.from_env(corpus=corpus, index=Path(tempfile.mkdtemp(prefix="backends-index-")), encoder="torch")
    embedder = get_embedder(settings.model, settings.batch_size, settings.encoder)  # the one the build and the searcher use
    reference = embedder.backend.model
    texts = [search_text(c) for c in chunk_documents(ingest(corpus).documents, settings.chunking)]
    question_sets = {p.stem.removesuffix("_questions"): read_questions(p)[0] for p in question_paths}
    workdir = Path(tempfile.mkdtemp(prefix="backends-"))
    variants = Variants(reference, Path(embedder.path), workdir, texts)
    rows: dict[str, dict] = {}
    models = {}
    try:
        for name in names:
            log(f"load {name}")
            start = time.perf_counter()
            try:
                models[name] = variants.load(name)
                models[name].prompts = reference.prompts
                embedder.backend.model = models[name]
                embedder.encode_documents(texts[:settings.batch_size])  # warm-up: compile, allocate
                rows[name] = {"variant": name, "load_s": round(time.perf_counter() - start, 1)}
            except Exception as exc:  # one broken backend must not sink the others
                traceback.print_exc()
                rows[name] = {"variant": name, "error": f"{type(exc).__name__}: {exc}"[:300]}
        loaded = [n for n in names if n in models]
        timings = {n: {"encode_s": [], "query_ms_p50": []} for n in loaded}
        vectors = {}
        for round_ in range(repeat):
            for name in loaded:
                log(f"round {round_ + 1}/{repeat}: {name}")
                embedder.backend.model = models[name]
                encode_s, query_ms, vectors[name] = time_variant(embedder, texts)
                timings[name]["encode_s"].append(round(encode_s, 3))
                timings[name]["query_ms_p50"].append(round(query_ms, 2))
        ref_vectors = vectors[REFERENCE]
        for name in loaded:
            best = min(timings[name]["encode_s"])
            cos = (vectors[name] * ref_vectors).sum(axis=1)  # both L2-normalised
            rows[name].update({
                "chunks": len(texts), "encode_chunks_s": round(best, 2),
                "chunks_per_s": round(len(texts) / best, 1),
                "query_encode_ms_p50": round(min(timings[name]["query_ms_p50"]), 1),
                "cos_vs_fp32_mean": round(float(cos.mean()), 4), "cos_vs_fp32_min": round(float(cos.min()), 4),
                "encode_s_rounds": timings[name]["encode_s"], "query_ms_p50_rounds": timings[name]["query_ms_p50"]})
            log(f"score {name}")
            embedder.backend.model = models[name]
            try:
                rows[name].update(score(settings, question_sets))
            except Exception as exc:
                traceback.print_exc()
                rows[name]["error"] = f"scoring: {type(exc).__name__}: {exc}"[:300]
        for name, path in variants.artifacts.items():
            if name in rows:
                rows[name]["file_mb"] = round(path.stat().st_size / 1e6, 1)
    finally:
        embedder.backend.model = reference
        if keep:
            shutil.copytree(workdir / "model", keep, dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return [compare(rows[n], rows[REFERENCE], list(question_sets)) for n in names]


def compare(row: dict, ref: dict, labels: list[str]) -> dict:
    """Speedups against torch fp32 of the same run, and the acceptance verdict."""
    if "chunks_per_s" not in row or "chunks_per_s" not in ref:
        return row
    row["speedup"] = round(row["chunks_per_s"] / ref["chunks_per_s"], 2)
    row["query_speedup"] = round(ref["query_encode_ms_p50"] / row["query_encode_ms_p50"], 2)
    losses = [ref[f"{lb} R@5"] - row[f"{lb} R@5"] for lb in labels if f"{lb} R@5" in row and f"{lb} R@5" in ref]
    row["meets"] = ("ref" if row is ref else
                    "yes" if row["speedup"] > 1 and len(losses) == len(labels) and max(losses) <= MAX_R5_LOSS + 1e-9
                    else "no")
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--questions", type=Path, nargs="+",
                        default=[ROOT / "qa" / "data" / "dev_questions.jsonl",
                                 ROOT / "tests" / "data" / "own_questions.jsonl"],
                        help="question sets to score (default: dev and own); labelled by file name")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated; {REFERENCE} is always run first as the reference "
                             f"(default: all of {', '.join(VARIANTS)})")
    parser.add_argument("--repeat", type=int, default=3,
                        help="interleaved timing rounds; the best counts (the first after loading is often slow)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--keep-exports", type=Path, default=None,
                        help="copy the model directory with its onnx/ and openvino/ exports here")
    args = parser.parse_args(argv)
    names = [REFERENCE] + [v for v in dict.fromkeys(args.variants.split(",")) if v and v != REFERENCE]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; use {', '.join(VARIANTS)}")
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    rows = run(names, args.corpus, args.questions, args.repeat, args.keep_exports)
    labels = [p.stem.removesuffix("_questions") for p in args.questions]
    header = ["variant", "encode_chunks_s", "chunks_per_s", "speedup", "query_encode_ms_p50", "query_speedup",
              "cos_vs_fp32_mean", "cos_vs_fp32_min", *(f"{lb} {m}" for lb in labels for m in ("R@5", "MRR@10")),
              "meets"]
    table = md_table(header, [[r.get(h, r.get("error", "") if h == "meets" else "") for h in header] for r in rows])
    seconds = round(time.perf_counter() - started)
    info = versions()
    note = (f"\n\nmeets = faster than {REFERENCE} and at most {MAX_R5_LOSS * 100:.0f} point of R@5 lost on "
            f"{' and '.join(labels)}. {len(rows[0].get('encode_s_rounds', []))} interleaved rounds, "
            f"load avg {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end; run took {seconds} s.\n"
            + ", ".join(f"{k} {v}" for k, v in info.items()))
    write_results(args.out, "backends", {"machine": machine(), "packages": info, "seconds": seconds,
                                         "results": rows}, table + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
