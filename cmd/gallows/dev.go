package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gallows-game/gallows/internal/localcluster"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "keep the cluster's data here (default: a temp dir, removed on exit)")
	basePort := fs.Int("base-port", 17000, "first of the loopback ports the backends use (3 backends x 4 ports)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "where the frontend serves the game")
	var level levelFlag
	level.LevelVar.Set(slog.LevelWarn)
	fs.Var(&level, "log-level", "debug, info, warn or error")
	if err := parse(fs, args, stderr, "gallows dev: the whole system (3 backends, 1 frontend) on loopback in one command."); err != nil {
		return err
	}
	if *basePort < 1024 || *basePort+32 > 65535 {
		return fmt.Errorf("dev: --base-port %d: want 1024 to %d (the backends use the 33 ports from it)", *basePort, 65535-32)
	}
	if err := portsFree(*httpAddr, *basePort); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	log := newLogger(stderr, &level)
	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "gallows-dev-")
		if err != nil {
			return fmt.Errorf("dev: temp dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	const nodes = 3
	// Start bounds only the wait for a leader; the stop below has its own.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := localcluster.Start(wctx, localcluster.Config{
		Backends: nodes, Frontends: 1, Dir: dir, BasePort: *basePort, FrontendAddrs: []string{*httpAddr}, Logger: log,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped (Ctrl-C) before the cluster was up
		}
		return fmt.Errorf("dev: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := c.Shutdown(sctx); err != nil {
			log.Warn("shutdown", "err", err)
		}
	}()
	leader, err := c.Leader(wctx)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	url := c.URLs()[0]
	fmt.Fprintf(stdout, "gallows dev: %d backends up, leader %s, data in %s\n", nodes, leader.ID(), dir)
	for _, n := range c.Running() {
		fmt.Fprintf(stdout, "  backend %s  grpc %s  admin https://%s/readyz\n", n.ID(), n.GRPCAddr(), n.HTTPAddr())
	}
	fmt.Fprintf(stdout, "  certificates and keys in %s (gallows status --certs-dir %s --backends %s)\n",
		filepath.Dir(c.Certs().CA), filepath.Dir(c.Certs().CA), c.Running()[0].GRPCAddr())
	fmt.Fprintf(stdout, "\nPlay at %s  (cluster panel: %s/cluster)\nPress Ctrl-C to stop.\n", url, url)
	// nil once ctx is done (Ctrl-C), or a server's error.
	return c.Wait(ctx)
}

// portsFree reports the first port dev needs that another program holds:
// the frontend's address, then each backend's Raft, serf, gRPC and admin
// ports from base, before anything starts.
func portsFree(httpAddr string, base int) error {
	check := func(addr, flagName string) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s is in use (another gallows dev?): choose another with %s", addr, flagName)
		}
		return ln.Close()
	}
	if err := check(httpAddr, "--http-addr"); err != nil {
		return err
	}
	for _, offset := range []int{0, 10, 20, 30} {
		for i := range 3 {
			if err := check(net.JoinHostPort("127.0.0.1", strconv.Itoa(base+offset+i)), "--base-port"); err != nil {
				return err
			}
		}
	}
	return nil
}
