"""Commands load only what they use, and builds talk to the user plainly.

Real ``python -m qa`` processes: ``-X importtime`` lists every module a
command imported; the heavy model libraries must not be among them for
commands that need no model. Timings are in bench/bench_startup.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"torch", "sentence_transformers", "transformers", "openvino"}


def _qa(*args: str, importtime: bool = False, **extra_env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **extra_env}
    flags = ["-X", "importtime"] if importtime else []
    done = subprocess.run([sys.executable, *flags, "-m", "qa", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _imported(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines (``import time: self | cumulative | name``)."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")
            and "|" in line}


@pytest.mark.parametrize("args", [["--help"], ["eval", "--help"], ["chunks", "--corpus", str(ROOT / "corpus")]])
def test_commands_without_a_model_import_no_model_library(args):
    modules = _imported(_qa(*args, importtime=True).stderr)
    assert "qa.cli" in modules  # the parse worked
    assert not modules & HEAVY, sorted(modules & HEAVY)


def test_bm25_search_loads_no_model(built_index):
    settings, _ = built_index
    done = _qa("search", "教师交流", "--mode", "bm25", "--top-k", "2", "--index", str(settings.index),
               importtime=True)
    # the search ran and printed ranked, cited passages: "[rank] score  《title》 section  (source start-end)"
    heads = re.findall(r"^\[(\d)\] (\d+\.\d{4})  《(.+?)》 .+  \((\S+) (\d+)-(\d+)\)$", done.stdout, re.M)
    assert [h[0] for h in heads] == ["1", "2"], done.stdout
    assert float(heads[0][1]) >= float(heads[1][1]) > 0 and all(int(h[5]) > int(h[4]) for h in heads)
    assert "教师" in done.stdout.split("\n[2]")[0].split("\n", 2)[2], done.stdout  # the first passage
    modules = _imported(done.stderr)
    assert "qa.search.searcher" in modules and not modules & HEAVY, sorted(modules & HEAVY)
    # the saved BM25 matrix is read without bm25s, whose import pulls numba and scipy
    assert not modules & {"bm25s", "numba", "scipy"}, sorted(modules & {"bm25s", "numba", "scipy"})


def test_bm25_search_reads_jiebas_dictionary_from_the_stored_table(built_index, tmp_path):
    """The first process loads jieba's dictionary whole and stores it; the
    next ones cut the query from the stored table (same results), and a
    damaged table is stored again with a warning, not a crash."""
    settings, _ = built_index
    search = ["-v", "search", "教师交流", "--mode", "bm25", "--index", str(settings.index), "--json"]
    loads = "loading jieba's whole dictionary"
    first = _qa(*search, QA_TOKENIZER_CACHE=str(tmp_path))
    assert loads in first.stderr
    (table,) = tmp_path.glob("jieba-*.sqlite")
    second = _qa(*search, QA_TOKENIZER_CACHE=str(tmp_path))
    assert loads not in second.stderr and second.stdout == first.stdout
    table.write_bytes(b"damaged" * 1000)
    damaged = _qa(*search, QA_TOKENIZER_CACHE=str(tmp_path))
    assert "unreadable" in damaged.stderr and loads in damaged.stderr and damaged.stdout == first.stdout
    again = _qa(*search, QA_TOKENIZER_CACHE=str(tmp_path))
    assert loads not in again.stderr and "unreadable" not in again.stderr and again.stdout == first.stdout


def test_build_names_its_stages_and_keeps_library_debug_quiet(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted((ROOT / "corpus").iterdir())[:2]:
        shutil.copy(path, corpus / path.name)
    done = _qa("build", "--corpus", str(corpus), "--index", str(tmp_path / "index"))
    assert done.stdout.startswith("estimate: 2 file(s)"), done.stdout  # how long, before the long part
    assert "embedding chunks" in done.stderr and "embedding sentences" in done.stderr
    assert "Batches" not in done.stderr
    assert "DEBUG" not in done.stderr  # bm25s sets its logger to DEBUG; only -v shows that
    verbose = _qa("-v", "build", "--rebuild", "--corpus", str(corpus), "--index", str(tmp_path / "index"))
    assert "DEBUG bm25s" in verbose.stderr
