"""How long a build will take, said before it starts (``qa build`` prints it,
so ``make run`` does too), and this machine's rate, kept after each build.

Embedding is nearly all of a build and grows with the text (docs/performance.md),
so the estimate is the characters of the files the build has to read (new or
changed since the current index; all of them for a first build) divided by a
measured rate: the last build on this machine with this model when one was
timed (``build-rate.json`` in the encoder cache), else the rate measured for
the seed corpus by ``bench/bench_build_rate.py`` (``bench/results/build-rate.md``).
The first run on a machine also prepares the model (materialising it and
timing torch against OpenVINO), which adds about a minute (README, "The
embedding model"). The log says which rate it used.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from qa.ingest.corpus import corpus_files, file_hash
from qa.ingest.loading import LoadError, read_file
from qa.settings import Settings

#: characters per second of a whole seed build (model load included), median of 3 on 2 busy cores
#: (load 4-6): bench/results/build-rate.md (``bench/bench_build_rate.py``). A quiet machine is
#: faster; from its first build on, the estimate uses that machine's own rate.
MEASURED_RATE = 1400.0
MEASURED_SOURCE = "measured on the seed corpus, bench/results/build-rate.md"
#: preparing the model on a machine's first run (README: "that first run takes a minute more")
FIRST_RUN_SECONDS = 60
#: builds smaller than this are mostly model loading: their rate is not recorded
MIN_RECORDED_CHARS = 20_000
RATE_FILE = "build-rate.json"


def pending(settings: Settings, rebuild: bool = False) -> tuple[int, int]:
    """(files, characters) the next build of ``settings`` reads: every file
    when there is no index, it was built with another model or chunking (the
    build starts afresh then) or ``rebuild``, else the files whose bytes
    changed."""
    from qa.index.build import chunking_config, current_manifest, known_hashes

    try:
        manifest = None if rebuild else current_manifest(settings)
    except Exception:  # an unreadable index is rebuilt
        manifest = None
    if manifest is not None and (manifest.get("model") != settings.model
                                 or manifest.get("chunking") != chunking_config(settings)):
        manifest = None
    known = known_hashes(manifest)
    files = chars = 0
    for path in corpus_files(settings.corpus) if settings.corpus.is_dir() else []:
        if known.get(path.relative_to(settings.corpus).as_posix()) == file_hash(path):
            continue
        files += 1
        try:
            chars += sum(len(raw.text) for raw in read_file(path))
        except LoadError:
            pass
    return files, chars


def _rate_file(settings: Settings) -> Path:
    return settings.encoder_dir / RATE_FILE


def measured_rate(settings: Settings) -> tuple[float, str]:
    """(characters per second, where that figure comes from)."""
    try:
        record = json.loads(_rate_file(settings).read_text(encoding="utf-8"))
        if record.get("model") == settings.model and record.get("chars_per_second", 0) > 0:
            return float(record["chars_per_second"]), f"this machine's last build ({record.get('measured', '?')})"
    except (OSError, ValueError):
        pass
    return MEASURED_RATE, MEASURED_SOURCE


def first_run(settings: Settings) -> bool:
    """No encoder verdict cached yet: the build prepares the model first."""
    return settings.encoder == "auto" and not any(settings.encoder_dir.glob("*/probe.json"))


def estimate(settings: Settings, rebuild: bool = False) -> tuple[float, int, str]:
    """(seconds, characters to read, the log line saying how long and why;
    empty when there is nothing to build)."""
    files, chars = pending(settings, rebuild)
    if files == 0:
        return 0.0, 0, ""
    rate, source = measured_rate(settings)
    prepare = FIRST_RUN_SECONDS if first_run(settings) else 0
    seconds = chars / rate + prepare
    extra = f", including about {prepare} s to prepare the model on this first run" if prepare else ""
    return seconds, chars, (f"estimate: {files} file(s), {chars:,} characters to index: about {duration(seconds)}"
                            f"{extra} (at {rate:,.0f} characters/s, {source})")


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(5, round(seconds / 5) * 5):.0f} s"
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds / 60:.1f} min"


def record(settings: Settings, chars: int, seconds: float) -> None:
    """Keep this machine's rate for the next estimate (large builds only:
    a small one is mostly model loading)."""
    if chars < MIN_RECORDED_CHARS or seconds <= 0:
        return
    path = _rate_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": settings.model, "chars": chars, "seconds": round(seconds, 1),
                                "chars_per_second": round(chars / seconds, 1),
                                "measured": time.strftime("%Y-%m-%d")}, ensure_ascii=False), encoding="utf-8")
