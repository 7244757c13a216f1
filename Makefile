# Gallows: Hangman on a Raft cluster. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 20m
PROTO_DIR := proto/gallows/v1
BIN := bin/gallows
# VERSION is what gallows --version prints.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: generate
generate: ## Regenerate the protobuf and templ Go code.
	protoc --proto_path=$(PROTO_DIR) \
		--plugin=protoc-gen-go=$$($(GO) tool -n protoc-gen-go) \
		--plugin=protoc-gen-go-grpc=$$($(GO) tool -n protoc-gen-go-grpc) \
		--go_out=$(PROTO_DIR) --go_opt=paths=source_relative \
		--go-grpc_out=$(PROTO_DIR) --go-grpc_opt=paths=source_relative \
		$(PROTO_DIR)/*.proto
	$(GO) tool templ generate -path web

.PHONY: build
build: ## Build the static gallows binary into bin/.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/gallows

.PHONY: test
test: ## Run every test with the race detector (20 fault runs included), each fuzz target briefly, then the process failover and container chaos tests.
	GALLOWS_CHAOS= $(GO) test $(GOTEST_FLAGS) -skip '^(TestProcessesFailOver|TestDevFaultButtons|TestDevQuietStartStop)$$' ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5s
	@# Failover is timed, and gallows dev's start and stop must log no
	@# warning: they run alone, not beside the other packages' load.
	$(GO) test $(GOTEST_FLAGS) -run '^(TestProcessesFailOver|TestDevFaultButtons|TestDevQuietStartStop)$$' ./cmd/gallows
	@$(MAKE) --no-print-directory test-chaos

.PHONY: bench
bench: ## Run the benchmarks (see docs/BENCHMARKS.md).
	$(GO) test -run '^$$' -bench . -benchtime 5s ./internal/bench

# FUZZ_TARGETS lists every fuzz target as package:name. go test takes one
# -fuzz target per run, so `make fuzz` runs them one after the other; it
# goes on past a failing one, so that one failure hides no other, and fails
# at the end.
FUZZTIME ?= 10s
FUZZ_TARGETS := \
	./backend/game:FuzzApplyGuess \
	./backend/game:FuzzApplySequence \
	./backend/game:FuzzRestore \
	./backend/game:FuzzRestoreThenApply \
	./backend/internal/store:FuzzFSMApply \
	./backend/internal/store:FuzzFSMRestore \
	./frontend/internal/handlers:FuzzAPIRequest \
	./frontend/internal/handlers:FuzzWSMessage

.PHONY: fuzz
fuzz: ## Run every fuzz target briefly (FUZZTIME each, default 10s).
	@failed=; \
	for target in $(FUZZ_TARGETS); do \
	  pkg=$${target%%:*}; name=$${target##*:}; \
	  echo "== $$name ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed" >&2; exit 1; fi

SOAK_RUNS ?= 300

.PHONY: soak
soak: ## Run SOAK_RUNS (default 300) randomized fault runs, each checked, and print their table (about 10 s a run).
	set -o pipefail; GALLOWS_TEST_LOG=error $(GO) test -race -count=1 -timeout 0 -v -run '^TestFaultRuns$$' ./backend \
		-args -fault-runs=$(SOAK_RUNS) | grep -v '^=== RUN'

.PHONY: check
check: ## Verify generated code, go.mod tidiness, gofmt, vet, staticcheck and import rules.
	./scripts/check.sh

.PHONY: dev
dev: ## Run the whole system on loopback: 3 backend processes and a frontend at :8080, with fault buttons on /cluster.
	$(GO) run ./cmd/gallows dev --fault-buttons

# ---- Containers (docker-compose.yml) ----------------------------------------
# The image is FROM scratch with the static binary, so nothing is pulled.
# COMPOSE is `docker compose` (v2) where it works, else `docker-compose` (v1).
IMAGE ?= gallows:latest
COMPOSE_PROJECT ?= gallows
COMPOSE ?= $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; \
	elif docker-compose version >/dev/null 2>&1; then echo docker-compose; fi)
DC = GALLOWS_IMAGE=$(IMAGE) GALLOWS_CERTS_DIR=$(abspath $(CERTS_DIR)) $(COMPOSE) -p $(COMPOSE_PROJECT)
FRONTEND1_PORT = $(or $(GALLOWS_FRONTEND1_PORT),8080)
FRONTEND2_PORT = $(or $(GALLOWS_FRONTEND2_PORT),8081)
# CERTS_DIR holds what the containers run secured with (git-ignored);
# `make certs` creates what is missing there.
CERTS_DIR ?= $(or $(GALLOWS_CERTS_DIR),certs)
STATUS_FLAGS = --certs-dir $(CERTS_DIR)
STATUS_BACKENDS = 127.0.0.1:$(or $(GALLOWS_BACKEND1_GRPC_PORT),9101),127.0.0.1:$(or $(GALLOWS_BACKEND2_GRPC_PORT),9102),127.0.0.1:$(or $(GALLOWS_BACKEND3_GRPC_PORT),9103)
CHAOS_FLAGS ?= -race -count=1 -timeout 20m -v

# container_of prints the id of service $(1)'s container, running or not.
container_of = docker ps -a -q --filter label=com.docker.compose.project=$(COMPOSE_PROJECT) --filter label=com.docker.compose.service=$(1)

# admin_addr is backend $(1)'s published admin address.
admin_addr = 127.0.0.1:$(or $(GALLOWS_BACKEND$(1)_HTTP_PORT),810$(1))

# wait_ready polls /readyz at each host:port of $(1) (through the published
# ports) until all answer 200, for at most $(2) seconds, with the healthcheck
# flags $(3) (backends: --https and a certificate). A backend is ready once
# it knows a leader and has applied what is committed; a frontend once a
# backend has told it who leads.
define wait_ready
	@deadline=$$((SECONDS+$(2))); \
	for addr in $(1); do \
	  until $(BIN) healthcheck $(3) --addr $$addr --path /readyz 2>/dev/null; do \
	    if [ $$SECONDS -ge $$deadline ]; then \
	      echo "$$addr is not ready after $(2) s; see: make logs" >&2; exit 1; \
	    fi; \
	    sleep 0.5; \
	  done; \
	done
endef

.PHONY: need-compose
need-compose:
	@if [ -z "$(COMPOSE)" ]; then \
	  echo "make: neither 'docker compose' nor 'docker-compose' works here: install Docker Compose" >&2; exit 1; \
	fi

.PHONY: image
image: build ## Build the container image (FROM scratch + bin/gallows).
	docker build -t $(IMAGE) .

.PHONY: certs
certs: build ## Create what is missing in certs/: a CA, backend and frontend certificates, gossip and session keys.
	@$(BIN) tls dev --out $(CERTS_DIR) --host backend-1,backend-2,backend-3,frontend-1,frontend-2 >/dev/null
	@echo "certificates and keys in $(CERTS_DIR)/"

.PHONY: up
up: image certs need-compose ## Start 3 backends + 2 frontends in containers, wait until ready, print the URLs.
	$(DC) up -d
	@echo "waiting until every node is ready..."
	$(call wait_ready,$(call admin_addr,1) $(call admin_addr,2) $(call admin_addr,3),180,--https --certs-dir $(CERTS_DIR))
	$(call wait_ready,127.0.0.1:$(FRONTEND1_PORT) 127.0.0.1:$(FRONTEND2_PORT),180)
	@echo
	@echo "Gallows is up. Play at http://localhost:$(FRONTEND1_PORT) and http://localhost:$(FRONTEND2_PORT)"
	@echo "Cluster panel:  http://localhost:$(FRONTEND1_PORT)/cluster"
	@echo "Backends:       gRPC $(STATUS_BACKENDS)"
	@echo
	@$(BIN) status --wait 10s $(STATUS_FLAGS) --backends $(STATUS_BACKENDS)

.PHONY: down
down: need-compose ## Stop and remove the containers; the Raft data stays in volumes.
	$(DC) down

.PHONY: clean-volumes
clean-volumes: need-compose ## Remove the containers and their Raft data (compose down -v).
	$(DC) down -v

.PHONY: logs
logs: need-compose ## Follow the containers' logs (Ctrl-C stops following).
	$(DC) logs -f --tail 100

.PHONY: status
status: build ## Show every backend's role, term and indexes, and who leads.
	@$(BIN) status $(STATUS_FLAGS) --backends $(STATUS_BACKENDS)

.PHONY: kill-leader
kill-leader: build ## SIGKILL the leader's container, then show the new leader.
	@leader=$$($(BIN) status --leader --wait 10s $(STATUS_FLAGS) --backends $(STATUS_BACKENDS)) || exit 1; \
	svc=backend-$${leader#b}; id=$$($(call container_of,$$svc)); \
	if [ -z "$$id" ]; then echo "no container for $$svc in project $(COMPOSE_PROJECT)" >&2; exit 1; fi; \
	down=$$($(BIN) status $(STATUS_FLAGS) --backends $(STATUS_BACKENDS) | awk '$$2 == "down" {print $$1}' | tr '\n' ' '); \
	if [ -n "$$down" ]; then echo "warning: $$down is down already; without $$leader there is no quorum and the game stops until a node comes back"; fi; \
	start=$$(date +%s%N) && docker kill $$id >/dev/null && \
	echo "killed $$svc ($$leader, the leader) with SIGKILL; bring it back with: make restart-node N=$${leader#b}" && \
	$(BIN) status --wait 10s $(STATUS_FLAGS) --backends $(STATUS_BACKENDS) && \
	echo "(new leader seen $$(( ($$(date +%s%N) - start) / 1000000 )) ms after the kill)"

.PHONY: restart-node
restart-node: build need-compose ## Restart backend N, e.g. make restart-node N=2; wait until it caught up.
	@case "$(N)" in 1|2|3) ;; *) echo "usage: make restart-node N=1, N=2 or N=3" >&2; exit 2;; esac
	$(DC) restart backend-$(N)
	@echo "waiting until backend-$(N) has caught up..."
	$(call wait_ready,$(call admin_addr,$(N)),120,--https --certs-dir $(CERTS_DIR))
	@$(BIN) status --wait 60s --caught-up b$(N) $(STATUS_FLAGS) --backends $(STATUS_BACKENDS)

.PHONY: test-chaos
test-chaos: ## Build the image, then kill, pause and cut off containers while clients play (needs Docker).
	@if docker info >/dev/null 2>&1 && [ -n "$(COMPOSE)" ]; then \
	  $(MAKE) --no-print-directory image; \
	else \
	  echo "test-chaos: Docker or compose is missing; the test will skip (or fail with CI=true)"; \
	fi
	GALLOWS_CHAOS=1 GALLOWS_IMAGE=$(IMAGE) $(GO) test $(CHAOS_FLAGS) -run '^TestChaos$$' ./internal/chaostest
