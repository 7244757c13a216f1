#!/usr/bin/env bash
# Checks that need no test run: generated code is current, go.mod is tidy,
# gofmt, vet and staticcheck are clean, and the import rules of the layout
# hold.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=github.com/gallows-game/gallows
fail=0
problem() { echo "check: $*" >&2; fail=1; }

# 1. Generated code (protobuf, templ) matches its sources.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protoc --proto_path=proto/gallows/v1 \
  --plugin=protoc-gen-go="$(go tool -n protoc-gen-go)" \
  --plugin=protoc-gen-go-grpc="$(go tool -n protoc-gen-go-grpc)" \
  --go_out="$tmp" --go_opt=paths=source_relative \
  --go-grpc_out="$tmp" --go-grpc_opt=paths=source_relative \
  proto/gallows/v1/*.proto
for f in "$tmp"/*.go; do
  cmp -s "$f" "proto/gallows/v1/$(basename "$f")" || problem "proto/gallows/v1/$(basename "$f") is stale: run make generate"
done
for f in proto/gallows/v1/*.pb.go; do
  [ -f "$tmp/$(basename "$f")" ] || problem "$f has no .proto source"
done

mkdir -p "$tmp/web"
cp web/*.templ "$tmp/web/"
go tool templ generate -path "$tmp/web" >/dev/null 2>&1 || problem "templ generate failed"
for f in "$tmp"/web/*_templ.go; do
  cmp -s "$f" "web/$(basename "$f")" || problem "web/$(basename "$f") is stale: run make generate"
done
for f in web/*_templ.go; do
  [ -f "$tmp/web/$(basename "$f")" ] || problem "$f has no .templ source"
done

# 2. go.mod and go.sum are tidy.
go mod tidy -diff >/dev/null 2>&1 || problem "go.mod/go.sum are not tidy: run go mod tidy"

# 3. gofmt, vet and staticcheck (pinned in go.mod as a tool).
unformatted=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
[ -z "$unformatted" ] || problem "gofmt would change: $unformatted"
go vet ./... || problem "go vet failed"
go tool staticcheck ./... || problem "staticcheck failed"

# 4. Import rules (see README, "Layout").
deps() { go list -deps "$@" 2>/dev/null; }
bad=$(deps ./backend/game/... | grep -v "^$mod/backend/game" | grep '\.' || true)
[ -z "$bad" ] || problem "backend/game must import only the standard library, found: $bad"
bad=$(deps ./proto/... | grep "^$mod/" | grep -v "^$mod/proto/" || true)
[ -z "$bad" ] || problem "proto imports project packages: $bad"
if [ -d frontend ]; then
  bad=$(deps ./frontend/... | grep "^$mod/backend" || true)
  [ -z "$bad" ] || problem "frontend imports backend packages: $bad"
fi
bad=$(deps ./backend/... | grep -E "^$mod/(frontend|web)" || true)
[ -z "$bad" ] || problem "backend imports frontend packages: $bad"
bad=$(deps ./gameclient/... | grep "^$mod/" | grep -v -E "^$mod/(gameclient|proto)" || true)
[ -z "$bad" ] || problem "gameclient must import only proto of ours: $bad"
# The local cluster and the benchmark start whole systems: tests, gallows
# dev and gallows bench use them; the servers and the client never do.
bad=$(deps ./backend/... ./frontend/... ./gameclient/... ./web/... ./proto/... | grep -E "^$mod/internal/(localcluster|bench)$" || true)
[ -z "$bad" ] || problem "backend, frontend, gameclient, web and proto must not import $bad (only tests and cmd/gallows do)"
if [ -d web ]; then
  bad=$(deps ./web/... | grep -E "^($mod/proto|$mod/backend|google.golang.org/grpc)" || true)
  [ -z "$bad" ] || problem "web must take view models, not proto/gRPC/backend: $bad"
fi

[ "$fail" = 0 ] && echo "check: ok"
exit "$fail"
