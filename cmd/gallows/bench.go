package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/gallows-game/gallows/internal/bench"
)

// runBench measures guesses per second of a loopback Gallows cluster
// against raw Raft applies, and prints the report to stdout.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	clients := fs.Int("clients", bench.DefaultClients, "concurrent clients on each side")
	duration := fs.Duration("duration", bench.DefaultDuration, "how long each side is measured")
	runs := fs.Int("runs", 1, "how many comparisons to run, one after the other; with more than one, a table of all and the median ratio follow")
	dataDir := fs.String("data-dir", "", "keep the nodes' data here (with --runs, in run-1, run-2, …); must be empty (default: a temp dir, removed on exit)")
	reads := fs.Bool("reads", false, "measure room reads through a frontend instead, linearizable against stale, each client reading its own room while the rooms change")
	gossip := fs.Bool("gossip", false, "measure the scores gossip instead: how long a write on one node takes to reach every node, at 3 and 10 nodes, and its bytes per node per second at rest and under 100 writes/s")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file; each side's goroutines carry the label side=raft or side=gallows")
	var level levelFlag
	level.LevelVar.Set(slog.LevelWarn)
	fs.Var(&level, "log-level", "debug, info, warn or error")
	if err := parse(fs, args, stderr, "gallows bench: guesses/s of a 3-node loopback cluster against raw Raft applies, or (--reads) what linearizable reads cost."); err != nil {
		return err
	}
	if *runs < 1 {
		return fmt.Errorf("--runs %d: want at least 1", *runs)
	}
	// In a Config 0 means the default; on the command line it is a mistake.
	if *clients < 1 {
		return fmt.Errorf("--clients %d: want 1 to 1024", *clients)
	}
	if *duration <= 0 {
		return fmt.Errorf("--duration %v: must be positive", *duration)
	}
	if *gossip {
		fmt.Fprintf(stdout, "gallows bench --gossip: scores convergence and traffic; %d CPUs, %s\n", runtime.NumCPU(), runtime.Version())
		_, err := bench.Gossip(ctx, bench.GossipConfig{Dir: *dataDir, Logger: newLogger(stderr, &level)}, stdout)
		return err
	}
	cfg := bench.Config{Clients: *clients, Duration: *duration, Dir: *dataDir, Logger: newLogger(stderr, &level)}
	if err := cfg.Validate(); err != nil {
		return err
	}
	what := "guesses against raw Raft applies"
	if *reads {
		what = "reads of /api/rooms/{id} through a frontend, stale and linearizable"
	}
	fmt.Fprintf(stdout, "gallows bench: %s; 3 nodes on loopback, %d clients, %v per side, %d CPUs, %s\n",
		what, *clients, *duration, runtime.NumCPU(), runtime.Version())
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("--cpuprofile: %w", cerr)
			}
		}()
	}
	start := time.Now()
	var series bench.Series
	for i := range *runs {
		run := cfg
		if *runs > 1 {
			fmt.Fprintf(stdout, "\nrun %d of %d\n", i+1, *runs)
			if cfg.Dir != "" {
				run.Dir = filepath.Join(cfg.Dir, fmt.Sprintf("run-%d", i+1))
			}
		}
		if *reads {
			rep, err := bench.Reads(ctx, run)
			if err != nil {
				return fmt.Errorf("run read benchmark: %w", err)
			}
			if err := rep.Write(stdout); err != nil {
				return err
			}
			continue
		}
		rep, err := bench.Run(ctx, run)
		if err != nil {
			return fmt.Errorf("run benchmark: %w", err)
		}
		if err := rep.Write(stdout); err != nil {
			return err
		}
		series = append(series, rep)
	}
	if len(series) > 1 {
		fmt.Fprintln(stdout)
		if err := series.Write(stdout); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "total time %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}
