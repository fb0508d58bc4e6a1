# The two commands: `make run` starts the demo wallboard, `make test` runs every test.
# Both create .venv with the project's own dependencies on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

run: $(VENV)/.run-deps
	$(BIN)/wallboard run $(ARGS)

# The test OpenID Connect provider (tests/oidc, Node.js): its node modules exactly as locked.
OIDC_MODULES := tests/oidc/node_modules/.installed

$(OIDC_MODULES): tests/oidc/package.json tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	touch $@

# The ES5 check of the TV scripts (tests/js, acorn): its node modules exactly as locked.
JS_MODULES := tests/js/node_modules/.installed

$(JS_MODULES): tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
	touch $@

# Browser tests drive Debian's Chromium (never a downloaded browser), the replica tests Debian's
# haproxy in front of three web processes; install what is missing when this user can (root, as
# on CI). Without them those tests fail.
CHROMIUM := $(shell command -v chromium 2>/dev/null)
HAPROXY := $(shell command -v haproxy 2>/dev/null || (test -x /usr/sbin/haproxy && echo /usr/sbin/haproxy))
MISSING := $(if $(CHROMIUM),,chromium)$(if $(HAPROXY),,haproxy)

test: $(VENV)/.test-deps $(OIDC_MODULES) $(JS_MODULES)
ifneq ($(MISSING),)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver haproxy >/dev/null; \
	else echo "chromium or haproxy is not installed and cannot be installed here (need root and apt-get)"; fi
endif
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .wallboard .pytest_cache .hypothesis
