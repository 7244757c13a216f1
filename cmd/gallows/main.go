// Command gallows runs the Gallows game cluster: backend nodes, frontends,
// the whole cluster on loopback for development, a benchmark, the
// container health check, and the certificates and gossip keys a secured
// cluster runs on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

const usage = `gallows: Hangman on a Raft cluster.

Usage:
  gallows dev          run 3 backends and a frontend on loopback (data in a temp dir)
  gallows backend      run one backend node
  gallows frontend     serve the game to browsers, talking to the backends
  gallows bench        measure guesses/s against raw Raft on a loopback cluster
  gallows healthcheck  exit 0 if the node at --addr is healthy (for containers)
  gallows status       who leads the backend cluster, and every node's state
  gallows tls          create a CA and node certificates (tls ca, tls cert)
  gallows gossip-key   print a new gossip encryption key
  gallows keyring      list, install, use or remove gossip keys on every backend

Run "gallows <command> --help" for the flags of a command, and
"gallows --version" for the version. Every flag can
also be set by an environment variable GALLOWS_<FLAG>, e.g. GALLOWS_DATA_DIR.
`

// version is the build's version: make build sets it from git describe.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gallows:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	switch args[0] {
	case "backend":
		return runBackend(ctx, args[1:], stderr)
	case "frontend":
		return runFrontend(ctx, args[1:], stderr)
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], stderr)
	case "status":
		return runStatus(ctx, args[1:], stdout, stderr)
	case "tls":
		return runTLS(args[1:], stdout, stderr)
	case "gossip-key":
		return runGossipKey(args[1:], stdout, stderr)
	case "keyring":
		return runKeyring(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		_, err := fmt.Fprintf(stdout, "gallows %s (%s)\n", version, runtime.Version())
		return err
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
