# Two entry points: `make run` (install, build the index if needed, serve the app)
# and `make test` (install, system packages for the browser tests, run the suite;
# it writes nothing into the checkout). `make screenshots` refreshes docs/screenshots/;
# `make figures` regenerates the quality results in bench/results/ from today's code;
# `make reader` trains and measures the reader of issue 24, which the app does not use.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test screenshots install sysdeps build serve figures figures-in-repo docs-check reader

$(PY):
	python3 -m venv $(VENV)

# pip speaks for itself (no --quiet): every package it collects, downloads and installs is in the log,
# under a one-line step heading; a fresh install takes a few minutes, torch is most of it.
$(STAMP): pyproject.toml requirements.lock | $(PY)
	@echo "==> install 1/4: pip itself"
	$(PY) -m pip install --upgrade pip
	@echo "==> install 2/4: torch 2.13.0, CPU (the largest download)"
	$(PY) -m pip install torch==2.13.0
	@echo "==> install 3/4: $$(grep -c '==' requirements.lock) pinned packages of requirements.lock"
	$(PY) -m pip install -r requirements.lock
	@echo "==> install 4/4: this project (editable)"
	$(PY) -m pip install --no-deps -e .
	touch $(STAMP)
	@echo "==> installed into $(VENV)"

install: $(STAMP)

# qa build prints how long it will take (from a measured rate) before the long part, then its progress bars
build: install
	@echo "==> index: bring index/ up to date with corpus/"
	$(PY) -m qa build

serve: install
	@echo "==> serve: app.py (it prints its address when the port opens; Ctrl+C stops it)"
	$(PY) app.py

run: build serve

# Chromium and a CJK font for the browser tests; apt only when something is missing.
sysdeps:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then \
		apt-get update && apt-get install -y chromium fonts-wqy-microhei fontconfig; \
	fi

test: install sysdeps
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

# The README's screenshots, taken by the browser tests in a real Chromium.
screenshots: install sysdeps
	QA_SCREENSHOTS=$(CURDIR)/docs/screenshots HF_HUB_OFFLINE=1 $(PY) -m pytest -q tests/test_app_browser.py

# Tables in README/docs that cite a committed results file must equal it.
docs-check: install
	$(PY) bench/docs_check.py

# Every deterministic quality benchmark (retrieval, answers, drafting, Milvus parity) re-run on today's
# code: rewrites bench/results/ (needs the team data beside the checkout: NCP dev set, 72 government reports).
# The gates of `make test` read these files: commit them with the change that moved a figure.
figures: install
	HF_HUB_OFFLINE=1 $(PY) bench/figures.py

# The seeds and the sets in the repository only, without run facts (byte-deterministic): CI runs this
# after `make test`, and `git status` then shows any committed figure today's code no longer gives.
figures-in-repo: install
	HF_HUB_OFFLINE=1 $(PY) bench/figures.py --in-repo --no-run-facts

# The reader of issue 24 (docs/answers.md, "A reader model"; not used by the app), trained with the
# arguments of the committed run (bench/results/reader/), then measured on what it was not trained on.
# Needs the team data beside the checkout, where qa/reader/data.py's SHARED_EVAL says (its rc/ and ncp/;
# `make reader SHARED_EVAL=DIR` for another place). Writes only under index/ (git-ignored): the seed
# index (make build), the NCP index, the reader and its figures. Training takes about 50 min on 2 cores.
SHARED_EVAL = $(shell $(PY) -c "from qa.reader.data import SHARED_EVAL; print(SHARED_EVAL)")
READER := index/reader
NCP_INDEX := index/ncp
reader: build
	@echo "==> reader 1/3: the NCP index in $(NCP_INDEX)"
	HF_HUB_OFFLINE=1 $(PY) -m qa build --corpus $(SHARED_EVAL)/ncp/corpus --index $(NCP_INDEX)
	@echo "==> reader 2/3: train into $(READER)"
	HF_HUB_OFFLINE=1 $(PY) -m qa.reader.train --out $(READER) --shared $(SHARED_EVAL) --layers 4 --head mlp \
		--epochs 1.0 --batch-pairs 32 --lr 5e-5 --head-lr 5e-4 --weight-decay 0.01 --warmup 0.06 --listwise 0 \
		--policy-repeat 3 --policy-weight 1.0 --budgets 40,32,80,24 --seed 1234 --threads auto --precision auto
	@echo "==> reader 3/3: held-out figures into $(READER)/held_out.json"
	HF_HUB_OFFLINE=1 $(PY) -m qa.evaluation.reader $(READER) --shared $(SHARED_EVAL) --seeds-index index \
		--ncp-index $(NCP_INDEX) --json $(READER)/held_out.json
