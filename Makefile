# Gallows: Hangman on a Raft cluster. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 20m
PROTO_DIR := proto/gallows/v1
BIN := bin/gallows

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

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
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/gallows

.PHONY: test
test: ## Run every test with the race detector.
	$(GO) test $(GOTEST_FLAGS) ./...

.PHONY: bench
bench: ## Run the benchmarks (see docs/BENCHMARKS.md).
	$(GO) test -run '^$$' -bench . -benchtime 5s ./backend/...

.PHONY: check
check: ## Verify generated code, go.mod tidiness, gofmt, vet and import rules.
	./scripts/check.sh

.PHONY: dev
dev: ## Run the whole system on loopback: 3 backends and a frontend at :8080.
	$(GO) run ./cmd/gallows dev
