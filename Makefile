# `make lab`  : set up .venv and open JupyterLab on the start notebook.
# `make test` : set up .venv and run the whole test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.adaviz-installed

.PHONY: lab test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[tensorflow-cpu,lab,test]'
	@# tf-keras (oracle tests) declares `tensorflow`; take it without pulling the full wheel.
	$(BIN)/python -m pip install --quiet --no-deps \
	  "tf-keras==$$($(BIN)/python -c 'import importlib.metadata as m; print(".".join(m.version("tensorflow-cpu").split(".")[:2]))').*"
	touch $(STAMP)

lab: $(STAMP)
	@# (--allow-root only where you are root: containers, cloud shells)
	$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/00_tour.ipynb

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache test-artifacts
