"""The encoder is chosen and converted once per machine, then reused.

Real processes, the real model, a private conversion cache (QA_ENCODER_CACHE):
the first process probes and converts; later ones load the cached conversion
(no torch import, same vectors); a damaged conversion is rebuilt with a
warning instead of crashing the command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino")

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, logging, sys
import numpy as np
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
from qa.embedding.embedder import Embedder
from qa.embedding.probe import probe_texts
embedder = Embedder("intfloat/multilingual-e5-small")
passages, queries = probe_texts()
np.save(sys.argv[1], np.vstack([embedder.encode_documents(passages[:6]), embedder.encode_queries(queries[:3])]))
print(json.dumps({"encoder": embedder.encoder, "torch": "torch" in sys.modules,
                  "sentence_transformers": "sentence_transformers" in sys.modules}))
"""


def _run(cache: Path, out: Path, encoder: str) -> tuple[dict, np.ndarray, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "QA_ENCODER_CACHE": str(cache), "QA_ENCODER": encoder}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(out)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), np.load(out), done.stderr


def _conversion(cache: Path) -> Path:
    found = list(cache.glob("*/openvino-*"))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """The first process on an empty cache: probes torch vs OpenVINO, converts."""
    cache = tmp_path_factory.mktemp("encoders")
    info, vectors, log = _run(cache, cache.parent / "first.npy", "auto")
    return cache, info, vectors, log


def test_first_process_probes_and_converts(first_run):
    cache, info, _, log = first_run
    probe = json.loads(next(cache.glob("*/probe.json")).read_text(encoding="utf-8"))
    assert probe["choice"] == info["encoder"] and probe["reason"]
    assert set(probe["timings"]) == {"torch", "openvino"} and probe["min_cosine_to_torch"] >= 0.999
    assert "converting intfloat/multilingual-e5-small to OpenVINO" in log
    assert (_conversion(cache) / "conversion.json").is_file()


def test_second_process_reuses_the_conversion(first_run, tmp_path):
    cache, first, first_vectors, _ = first_run
    info, vectors, log = _run(cache, tmp_path / "second.npy", "openvino")
    assert "converting" not in log and "probe" not in log
    assert not info["torch"] and not info["sentence_transformers"]  # nothing left to convert with
    if first["encoder"] == "openvino":
        np.testing.assert_allclose(vectors, first_vectors, atol=1e-6)
    assert np.min(np.sum(vectors * first_vectors, axis=1)) >= 0.999

    info, _, log = _run(cache, tmp_path / "third.npy", "auto")  # the stored verdict, no new probe
    assert info["encoder"] == first["encoder"] and "probe" not in log and "converting" not in log


def test_corrupted_conversion_is_rebuilt_with_a_warning(first_run, tmp_path):
    cache, _, first_vectors, _ = first_run
    folder = _conversion(cache)
    (folder / "model.xml").write_text("<net name='broken'", encoding="utf-8")
    info, vectors, log = _run(cache, tmp_path / "rebuilt.npy", "openvino")
    assert "WARNING qa.embedding.encoders" in log and "converting the model again" in log
    assert info["encoder"] == "openvino"
    assert np.min(np.sum(vectors * first_vectors, axis=1)) >= 0.999

    _, again, log = _run(cache, tmp_path / "after.npy", "openvino")  # repaired for good
    assert "WARNING" not in log and "converting" not in log
    np.testing.assert_allclose(again, vectors, atol=1e-6)
