"""Synthetic corpus of N chunks made from the 72 real government work reports.

    python bench/synth.py --chunks 100000 --out /tmp/synth100k

Sentences of the real reports (``../shared/corpus-extra/government_work_reports.jsonl``)
are shuffled into chunks of ~300 characters; every sentence comes in several
variants whose place names and numbers are substituted, so the vocabulary and
the BM25 statistics look like real reports rather than like 72 repeated ones.

**The dense vectors are not model embeddings.** Encoding a million chunks with
the real model would take ~15 hours on two cores, so each chunk gets a
deterministic random projection of its tf-idf token bag (tokens hashed into
2^16 buckets, a fixed seeded Gaussian 2^16×384 matrix, L2-normalised): texts
sharing words get nearby vectors, as with a real model, so IVF clusters and
recall behave like real ones; absolute similarity values do not. Queries are
projected the same way (``Synth.query_vector``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.models import Chunk  # noqa: E402
from qa.text.tokenize import tokenize  # noqa: E402

REPORTS = ROOT.parent / "shared" / "corpus-extra" / "government_work_reports.jsonl"
DIM = 384
BUCKETS = 1 << 16
PLACES = ("北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 "
          "云南 陕西 甘肃 青海 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 台湾 石家庄 太原 沈阳 长春 哈尔滨 南京 杭州 合肥 福州 "
          "南昌 济南 郑州 武汉 长沙 广州 海口 成都 贵阳 昆明 西安 兰州 西宁 呼和浩特 南宁 拉萨 银川 乌鲁木齐 深圳 厦门 "
          "青岛 大连 宁波 苏州 无锡 温州 洛阳 襄阳 宜昌 株洲 珠海 汕头 佛山 东莞 绵阳 遵义 曲靖 宝鸡 天水").split()
_PLACE = re.compile("|".join(sorted(PLACES, key=len, reverse=True)))
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")


def _bucket(token: str) -> int:
    return zlib.crc32(token.encode()) % BUCKETS


@dataclass
class Sentence:
    doc: int
    text: str
    tokens: list[str]


class Synth:
    """Sentence pool (with variants) and the projection; ``chunks(n)`` draws a corpus."""

    def __init__(self, reports: Path = REPORTS, variants: int = 4, seed: int = 0, dim: int = DIM):
        self.rng = np.random.default_rng(seed)
        self.dim = dim
        rows = [json.loads(line) for line in reports.read_text(encoding="utf-8").splitlines() if line.strip()]
        self.titles = [r["title"] for r in rows]
        self.years = [int(r.get("year") or 0) for r in rows]
        base: list[Sentence] = []
        for d, row in enumerate(rows):
            for m in _SENTENCE.finditer(row["content"]):
                text = m.group().strip()
                if 8 <= len(text) <= 240:
                    base.append(Sentence(d, text, tokenize(text)))
        self.base = base
        self.pool: list[Sentence] = []
        for s in base:
            self.pool.append(s)
            for _ in range(variants - 1):
                self.pool.append(self._variant(s))
        self.by_doc = [np.flatnonzero(np.fromiter((s.doc == d for s in self.pool), bool)) for d in range(len(rows))]
        self._projection = np.random.default_rng(seed + 1).normal(size=(BUCKETS, dim)).astype("float32") / np.sqrt(dim)
        df = np.zeros(BUCKETS, dtype="float64")
        for s in base:
            df[list({_bucket(t) for t in s.tokens})] += 1
        self._idf = np.log((len(base) + 1) / (df + 1)).astype("float32") + 1.0
        self.sentence_vectors = np.stack([self._bag_vector(s.tokens, normalise=False) for s in self.pool])

    def _variant(self, s: Sentence) -> Sentence:
        mapping: dict[str, str] = {}

        def place(m: re.Match) -> str:
            return mapping.setdefault(m.group(), PLACES[int(self.rng.integers(len(PLACES)))])

        def number(m: re.Match) -> str:
            old = m.group()
            if old not in mapping:
                whole = old.split(".")[0]
                new = str(int(self.rng.integers(10 ** (len(whole) - 1) if len(whole) > 1 else 0, 10 ** len(whole))))
                mapping[old] = new + (old[len(whole):] if "." in old else "")
            return mapping[old]

        text = _NUMBER.sub(number, _PLACE.sub(place, s.text))
        tokens = []
        for t in s.tokens:  # the same substitution on the tokens (a place inside a longer word too)
            t = _PLACE.sub(lambda m: mapping.get(m.group(), m.group()), t)
            tokens.append(_NUMBER.sub(lambda m: mapping.get(m.group(), m.group()), t))
        return Sentence(s.doc, text, tokens)

    def _bag_vector(self, tokens: list[str], normalise: bool = True) -> np.ndarray:
        if not tokens:
            return np.zeros(self.dim, dtype="float32")
        buckets = np.fromiter((_bucket(t) for t in tokens), dtype="int64")
        vector = (self._projection[buckets] * self._idf[buckets, None]).sum(axis=0)
        return vector / (np.linalg.norm(vector) or 1.0) if normalise else vector

    def query_vector(self, text: str) -> np.ndarray:
        return self._bag_vector(tokenize(text)).astype("float32")

    def chunks(self, n: int, target_chars: int = 300, seed: int = 1, batch: int = 20_000):
        """``n`` chunks, their token lists and vectors (float32, normalised)."""
        rng = np.random.default_rng(seed)
        docs = rng.integers(0, len(self.titles), n)
        chunks, tokens, members, sizes = [], [], [], []
        for c, d in enumerate(docs.tolist()):
            candidates = self.by_doc[d]
            picks, length = [], 0
            while length < target_chars and len(picks) < 20:
                s = int(candidates[int(rng.integers(len(candidates)))])
                picks.append(s)
                length += len(self.pool[s].text)
            text = "".join(self.pool[s].text for s in picks)
            doc_id = f"synth-{d:02d}-{c // 40:06d}"  # ~40 chunks a document
            chunks.append(Chunk(f"{doc_id}@{c % 40}", doc_id, self.titles[d], f"{doc_id}.txt",
                                ["一、总体情况"], text, 0, len(text), {"year": self.years[d]}))
            tokens.append([t for s in picks for t in self.pool[s].tokens])
            members.extend(picks)
            sizes.append(len(picks))
        members_arr = np.asarray(members, dtype="int64")
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        vectors = np.empty((n, self.dim), dtype="float32")
        for a in range(0, n, batch):
            b = min(n, a + batch)
            lo, hi = starts[a], (starts[b] if b < n else len(members_arr))
            summed = np.add.reduceat(self.sentence_vectors[members_arr[lo:hi]], starts[a:b] - lo, axis=0)
            vectors[a:b] = summed / np.linalg.norm(summed, axis=1, keepdims=True)
        return chunks, tokens, vectors

    def queries(self, n: int, seed: int = 2) -> list[str]:
        """Fragments (8–20 characters) of random pool sentences: look-ups of a phrase."""
        rng = np.random.default_rng(seed)
        out = []
        for s in rng.integers(0, len(self.pool), n).tolist():
            text = self.pool[s].text
            length = int(rng.integers(8, 21))
            start = int(rng.integers(0, max(1, len(text) - length)))
            out.append(text[start:start + length])
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000, help="how many chunks (default 100000)")
    parser.add_argument("--out", type=Path, required=True, help="directory for chunks.jsonl, vectors.npy, queries.jsonl")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    synth = Synth(seed=args.seed)
    chunks, tokens, vectors = synth.chunks(args.chunks, seed=args.seed + 1)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for chunk, toks in zip(chunks, tokens):
            handle.write(json.dumps({**chunk.to_dict(), "tokens": toks}, ensure_ascii=False) + "\n")
    np.save(args.out / "vectors.npy", vectors)
    with (args.out / "queries.jsonl").open("w", encoding="utf-8") as handle:
        for q in synth.queries(args.queries, seed=args.seed + 2):
            handle.write(json.dumps({"query": q, "vector": synth.query_vector(q).round(6).tolist()}, ensure_ascii=False) + "\n")
    print(f"{args.chunks} chunks from {len(synth.base)} real sentences ({len(synth.pool)} with variants) "
          f"in {time.perf_counter() - start:.1f}s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
