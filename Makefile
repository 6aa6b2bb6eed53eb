# kfp-mlsecops developer tasks. `make demo` and `make test` work on a bare machine with python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The venv is rebuilt when the dependency pins change.
STAMP := $(VENV)/.installed
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check -q
DEMO_DIR ?= demo-output

.PHONY: help venv dev demo test test-fast dist test-deps test-debs test-apiserver actionlint pytest compile check-compiled lint reformat image test-images sbom audit-deps kind-up kind-down test-cluster clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@echo ">> creating $(VENV) and installing kfp-mlsecops with pinned, tested versions (first time: ~1-2 min)"
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; install python3-venv (Debian: apt-get install python3-venv)"; exit 1; }
	@$(PIP_INSTALL) --upgrade pip
	@$(PIP_INSTALL) -c constraints.txt -e ".[runtime,dev,serving]"
	@touch $@

venv: $(STAMP) ## create .venv with the pinned, tested dependency set

dev: venv ## same as venv (editable install with dev tools)

demo: venv ## run the whole secure pipeline locally on the built-in digits data
	@$(BIN)/mlsecops run --output-dir $(DEMO_DIR)

test: venv test-deps check-compiled lint image pytest ## lint, check compiled YAML, build the images, run every test

# Quick feedback while editing: no whole-pipeline runs, no model training (marker slow), no images
# (container), no cluster or public Sigstore; make test runs them all.
test-fast: venv ## the quick tests only: no pipeline runs, training, images or cluster (~1-2 min)
	@$(BIN)/python -m pytest -q -m "not slow and not container and not cluster and not network"

dist: venv ## build the sdist and wheel into dist/ and check them with twine
	@rm -rf dist
	@$(BIN)/python -m build --no-isolation --outdir dist . >/dev/null
	@$(BIN)/python -m twine check --strict dist/*

# tests/monitoring runs Debian's Prometheus (with promtool) and Pushgateway for real, on loopback
# ports of its own; the packages' service scripts play no part. shellcheck checks the kind script.
TEST_DEB_PACKAGES := prometheus prometheus-pushgateway shellcheck
TEST_BINARIES := /usr/bin/prometheus /usr/bin/promtool /usr/bin/prometheus-pushgateway /usr/bin/shellcheck

test-deps: test-debs test-apiserver kfp-backend actionlint ## install/build what the tests run: Debian packages, a real kube-apiserver, KFP's backend check, actionlint

test-apiserver: ## build the test kube-apiserver from Go modules (cached; cold: ~5 min on 2 cores)
	@command -v go >/dev/null || { echo "error: Go is needed to build the test kube-apiserver (tests/infra/apiserver)"; exit 1; }
	@echo ">> building the test kube-apiserver (cached after the first build)"
	@tests/infra/apiserver/build.sh >/dev/null

# KFP 2.17.0's own backend (argo compiler, workflow validation) as a CLI, for
# tests/pipelines/test_kfp_backend.py. The KFP source comes from KFP_SOURCE (a git clone, a GitHub
# archive or a source tree), the cache, the Go module proxy or GitHub: tests/infra/kfp-backend.
.PHONY: kfp-backend
kfp-backend: ## build KFP's backend check from Go source (cached; cold: ~7-14 min on 2 cores)
	@command -v go >/dev/null || { echo "error: Go is needed to build kfp-backend-check (tests/infra/kfp-backend)"; exit 1; }
	@echo ">> building kfp-backend-check: KFP 2.17.0's argo compiler and validation (cached after the first build)"
	@rc=0; tests/infra/kfp-backend/build.sh >/dev/null || rc=$$?; \
	if [ $$rc = 3 ]; then echo "note: no KFP 2.17.0 Go source here (see above): the backend check is reported as not run; KFP_SOURCE=DIR make kfp-backend builds it"; \
	elif [ $$rc != 0 ]; then exit $$rc; fi

# actionlint v1.7.12 from its Go module, for tests/ci/test_workflow_example.py (the GitHub Actions
# example users copy). It runs shellcheck (test-debs) on every `run:` script.
actionlint: ## build actionlint from its Go module (cached; cold: ~30 s)
	@command -v go >/dev/null || { echo "error: Go is needed to build actionlint (tests/infra/actionlint)"; exit 1; }
	@tests/infra/actionlint/build.sh >/dev/null

test-debs:
	@missing=""; for b in $(TEST_BINARIES); do [ -x "$$b" ] || missing="$$missing $$b"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else echo "error: the tests need$$missing; install them: sudo apt-get install -y --no-install-recommends $(TEST_DEB_PACKAGES)"; exit 1; fi; \
	command -v apt-get >/dev/null || { echo "error: the tests need$$missing and apt-get is not available; install Prometheus $(TEST_DEB_PACKAGES) so those paths exist"; exit 1; }; \
	echo ">> installing $(TEST_DEB_PACKAGES) with apt-get (missing:$$missing)"; \
	$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $(TEST_DEB_PACKAGES)

pytest: venv
	@$(BIN)/python -m pytest

compile: venv ## write pipelines/*.yaml and components/*/component.yaml
	@$(BIN)/mlsecops compile

check-compiled: venv ## fail when the committed YAML is stale
	@$(BIN)/mlsecops compile --check

lint: venv ## ruff (style, docstrings, security rules) and mypy on the cores
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

reformat: venv ## apply ruff's formatting and safe fixes
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

image: ## build the component and predictor images (Docker; a debootstrap base unless BASE_IMAGE is set)
	@echo ">> building the component and predictor images (cached by a hash of their inputs; cold: ~4 min)"
	@tests/infra/images/build.sh >/dev/null

test-images: venv image ## build the images and run only the container tests (DockerRunner, predictor)
	@$(BIN)/python -m pytest -m container tests/infra/test_images.py

# Supply chain (docs/supply-chain.md): results go to build/supply-chain/ (gitignored).
SUPPLY_CHAIN_DIR ?= build/supply-chain
AUDIT_SERVICE ?= pypi

sbom: venv image ## CycloneDX JSON SBOMs of the component and predictor images (build/supply-chain)
	@$(BIN)/python supply-chain/sbom.py --output-dir $(SUPPLY_CHAIN_DIR) $$(tests/infra/images/build.sh)

audit-deps: venv ## audit constraints.txt for known vulnerabilities (pip-audit; fails on findings)
	@$(BIN)/python supply-chain/audit.py --service $(AUDIT_SERVICE) --output-dir $(SUPPLY_CHAIN_DIR)

# The offline kind cluster with KServe (tests/infra/kind/README.md). Cold, everything is built from
# Go modules and Debian packages (kind-up measured cold here: 15 min on 2 cores with the images
# already built); cached, kind-up takes about 2-3 minutes.
# MLSECOPS_KIND_SOURCE=public uses kind's public node image and KServe's release manifests instead.
kind-up: venv ## create the kind cluster with KServe (RawDeployment) and load our images
	@tests/infra/kind/kind-up.sh

kind-down: ## delete the kind cluster (the build caches stay)
	@tests/infra/kind/kind-down.sh

test-cluster: venv ## kind-up, run the cluster tests (marker cluster), kind-down (also on failure)
	@tests/infra/kind/kind-up.sh; up=$$?; status=$$up; \
	if [ $$up = 0 ]; then $(BIN)/python -m pytest -m cluster tests/cluster; status=$$?; fi; \
	tests/infra/kind/kind-down.sh; exit $$status

clean: ## remove the venv, caches and demo output
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache .mypy_cache
