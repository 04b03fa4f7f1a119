# make demo: set up .venv and run the main job.  make test: set up and run every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest doctest multidevice notebooks docs bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,notebooks,bench,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/jinit check
	$(BIN)/jinit propagate --activation relu,tanh --depth 50 \
		--schemes zeros,normal:stddev=0.01,glorot_normal,he_normal --out docs/depth.png --out docs/depth.svg

test: $(STAMP) lint typecheck pytest doctest multidevice notebooks docs bench-quick

lint: $(STAMP)
	$(BIN)/ruff check jinit tests benchmarks notebooks docs
	$(BIN)/ruff format --check jinit tests benchmarks notebooks docs

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not multidevice and not multiprocess" tests

# The docstrings' examples, run as a user would (jax's default config, not tests/conftest.py's strict one).
doctest: $(STAMP)
	$(BIN)/python -m pytest -n 2 --doctest-modules jinit

# 8 CPU devices must be requested before JAX starts, so these run in their own process.
multidevice: $(STAMP)
	XLA_FLAGS=--xla_force_host_platform_device_count=8 $(BIN)/python -m pytest -m "multidevice or multiprocess" tests

# Each notebook runs once; --overwrite keeps the executed copies, which the site (make docs) renders as they are.
notebooks: $(STAMP)
	$(BIN)/jupytext --to ipynb notebooks/[0-9]*.py
	$(BIN)/python -m pytest -n 2 --nbmake --overwrite notebooks/[0-9]*.ipynb

# The site: Sphinx + MyST, API pages from the docstrings, the executed notebooks; warnings are errors.
# Open docs/_build/html/index.html from disk.
docs: notebooks
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache notebooks/*.ipynb docs/_build docs/api docs/notebooks docs/_generated
