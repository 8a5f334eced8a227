# Five verbs; each creates .venv and installs the project's own dependencies first.
PY := .venv/bin/python

.venv/bin/python:
	python3 -m venv .venv
	.venv/bin/pip install -q -e './generated[cli,testing]' -e '.[dev]'

.PHONY: run generate check demo lint test bench picture
run: generate check demo               ## the main job: regenerate, prove it is up to date, run it against the fake
demo: .venv/bin/python
	$(PY) -m kling_sdk.testing demo --out out
generate: .venv/bin/python
	$(PY) -m codegen generate
check: .venv/bin/python
	$(PY) -m codegen check
lint: .venv/bin/python
	$(PY) -m ruff format --check . && $(PY) -m ruff check . && $(PY) -m mypy
test: .venv/bin/python
	$(PY) -m pytest
bench: .venv/bin/python
	$(PY) bench/bench_generate.py
	$(PY) bench/bench_runtime.py
	$(PY) bench/bench_batch.py
picture: .venv/bin/python              ## docs/live-display.svg, the README's picture of the live display
	$(PY) scripts/live_display_svg.py
