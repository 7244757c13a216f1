package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/internal/localcluster"
)

// GossipConfig configures a scores convergence run. Zero values take the
// defaults.
type GossipConfig struct {
	// Nodes lists the cluster sizes to measure (default 3 and 10).
	Nodes []int
	// Writes is how many timed writes each size gets (default 200), one
	// every 1/Rate s (default 20/s), each on a random node.
	Writes int
	Rate   float64
	// Load is the write rate of the traffic measurement (default 100/s),
	// Window how long traffic is measured at rest and under load (default 10s).
	Load   float64
	Window time.Duration
	// Dir holds the nodes' data (default: a temp dir, removed afterwards).
	Dir string
	// Logger receives the nodes' logs (default: discarded).
	Logger *slog.Logger
}

// GossipResult is one cluster size's measurement.
type GossipResult struct {
	Nodes int
	// Converge lists, per timed write, how long until every node had it.
	Converge []time.Duration
	// RestBytes and LoadBytes are the scores bytes sent per node per
	// second at rest and under Load writes/s: anti-entropy as measured,
	// plus deltas times serf's retransmit limit (estimated).
	RestBytes, LoadBytes float64
}

// retransmitLimit is memberlist's number of transmissions of a broadcast
// per node that holds it (RetransmitMult 4 times ceil(log10(n+1))).
func retransmitLimit(n int) float64 { return 4 * math.Ceil(math.Log10(float64(n+1))) }

// eventOverhead is the bytes a user event adds to its payload on the wire:
// serf's message (name, Lamport time), memberlist's framing and AES-GCM.
const eventOverhead = 80

// Gossip measures, for each cluster size, how long a score written on one
// node takes to reach every node, and what the scores cost in bytes per
// node per second at rest and under load. It writes a report to w.
func Gossip(ctx context.Context, cfg GossipConfig, w io.Writer) ([]GossipResult, error) {
	if len(cfg.Nodes) == 0 {
		cfg.Nodes = []int{3, 10}
	}
	if cfg.Writes == 0 {
		cfg.Writes = 200
	}
	if cfg.Rate == 0 {
		cfg.Rate = 20
	}
	if cfg.Load == 0 {
		cfg.Load = 100
	}
	if cfg.Window == 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dir := cfg.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "gallows-bench-gossip-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	fmt.Fprintf(w, "%-6s %8s %10s %10s %10s %16s %16s\n", "nodes", "writes", "p50", "p99", "max", "rest B/node/s", "load B/node/s")
	var out []GossipResult
	for _, n := range cfg.Nodes {
		res, err := gossipRun(ctx, cfg, filepath.Join(dir, strconv.Itoa(n)), n)
		if err != nil {
			return out, err
		}
		out = append(out, res)
		c := slices.Clone(res.Converge)
		slices.Sort(c)
		fmt.Fprintf(w, "%-6d %8d %10s %10s %10s %16.0f %16.0f\n", n, len(c),
			percentile(c, 50).Round(time.Millisecond), percentile(c, 99).Round(time.Millisecond),
			c[len(c)-1].Round(time.Millisecond), res.RestBytes, res.LoadBytes)
	}
	return out, nil
}

func gossipRun(ctx context.Context, cfg GossipConfig, dir string, n int) (GossipResult, error) {
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := localcluster.Start(sctx, localcluster.Config{Backends: n, Dir: dir, Logger: cfg.Logger})
	if err != nil {
		return GossipResult{}, fmt.Errorf("bench: start %d nodes: %w", n, err)
	}
	defer c.Close()
	nodes := c.Running()
	res := GossipResult{Nodes: n}

	// Timed writes: player w-i gets 1 on a random node; a poller sees when
	// every node has it.
	every := time.Duration(float64(time.Second) / cfg.Rate)
	for i := range cfg.Writes {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		player := "w-" + strconv.Itoa(i)
		start := time.Now()
		if err := nodes[rand.IntN(len(nodes))].AddScore(player, 1); err != nil {
			return res, fmt.Errorf("bench: write: %w", err)
		}
		deadline := start.Add(10 * time.Second)
		for !allHave(nodes, player) {
			if time.Now().After(deadline) {
				return res, fmt.Errorf("bench: write %d did not reach every node of %d in 10 s", i, n)
			}
			time.Sleep(500 * time.Microsecond)
		}
		res.Converge = append(res.Converge, time.Since(start))
		if wait := every - time.Since(start); wait > 0 {
			time.Sleep(wait)
		}
	}

	// Traffic at rest, then under load.
	res.RestBytes = traffic(nodes, n, cfg.Window, nil)
	loadEvery := time.Duration(float64(time.Second) / cfg.Load)
	var loadErr error
	res.LoadBytes = traffic(nodes, n, cfg.Window, func(stop <-chan struct{}) {
		t := time.NewTicker(loadEvery)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := nodes[i%len(nodes)].AddScore("load-"+strconv.Itoa(i%100), 1); err != nil {
					loadErr = fmt.Errorf("bench: write under load: %w", err)
					return
				}
			}
		}
	})
	return res, loadErr
}

func allHave(nodes []*backend.Node, player string) bool {
	for _, nd := range nodes {
		if nd.Score(player) < 1 {
			return false
		}
	}
	return true
}

// traffic measures the scores bytes sent per node per second over window
// while work (if any) runs.
func traffic(nodes []*backend.Node, n int, window time.Duration, work func(stop <-chan struct{})) float64 {
	sum := func() (delta, sync, events int64) {
		for _, nd := range nodes {
			d, s, e := nd.ScoresTraffic()
			delta, sync, events = delta+d, sync+s, events+e
		}
		return
	}
	d0, s0, e0 := sum()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if work != nil {
			work(stop)
		}
	}()
	start := time.Now()
	time.Sleep(window)
	close(stop)
	<-done
	elapsed := time.Since(start).Seconds()
	d1, s1, e1 := sum()
	// Every node holds every delta and sends it retransmitLimit times.
	deltaWire := float64(d1-d0+(e1-e0)*eventOverhead) * retransmitLimit(n)
	return (deltaWire + float64(s1-s0)) / elapsed / float64(n)
}
