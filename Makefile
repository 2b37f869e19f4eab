# The two commands of the README: `make run` and `make test`. Everything they need is installed
# into .venv from the package index by pinned version; nothing else is downloaded.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export ZIG_GLOBAL_CACHE_DIR ?= $(HOME)/.cache/edgewise/zig
TYPED := edgewise.host edgewise.storage edgewise.client edgewise.regions

.PHONY: run test lint typecheck unit examples clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

examples: $(VENV)/.installed
	$(VENV)/bin/edgewise build examples/*/

# `edgewise dev` builds every folder of examples/ itself before it serves them.
run: $(VENV)/.installed
	$(VENV)/bin/edgewise dev

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# mypy cannot follow setuptools' editable finder, so it checks a tree of symlinks that has the
# installed layout (edgewise/host -> host/, ...).
typecheck: $(VENV)/.installed
	rm -rf build/typecheck && mkdir -p build/typecheck/edgewise
	for p in host storage client regions; do ln -s ../../../$$p build/typecheck/edgewise/$$p; done
	cd build/typecheck && MYPYPATH=. ../../$(PY) -m mypy --strict --explicit-package-bases \
		$(foreach p,$(TYPED),-p $(p))
	MYPYPATH=guest-sdk/python $(PY) -m mypy --strict --cache-dir build/mypy-guests \
		guest-sdk/python/edgewise_actor examples/*/*.py tests/guests/*/*.py

test: lint typecheck examples
	$(PY) -m pytest -q --timeout=300 tests

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache examples/*/out
