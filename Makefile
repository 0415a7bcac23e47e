# The two commands in the README: `make demo` and `make test`.
# Each one sets everything up first (scripts/setup.sh is idempotent).
.PHONY: setup demo test test-all bench

setup:
	@bash scripts/setup.sh

demo: setup
	@.venv/bin/python scripts/demo.py

test: setup
	@HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q

test-all: setup
	@HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -m ""
