"""FAISS for the local backend: which index type for how many vectors, and
how many IVF cells to probe.

* up to ``FLAT_MAX`` vectors: exact ``IndexFlatIP`` in ``IndexIDMap2``;
* above: ``IVF{K},SQfp16`` with K = 4·√N cells trained on a sample, our ids
  stored in the inverted lists themselves (IVF supports ``add_with_ids`` and
  ``remove_ids``), ``nprobe`` calibrated to recall@10 ≥ 0.95 against exact
  search (on query vectors of phrases from the corpus when the caller can
  encode them, as the build does);
* ``kind="hnsw"`` on request: ``HNSW32`` in ``IndexIDMap2``.

>>> ivf_cells(10_000), vector_kind(50), vector_kind(200_000)
(400, 'flat', 'ivf')
"""

from __future__ import annotations

import math

import faiss
import numpy as np

#: exact search up to this many vectors, IVF above (FAISS wiki guideline: ~100k)
FLAT_MAX = 100_000
#: recall@10 of the approximate index against exact search that nprobe must reach
TARGET_RECALL = 0.95
KINDS = ("auto", "flat", "ivf", "hnsw")


def ivf_cells(n: int) -> int:
    """K = 4·√N (FAISS wiki: 4√N–16√N; the low end keeps k-means training
    affordable on two cores), at least 16."""
    return max(16, int(4 * math.sqrt(max(n, 1))))


def vector_kind(n: int, kind: str = "auto", flat_max: int = FLAT_MAX) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown vector index kind {kind!r} (use one of {', '.join(KINDS)})")
    if kind != "auto":
        return kind
    return "flat" if n <= flat_max else "ivf"


def make_vector_index(dim: int, n: int = 0, kind: str = "auto", flat_max: int = FLAT_MAX,
                      storage: str = "SQfp16", training: np.ndarray | None = None) -> faiss.Index:
    """An empty (trained, for IVF) inner-product index for ``n`` vectors.

    ``storage`` is the IVF code: ``SQfp16`` (half the memory of fp32, recall
    unchanged), ``SQ8`` (a quarter), ``Flat``, or a ``PQ..`` code when memory
    binds. IVF needs ``training`` vectors (30k–256k of the corpus)."""
    kind = vector_kind(n, kind, flat_max)
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.hnsw.efSearch = 128
        return faiss.IndexIDMap2(hnsw)
    if training is None or not len(training):
        raise ValueError("an IVF index needs training vectors")
    cells = min(ivf_cells(n), max(1, len(training) // 39))  # small corpora (tests): fewer cells
    index = faiss.index_factory(dim, f"IVF{cells},{storage}", faiss.METRIC_INNER_PRODUCT)
    index.cp.min_points_per_centroid = 5  # quieter: a 30-per-cell sample is enough for these cells
    index.train(np.ascontiguousarray(training, dtype="float32"))
    faiss.extract_index_ivf(index).set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct + remove
    return index


def training_sample(vectors: np.ndarray, n_cells: int, seed: int = 0) -> np.ndarray:
    """30k–256k vectors, at least the 39 per cell k-means asks for."""
    size = min(len(vectors), max(30_000, 39 * n_cells), 256_000)
    if size >= len(vectors):
        return vectors
    rows = np.sort(np.random.default_rng(seed).choice(len(vectors), size, replace=False))
    return vectors[rows]


def nprobe_ladder(nlist: int) -> list[int]:
    """nprobe values calibration tries: a √2 ladder up to every cell, so the
    value chosen is at most ~1.4× the one needed (powers of two overshoot 2×)."""
    values, x = set(), 1.0
    while x < nlist:
        values.add(int(round(x)))
        x *= math.sqrt(2)
    return sorted(values | {nlist})


def calibrate_nprobe(index: faiss.Index, probes: np.ndarray, target: float = TARGET_RECALL,
                     k: int = 10) -> tuple[int, float]:
    """The smallest nprobe of the ladder whose recall@k on ``probes`` against
    exhaustive search (every cell: exact over the stored codes) reaches
    ``target`` plus a 0.02 margin."""
    ivf = faiss.extract_index_ivf(index)
    probes = np.ascontiguousarray(probes, dtype="float32")
    _, truth = index.search(probes, k, params=faiss.SearchParametersIVF(nprobe=ivf.nlist))
    recall, nprobe = 1.0, ivf.nlist
    for nprobe in nprobe_ladder(ivf.nlist):
        _, found = index.search(probes, k, params=faiss.SearchParametersIVF(nprobe=nprobe))
        recall = float(np.mean([len(set(t) & set(f)) / k for t, f in zip(truth.tolist(), found.tolist())]))
        if recall >= min(1.0, target + 0.02):
            break
    return nprobe, recall


def mixture_probes(vectors: np.ndarray, n: int = 200, seed: int = 0) -> np.ndarray:
    """Stand-in queries when no query encoder is at hand: normalised sums of
    two stored vectors, which fall between clusters. Easier than real queries
    (docs/scale.md), so ``calibrate`` with encoded phrases replaces them."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(vectors), (2, n))
    q = vectors[a] + vectors[b]
    return q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)


def kind_of(index: faiss.Index) -> str:
    inner = faiss.downcast_index(index.index) if isinstance(index, (faiss.IndexIDMap, faiss.IndexIDMap2)) else index
    if isinstance(inner, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(inner, faiss.IndexIVF):
        return "ivf"
    return "flat"
