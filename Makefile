# `make lab`       : set up .venv and open JupyterLab on the start notebook.
# `make test`      : set up .venv and run everything (what CI runs): lint, the whole suite,
#                    the panel tests and one browser test against the oldest plotly supported,
#                    unit tests on Python 3.10, and the Binder image built for real.
# `make test-fast` : unit tests only: no browser, notebook, subprocess, network or slow
#                    (integration) tests.
# `make lint`      : ruff check + ruff format --check.
# `make site`      : the notebooks, executed, as a static site in site/ whose panels stay
#                    live without a kernel (open site/index.html); reuses the notebook
#                    runs the tests saved in build/notebooks.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.adaviz-installed
# The oldest plotly pyproject.toml allows; installed next to the venv's newest one.
PLOTLY_OLDEST := 6.3.1
OLDEST := $(VENV)/plotly-$(PLOTLY_OLDEST)
PY310  ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3) $(shell command -v python3.10))
VENV310 := $(VENV)/py310
FAST   := not browser and not notebook and not subprocess and not network and not binder

.PHONY: lab test test-fast test-plotly-oldest test-py310 binder-test lint bench site clean

$(STAMP): pyproject.toml binder/postBuild
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# The full tensorflow wheel: what most users have (its CUDA probe is what the quiet
	@# import tests check), and what tf-keras (the oracle tests) requires. A venv made
	@# before with tensorflow-cpu drops it first (both wheels install `tensorflow/`).
	-$(BIN)/python -m pip uninstall --quiet --yes tensorflow-cpu 2>/dev/null
	$(BIN)/python -m pip install --quiet -e '.[tensorflow,oracle,lab,test]'
	@# JupyterLab without the "official Jupyter news?" toast, as binder/postBuild does
	NB_PYTHON_PREFIX=$(abspath $(VENV)) binder/postBuild
	touch $(STAMP)

lab: $(STAMP)
	@# (--allow-root only where you are root: containers, cloud shells)
	$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/00_tour.ipynb

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	@# three independent checks, two at a time: each keeps about one core busy (pip and a
	@# kernel, a browser, one pytest process); their logs are printed whole, one by one
	$(MAKE) -j2 --output-sync=target binder-test test-plotly-oldest test-py310
	@# the whole suite last, in two parts: everything but the browser tests on two workers
	@# (whole files each, in order), then the browser tests one at a time (they run after the
	@# notebooks they read, and a browser's timing is kinder without a second worker)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not binder and not browser"
	$(BIN)/python -m pytest -m "browser and not binder"

# Two workers (pytest-xdist), each running whole files in order, so a file's module
# fixtures and compiled graphs are made once, as in a serial run.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "$(FAST) and not slow"

$(OLDEST)/.done: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --target $(OLDEST) 'plotly==$(PLOTLY_OLDEST)'
	touch $@

test-plotly-oldest: $(OLDEST)/.done
	ADAVIZ_EXPECT_PLOTLY=$(PLOTLY_OLDEST) PYTHONPATH=$(abspath $(OLDEST)) $(BIN)/python -m pytest -q \
	  tests/panels/kit/test_widget.py tests/panels/surface/test_surface_panel.py \
	  tests/browser/test_browser.py::test_dashboard_in_voila "tests/browser/test_browser_moves.py::test_a_move_draws_what_plotly_draws_from_the_same_figure[direct]"

$(VENV310)/.done: pyproject.toml
	@test -n "$(PY310)" || { echo "no Python 3.10 found (set PY310=/path/to/python3.10)"; exit 1; }
	$(PY310) -m venv $(VENV310)
	$(VENV310)/bin/python -m pip install --quiet --upgrade pip
	$(VENV310)/bin/python -m pip install --quiet -e '.[tensorflow,oracle,test]'
	touch $@

# On Python 3.10 (the oldest requires-python allows): the unit tier of the package, the
# optimizer, the engine, the plotly adapter and SurfacePanel (the whole suite runs on 3.11).
PY310_TESTS := tests/test_package.py tests/panels/kit/test_widget.py tests/test_optimizer.py \
  tests/test_engine.py tests/panels/surface/test_surface_panel.py
test-py310: $(VENV310)/.done
	$(VENV310)/bin/python -m pytest -q -m "$(FAST)" -p no:cacheprovider $(PY310_TESTS)

binder-test: $(STAMP)
	$(BIN)/python -m pytest -m binder -s tests/test_binder.py

site: $(STAMP)
	$(BIN)/python -m adaviz.site notebooks site --executed build/notebooks

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist site *.egg-info .pytest_cache test-artifacts
