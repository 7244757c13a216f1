package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	metrics "github.com/armon/go-metrics"
	prommetrics "github.com/armon/go-metrics/prometheus"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/internal/netcut"
)

func runBackend(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	var cfg backend.Config
	var join listFlag
	var level levelFlag
	var sec tlsFlags
	fs.StringVar(&cfg.ID, "id", "", "unique node id, e.g. b1 (required)")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "directory for the Raft log and snapshots (required)")
	fs.StringVar(&cfg.RaftAddr, "raft-addr", "127.0.0.1:7000", "host:port for Raft traffic")
	fs.StringVar(&cfg.SerfAddr, "serf-addr", "127.0.0.1:7946", "host:port for serf gossip")
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:9000", "host:port for the gRPC API")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:8000", "host:port for /healthz, /readyz and /metrics")
	fs.StringVar(&cfg.Advertise, "advertise", "", "host name or IP other nodes reach this one at (needed when binding 0.0.0.0)")
	fs.Var(&join, "join", "serf host:port of other backends, comma-separated")
	fs.IntVar(&cfg.BootstrapExpect, "bootstrap-expect", 0, "start a new cluster once this many backends see each other (0: only join)")
	fs.Float64Var(&cfg.TimeoutScale, "raft-timeout-scale", 1, "multiplies every Raft timeout; 1 suits a LAN (a dead leader is replaced in well under a second)")
	fs.Var(&level, "log-level", "debug, info, warn or error")
	devFaults := fs.Bool("dev-faults", false, hiddenUsage+"serve POST /v1/dev/cut?for=10s on the admin address, which cuts this node off from the network for that long (gallows dev --fault-buttons)")
	sec.register(fs, true, false)
	if err := parse(fs, args, stderr, "gallows backend: run one backend node."); err != nil {
		return err
	}
	var err error
	if cfg.TLS, err = sec.material(); err != nil {
		return err
	}
	if cfg.GossipKey, err = sec.gossipKey(); err != nil {
		return err
	}
	cfg.Insecure = sec.insecure
	cfg.Join = join
	cfg.Logger = newLogger(stderr, &level)
	if cfg.TimeoutScale == 0 {
		// In a Config 0 means the default; on the command line it is a
		// mistake.
		return fmt.Errorf("--raft-timeout-scale 0: must be more than 0 (1 suits a LAN)")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *devFaults {
		devCut(&cfg)
	}
	if err := installRaftMetrics(); err != nil {
		return err
	}
	n, err := backend.Start(cfg)
	if err != nil {
		return err
	}
	werr := n.Wait(ctx)
	cfg.Logger.Info("shutting down", "id", cfg.ID)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return werr
}

// devCut gives the node a network it can cut itself off from, and the
// admin endpoint that does (backend --dev-faults).
func devCut(cfg *backend.Config) {
	nc := netcut.New()
	cfg.Network = nc
	log := cfg.Logger
	cfg.DevCut = func(d time.Duration) {
		nc.CutFor(d)
		healed := nc.Healed()
		go func() {
			<-healed
			if !nc.Cut() {
				log.Info("dev: network healed", "node", cfg.ID)
			}
		}()
	}
}

// installRaftMetrics sends Raft's go-metrics to the Prometheus default
// registry, which every node's /metrics serves.
func installRaftMetrics() error {
	sink, err := prommetrics.NewPrometheusSink()
	if err != nil {
		return fmt.Errorf("metrics sink: %w", err)
	}
	mc := metrics.DefaultConfig("gallows")
	mc.EnableHostname = false
	mc.EnableRuntimeMetrics = false
	if _, err := metrics.NewGlobal(mc, sink); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	slog.Debug("raft metrics installed")
	return nil
}
