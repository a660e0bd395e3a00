# gridgeo: `make demo` runs the product on the sample city, `make test` runs the tests.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup system venv demo serve test lint db-up db-down samples clean

setup: system venv

system:
	bash scripts/setup-system.sh

venv:
	bash scripts/setup-venv.sh

demo: setup
	$(BIN)/gridgeo demo

serve: setup
	$(BIN)/gridgeo serve

db-up: venv
	$(BIN)/gridgeo db up

db-down:
	$(BIN)/gridgeo db down

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

test: setup
	$(BIN)/gridgeo db up
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

samples: venv
	$(BIN)/gridgeo samples build --out data/samples

clean:
	-$(BIN)/gridgeo db down
	rm -rf .gridgeo .pytest_cache .mypy_cache .ruff_cache
