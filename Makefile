# Two commands do everything on a fresh machine (Linux or macOS, Python 3.12, git):
#   make run    set up the environment if needed, then run the full default pipeline (dvc repro) and push to the remote
#   make test   set up the environment if needed, then run the test suite
SHELL := /bin/bash
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1
export DVC_NO_ANALYTICS := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test setup lock repro push server stop lint up down status deploy bench

run: setup repro push  ## the main job: full default pipeline, outputs pushed to the DVC remote

test: setup  ## the test suite (unit, data, model, end-to-end)
	bash scripts/ensure_chromium.sh && $(BIN)/python -m pytest

setup:  ## .venv on Python 3.12 from requirements.lock, or requirements-gpu.lock where a GPU is visible (GPU=1/0 forces)
	@PYTHON="$(PYTHON)" VENV="$(VENV)" GPU="$(GPU)" bash scripts/setup_env.sh

lock: setup  ## re-lock both lock files after editing dependencies in pyproject.toml
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --extra cpu --python-version 3.12 -o requirements.lock
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --extra gpu --constraint requirements.lock \
		--python-version 3.12 -o requirements-gpu.lock

repro: setup
	$(BIN)/dvc repro

push: setup
	$(BIN)/dvc push -q

server: setup  ## start (or reuse) the local Prefect server; UI at http://127.0.0.1:4200
	$(BIN)/python -m tasks.ops.stack start

stop:  ## stop the Prefect server and warm stage runners started from this checkout
	@test -x $(BIN)/python && $(BIN)/python -m tasks.ops.stack stop || true

up: setup  ## the local stack: Prefect server, `cpu` and `gpu` work pools and workers, deployments from prefect.yaml
	$(BIN)/python -m tasks.ops.stack up

down:  ## stop everything `make up` started (workers, server, warm runners), by PID
	@test -x $(BIN)/python && $(BIN)/python -m tasks.ops.stack down || true

status:  ## server health, processes started from this checkout, workers per pool
	@$(BIN)/python -m tasks.ops.stack status

deploy: setup  ## re-apply every deployment in prefect.yaml (resets schedules edited in the UI)
	$(BIN)/python -m tasks.ops.stack deploy --all

lint: setup
	$(BIN)/ruff check .

bench: setup  ## benchmark suite (in a temporary copy): overhead, no-op and per-stage cost, scale curve, families, GPU
	$(BIN)/python scripts/benchmark.py $(BENCH_ARGS)
