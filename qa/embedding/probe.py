"""``QA_ENCODER=auto`` (the default): pick the encoder by measuring, once.

Which encoder is fastest depends on the CPU, not on a name: OpenVINO is ~3×
faster than torch where it can compute in bf16 (AMX) and about even in fp32
(docs/performance.md). So the first process that needs the model times both
on a fixed set of passages and queries, checks that OpenVINO's vectors agree
with torch's, and stores the verdict next to the cached conversion. Every
later process reads it and loads only the winner. A new CPU, torch or
OpenVINO version probes again.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np

from qa.embedding.encoders import OpenVINOEncoder, TorchEncoder, encoder_cache, load_openvino, model_key

logger = logging.getLogger(__name__)

PROBE_FILE = "probe.json"
MIN_COSINE = 0.999

_SENTENCES = [
    "坚持把教育摆在优先发展的战略位置，全面推进县域义务教育优质均衡发展。",
    "全年共交流轮岗教师三百二十名，其中骨干教师占比达到百分之二十五以上。",
    "新建、改扩建中小学校舍十二万平方米，新增学位六千余个，有效缓解了城区学校大班额问题。",
    "加强校园安全管理，开展食品安全、消防安全和防溺水专项整治行动。",
    "深化学前教育改革，防止和纠正幼儿园“小学化”倾向，普惠性幼儿园覆盖率达到百分之九十。",
    "落实教师工资待遇保障机制，确保义务教育教师平均工资收入水平不低于当地公务员平均工资收入水平。",
    "推进信息技术与教育教学深度融合，建成智慧教室二百余间。",
    "二、主要工作措施（一）健全组织领导，压实各级责任。",
]


def probe_texts() -> tuple[list[str], list[str]]:
    """24 passages of 40-400 characters (like chunks) and 8 questions."""
    passages = []
    for i in range(24):
        n = 1 + i % 8
        passages.append("".join(_SENTENCES[(i + j) % len(_SENTENCES)] for j in range(n)))
    queries = ["教师交流的主要措施有哪些？", "学前教育如何防止小学化倾向？", "新建校舍多少平方米",
               "What measures promote teacher exchange?", "校园安全", "教师工资待遇", "智慧教室", "普惠性幼儿园覆盖率"]
    return passages, queries


def _versions() -> dict:
    """What the verdict depends on besides the model."""
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    facts = {"cpu": cpu or platform.processor(), "machine": platform.machine()}
    for package in ("torch", "openvino", "sentence-transformers"):
        try:
            facts[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            facts[package] = None
    return facts


def probe_file(name: str, path: str) -> Path:
    return encoder_cache() / model_key(name, path) / PROBE_FILE


def cached_choice(name: str, path: str) -> str | None:
    """The stored verdict for this model on this machine, if any."""
    try:
        found = json.loads(probe_file(name, path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if found.get("versions") != _versions() or found.get("choice") not in ("torch", "openvino"):
        return None
    return found["choice"]


def _seconds(encode, items: list[str], single: bool) -> float:
    """Wall time of encoding ``items`` as one list, or one at a time (queries)."""
    start = time.perf_counter()
    for batch in ([[item] for item in items] if single else [items]):
        encode(batch)
    return time.perf_counter() - start


def probe(name: str, path: str, prompts: dict[str, str] | None, batch_size: int,
          rounds: int = 2) -> tuple[str, TorchEncoder | OpenVINOEncoder, dict]:
    """Time torch and OpenVINO on the probe texts (interleaved rounds, best of
    each), store the verdict, and return it with the winning encoder loaded."""
    torch_encoder = TorchEncoder(path, prompts)
    result: dict = {"versions": _versions(), "model": name, "choice": "torch", "batch_size": batch_size}
    try:
        candidates: dict = {"torch": torch_encoder, "openvino": load_openvino(name, path, prompts, torch_encoder)}
    except ImportError:
        result["reason"] = "openvino is not installed"
        candidates = {"torch": torch_encoder}
    except ValueError as exc:  # UnsupportedModel and friends
        result["reason"] = f"OpenVINO cannot run this model: {exc}"
        candidates = {"torch": torch_encoder}
    passages, queries = probe_texts()
    if len(candidates) > 1:
        reference = torch_encoder.encode(passages + queries, "document", batch_size)
        other = candidates["openvino"].encode(passages + queries, "document", batch_size)
        cosine = float(np.min(np.sum(reference * other, axis=1)))
        result["min_cosine_to_torch"] = round(cosine, 6)
        timings: dict = {key: {"passages_s": float("inf"), "queries_s": float("inf")} for key in candidates}
        for _ in range(rounds):  # interleaved, so a busy neighbour slows both alike
            for key, encoder in candidates.items():
                t = timings[key]
                t["passages_s"] = min(t["passages_s"], _seconds(
                    lambda items: encoder.encode(items, "document", batch_size), passages, False))
                t["queries_s"] = min(t["queries_s"], _seconds(
                    lambda items: encoder.encode(items, "query", batch_size), queries, True))
        for t in timings.values():
            t["passages_per_s"] = round(len(passages) / t["passages_s"], 1)
            t["query_ms"] = round(1000 * t["queries_s"] / len(queries), 2)
            t["passages_s"], t["queries_s"] = round(t["passages_s"], 3), round(t["queries_s"], 3)
        result["timings"] = timings
        result["openvino_precision"] = candidates["openvino"].precision
        speedup = timings["torch"]["passages_s"] / timings["openvino"]["passages_s"]
        result["openvino_speedup_passages"] = round(speedup, 2)
        if cosine < MIN_COSINE:
            result["reason"] = f"OpenVINO vectors differ from torch (min cosine {cosine:.4f} < {MIN_COSINE})"
        elif speedup > 1.0:
            result["choice"] = "openvino"
            result["reason"] = f"OpenVINO ({result['openvino_precision']}) encodes passages {speedup:.2f}x faster"
        else:
            result["reason"] = f"OpenVINO is not faster here ({speedup:.2f}x torch)"
    target = probe_file(name, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(f".tmp-{time.time_ns()}")
    temp.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    temp.replace(target)
    logger.info("encoder probe: %s (%s); stored in %s", result["choice"], result.get("reason", ""), target)
    return result["choice"], candidates[result["choice"]], result
