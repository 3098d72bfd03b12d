# K12 Perform: `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
UV_VERSION := 0.13.8
PY := .venv/bin/python
UV := .tools/bin/uv

.PHONY: install run test token bench migrate check clean-db

$(UV):  # uv, pinned, in a private tools venv: nothing installed on the machine itself
	python3 -m venv .tools && .tools/bin/pip install --quiet "uv==$(UV_VERSION)"

install: $(UV)
	@$(UV) sync --frozen --quiet --python python3

run: install  ## the whole platform with demo data on :8000
	@bash infra/run.sh

test: install  ## the whole suite against a real PostgreSQL
	@bash infra/test.sh $(ARGS)

token: install  ## make token ROLE=district_admin [DISTRICT=096088]
	@$(PY) infra/dev_token.py --role "$(ROLE)" $(if $(DISTRICT),--district "$(DISTRICT)")

bench: install  ## benchmarks; writes bench-results.json (make bench ARGS=ingest for one)
	@bash infra/bench.sh $(ARGS)

migrate: install
	@$(PY) -m k12shared.migrate upgrade

clean-db:  ## stop and delete the embedded databases
	-@$(PY) infra/devdb.py stop
	-@$(PY) infra/devdb.py stop --data .data/pg-test
	rm -rf .data/pg .data/pg-test .data/pg-bench
