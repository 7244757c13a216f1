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

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/frontend"
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
	addr := func(node, kind int) string {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(*basePort+kind*10+node))
	}
	const nodes = 3
	var started []*backend.Node
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i := len(started) - 1; i >= 0; i-- {
			if err := started[i].Shutdown(sctx); err != nil {
				log.Warn("shutdown", "node", started[i].ID(), "err", err)
			}
		}
	}()
	for i := range nodes {
		id := "b" + strconv.Itoa(i+1)
		var join []string
		for j := range nodes {
			if j != i {
				join = append(join, addr(j, 1))
			}
		}
		n, err := backend.Start(backend.Config{
			ID: id, DataDir: filepath.Join(dir, id),
			RaftAddr: addr(i, 0), SerfAddr: addr(i, 1), GRPCAddr: addr(i, 2), HTTPAddr: addr(i, 3),
			Join: join, BootstrapExpect: nodes, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("dev: start %s: %w", id, err)
		}
		started = append(started, n)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	leader, err := started[0].Store().WaitForLeader(wctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped (Ctrl-C) before the cluster was up
		}
		return fmt.Errorf("dev: cluster did not elect a leader: %w", err)
	}
	var grpcAddrs []string
	for _, n := range started {
		grpcAddrs = append(grpcAddrs, n.GRPCAddr())
	}
	fe, err := frontend.Start(frontend.Config{ID: "f1", HTTPAddr: *httpAddr, Backends: grpcAddrs, Logger: log})
	if err != nil {
		return fmt.Errorf("dev: start frontend: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := fe.Shutdown(sctx); err != nil {
			log.Warn("shutdown frontend", "err", err)
		}
	}()
	fmt.Fprintf(stdout, "gallows dev: %d backends up, leader %s, data in %s\n", nodes, leader, dir)
	for _, n := range started {
		fmt.Fprintf(stdout, "  backend %s  grpc %s  admin http://%s/readyz\n", n.ID(), n.GRPCAddr(), n.HTTPAddr())
	}
	fmt.Fprintf(stdout, "\nPlay at %s  (cluster panel: %s/cluster)\nPress Ctrl-C to stop.\n", fe.URL(), fe.URL())
	errc := make(chan error, len(started)+1)
	for _, n := range started {
		go func() { errc <- n.Wait(ctx) }()
	}
	go func() { errc <- fe.Wait(ctx) }()
	// Each returns nil once ctx is done (Ctrl-C), or a server's error.
	return <-errc
}
