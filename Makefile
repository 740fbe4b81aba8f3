# LoanDesk. `make test` needs only Docker (with Compose v2) and make: every
# toolchain runs in a container. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TEST_PROJECT := loandesk-test
DC_TEST := docker compose -p $(TEST_PROJECT) --profile test

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-14s %s\n", $$1, $$2 }'

.PHONY: up
up: ## start the whole stack on http://localhost:8080
	docker compose up --build --wait

.PHONY: down
down: ## stop the stack (keeps the data volumes)
	docker compose down

.PHONY: test
test: lint test-rules test-images test-go test-restore test-web test-aws diagram-check test-e2e test-chaos test-site test-swarm test-gitlab ## every test tier; fails on any failure
	@echo "make test: all tiers passed"

.PHONY: test-go
test-go: ## Go vet, unit, fuzz-seed and integration tests on real PostgreSQL and Valkey
	@# Keeps the module and build cache volumes; drops the database volumes.
	@trap '$(DC_TEST) down --remove-orphans >/dev/null 2>&1; \
	       docker volume rm -f $(TEST_PROJECT)_pgdata $(TEST_PROJECT)_valkeydata >/dev/null' EXIT; \
	$(DC_TEST) run --rm gotest

.PHONY: test-restore
test-restore: ## a backup restored to a point in time (pgBackRest, WAL archive): exactly the filings before it
	@. ./.env && docker build -q --build-arg "GO_IMAGE=$$GO_IMAGE" --build-arg "POSTGRES_IMAGE=$$POSTGRES_IMAGE" -t loandesk/postgres:dev deploy/postgres >/dev/null && \
	  docker build -q --build-arg "GO_IMAGE=$$GO_IMAGE" --build-arg DB_IMAGE=loandesk/postgres:dev \
	    -f tools/restoredrill/Dockerfile -t loandesk/restoredrill:dev . >/dev/null
	docker run --rm --read-only --tmpfs /tmp --tmpfs /var/lib/drill:uid=999,gid=999,mode=0700 loandesk/restoredrill:dev

.PHONY: test-web
test-web: ## SPA type check and Vitest tests
	$(DC_TEST) run --rm webtest

.PHONY: test-e2e
test-e2e: ## the whole stack in Chromium (compose up, phases, down -v)
	bash e2e/run.sh

.PHONY: test-chaos
test-chaos: ## crashes, outages and abuse under load: every filing kept, every limit held; the alerts reach a webhook (≤ 13 min)
	bash tools/chaos/run.sh

.PHONY: fuzz
fuzz: ## fuzz request validation (FUZZTIME=60s)
	docker compose -p $(TEST_PROJECT) --profile test run --rm --no-deps gotest \
		go test -run '^$$' -fuzz FuzzValidate -fuzztime $${FUZZTIME:-60s} ./internal/domain

TOOLBOX := $(DC_TEST) run --rm toolbox

.PHONY: toolbox
toolbox:
	@$(DC_TEST) build toolbox

.PHONY: lint
lint: toolbox ## shellcheck, actionlint, one source for every pin, Redocly on every API contract
	$(TOOLBOX) bash tools/lint.sh
	$(DC_TEST) run --rm apilint

.PHONY: test-rules
test-rules: toolbox ## promtool: the SLO rules load, each alert fires on its series and not on its blip, each runbook link has its section
	$(TOOLBOX) sh -c 'promtool check rules deploy/prometheus/slo.rules.yml && cd deploy/prometheus && promtool test rules slo.rules.test.yml && \
	  for a in $$(grep -o "operations.md#[a-z]*" slo.rules.yml | cut -d"#" -f2 | sort -u); do \
	    grep -qix "### $$a" ../../docs/operations.md || { echo "runbook section for $$a missing in docs/operations.md"; exit 1; }; done'

.PHONY: test-images
test-images: toolbox ## the pinned base images keep the contract the product relies on (uids, paths, encoding, tools)
	$(DC_TEST) run --rm -v /var/run/docker.sock:/var/run/docker.sock toolbox go run ./tools/imagecontract

.PHONY: test-aws
test-aws: toolbox ## the Pulumi program's tests, with mocks, offline
	$(TOOLBOX) sh -c 'cd deploy/aws && go vet ./... && go test -count=1 ./...'

.PHONY: diagram
diagram: toolbox ## regenerate docs/architecture.{dot,png,svg}
	$(TOOLBOX) bash tools/diagram.sh

.PHONY: diagram-check
diagram-check: toolbox ## fail if the committed diagram is stale
	$(TOOLBOX) bash tools/diagram.sh --check

.PHONY: aws-deploy
aws-deploy: ## build, push, migrate and roll out on AWS (STACK=prod; see docs/aws.md)
	bash deploy/aws/deploy.sh

.PHONY: aws-destroy
aws-destroy: ## tear the AWS stack down (STACK=prod); see docs/aws.md first
	cd deploy/aws && pulumi stack select $(STACK) && pulumi destroy

.PHONY: site-release
site-release: ## Part 3: build, test, push, deploy and smoke-test the site on a local Swarm (http://127.0.0.1:8088)
	bash deploy/swarm/rehearse.sh

.PHONY: test-site
test-site: ## Part 3 proof: zero failed requests through an update and an automatic rollback
	bash deploy/swarm/test-rehearsal.sh

.PHONY: test-swarm
test-swarm: ## the app on three Swarm nodes under load: rollout, rollback, a node lost and back
	bash deploy/swarm/test-app-swarm.sh

.PHONY: test-gitlab
test-gitlab: ## .gitlab-ci.yml's site build, test and swarmwait and the app's publish, run for real by gitlab-ci-local
	bash tools/gitlab/run.sh

.PHONY: bench
bench: ## every path through the API and under pgbench, at 100k and 10M rows (BENCH_ARGS; ~60 min)
	bash tools/bench.sh

.PHONY: trace
trace: ## where a filing's time goes, from its traces (OTLP to tools/tracestat; TRACE_ARGS; ~3 min)
	bash tools/trace.sh
