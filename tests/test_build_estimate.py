"""``qa build`` (and so ``make run``) says how long it will take before the
long part: the characters of the files it has to read over a measured rate,
and it names where the rate comes from. The estimate counts only what the
build will really read, so a finished index needs no estimate at all."""

from __future__ import annotations

import dataclasses
import json
import shutil

from qa.index import estimate
from qa.settings import Settings


def test_the_estimate_counts_what_the_build_reads(built_index, tmp_path):
    seeds = built_index[0]
    settings = Settings.from_env(corpus=tmp_path / "corpus", index=tmp_path / "index",
                                 encoder_cache=tmp_path / "encoders")
    shutil.copytree(seeds.corpus, settings.corpus)
    files, chars = estimate.pending(settings)
    assert files == len([p for p in settings.corpus.iterdir() if p.suffix == ".txt"]) and chars > 50_000
    seconds, counted, line = estimate.estimate(settings)
    assert counted == chars and seconds >= chars / estimate.MEASURED_RATE
    assert f"{chars:,} characters" in line and "bench/results/build-rate.md" in line
    assert "prepare the model" in line  # an empty encoder cache: the first run converts and probes

    # the index built from these files: nothing to read, nothing to say; one new file: only its text
    shutil.copytree(seeds.index, settings.index, symlinks=True)
    assert estimate.pending(settings) == (0, 0) and estimate.estimate(settings)[2] == ""
    (settings.corpus / "新.txt").write_text("二〇二五年工作总结\n全县新建学校三所。\n", encoding="utf-8")
    assert estimate.pending(settings) == (1, len("二〇二五年工作总结\n全县新建学校三所。\n"))
    assert estimate.pending(settings, rebuild=True)[0] == files + 1
    # other chunking settings: the build starts afresh, so every file is read again
    rechunked = dataclasses.replace(settings, chunk_chars=settings.chunk_chars + 100)
    assert rechunked.chunking != settings.chunking and estimate.pending(rechunked)[0] == files + 1


def test_a_timed_build_becomes_this_machines_rate(tmp_path):
    settings = Settings.from_env(encoder_cache=tmp_path / "encoders")
    estimate.record(settings, 1_000, 2.0)  # too small to say anything but model loading
    assert estimate.measured_rate(settings)[0] == estimate.MEASURED_RATE
    estimate.record(settings, 90_000, 30.0)
    rate, source = estimate.measured_rate(settings)
    assert rate == 3000.0 and "this machine's last build" in source
    stored = json.loads((tmp_path / "encoders" / estimate.RATE_FILE).read_text(encoding="utf-8"))
    assert stored["model"] == settings.model and stored["chars"] == 90_000
    other = dataclasses.replace(settings, model="BAAI/bge-small-zh-v1.5")  # another model: its own rate
    assert estimate.measured_rate(other)[0] == estimate.MEASURED_RATE
