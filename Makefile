# Keras Model Inspector: set-up, run, test, benchmark.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SAMPLE := resources/samples/two_input_two_output.keras

export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: run test test-e2e fuzz bench screenshots samples clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test,ray]"
	touch $(STAMP)

$(SAMPLE): | $(STAMP)
	$(PY) resources/build_samples.py

samples: $(STAMP)
	$(PY) resources/build_samples.py

run: $(STAMP) $(SAMPLE)
	$(PY) main.py $(SAMPLE)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest --ignore=tests/e2e

# Ten thousand mutated model files: each must open or be refused with a reason (make test runs 300).
fuzz: $(STAMP)
	FUZZ_CASES=10000 $(PY) -m pytest -s tests/model/test_fuzz_loading.py

# Whole workflows clicked through on a real X server (Xvfb) with Qt's xcb platform.
XVFB := xvfb-run --auto-servernum --server-args="-screen 0 1920x1080x24"

test-e2e: $(STAMP) $(SAMPLE)
	QT_QPA_PLATFORM=xcb $(XVFB) $(PY) -m pytest tests/e2e

# On a real X server when xvfb-run is there (offscreen painting hides real paint costs).
bench: $(STAMP)
	if command -v xvfb-run >/dev/null; then QT_QPA_PLATFORM=xcb $(XVFB) $(PY) bench/run.py; \
	else QT_QPA_PLATFORM=offscreen $(PY) bench/run.py; fi

screenshots: $(STAMP) $(SAMPLE)
	QT_QPA_PLATFORM=xcb $(XVFB) $(PY) docs/screenshots.py

clean:
	rm -rf $(VENV) bench/models bench/results.json
