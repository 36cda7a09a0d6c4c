# Yibao Wallet — one command to run, one to test. See README.md.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: system-deps system-deps-test system-deps-bench run test frontend-test test-postgres test-sqlite install install-dev frontend build-mp migrate seed check-deploy bench clean

$(VENV)/.installed: requirements.txt
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

FRONTEND_SRC := $(shell find frontend/src -type f 2>/dev/null) frontend/vite.config.ts frontend/package.json
frontend/dist/build/h5/index.html: frontend/node_modules/.installed $(FRONTEND_SRC)
	cd frontend && npm run --silent build:h5

frontend: frontend/dist/build/h5/index.html

build-mp: frontend/node_modules/.installed
	cd frontend && npm run --silent build:mp-weixin && npm run --silent build:mp-alipay
	@echo "mini-program packages: frontend/dist/build/mp-weixin  frontend/dist/build/mp-alipay"

system-deps:
	@./scripts/system-deps.sh

system-deps-test:
	@./scripts/system-deps.sh --test

system-deps-bench:
	@./scripts/system-deps.sh --bench

run: system-deps install frontend
	$(VPY) scripts/run.py --host $(HOST) --port $(PORT)

frontend-test: frontend/node_modules/.installed
	cd frontend && npm run --silent type-check && npm run --silent test

test: system-deps-test install-dev frontend frontend-test
	$(VPY) scripts/testenv.py --db postgres -- $(VPY) -m pytest tests
	$(VPY) scripts/testenv.py --db sqlite -- $(VPY) -m pytest -m db tests

test-postgres: system-deps-test install-dev frontend
	$(VPY) scripts/testenv.py --db postgres -- $(VPY) -m pytest tests $(ARGS)

test-sqlite: system-deps-test install-dev frontend
	$(VPY) scripts/testenv.py --db sqlite -- $(VPY) -m pytest -m db tests $(ARGS)

check-deploy: install
	YIBAO_ENV=production SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
	FIELD_ENCRYPTION_KEY=$$($(VPY) -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())') \
	AUDIT_CHECKPOINT_KEY=$$(head -c 48 /dev/urandom | base64) AUDIT_CHECKPOINT_FILE=/var/lib/yibao/audit-checkpoints.jsonl \
	CORE_API_SECRET=x DATABASE_URL=postgres://u@localhost/yibao CORE_DATABASE_URL=postgres://u@localhost/core \
	REDIS_URL=redis://localhost:6379/0 SETTLEMENT_CORE_URL=https://core.example.cn ALLOWED_HOSTS=wallet.example.cn \
	$(VPY) manage.py check --deploy --fail-level WARNING

bench: system-deps-bench install-dev
	@echo "see bench/README.md"

clean:
	rm -rf var frontend/dist
