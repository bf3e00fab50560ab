# Two commands on a fresh machine with Python >= 3.10 and make:
#   make demo   creates .venv, installs theory_rl, runs the showcase
#   make test   creates .venv, installs theory_rl with its test extras, runs the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned through this variable in the same pip call as the extras that need it: the
# pinned CPU build installs from local disk here, an unpinned `torch` pulls a multi-GB CUDA build.
# On a CUDA machine the same pin resolves to PyPI's CUDA build.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=
# Two workers match the 2-core CI machine; override with `make test PYTEST_WORKERS=auto`.
PYTEST_WORKERS ?= 2

.PHONY: demo test lint docs bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" -e ".[demo]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" -e ".[dev]"
	touch $(VENV)/.installed-demo $@

demo: $(VENV)/.installed-demo
	$(BIN)/theory-rl demo

# One BLAS thread per pytest worker: two workers with two BLAS threads each oversubscribe 2 cores
# (measured 10x slower on PSR tests under load).
test: $(VENV)/.installed-dev
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check theory_rl tests bench notebooks

# The site (docs/_build/html): API reference from the docstrings, the notebooks executed (cached in
# docs/_build/.jupyter_cache), the benchmark tables rendered from bench/results/*.json.
docs: $(VENV)/.installed-dev
	OMP_NUM_THREADS=1 $(BIN)/python -m sphinx -b html -W --keep-going docs docs/_build/html

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/tabular.py

bench-quick: $(VENV)/.installed-dev
	$(BIN)/python bench/tabular.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info docs/_build docs/api docs/notebooks docs/jupyter_execute
