package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

// BenchmarkGuessesVsRaft runs the whole comparison once (3s per side, 64
// clients) and reports its numbers as metrics; ns/op is the whole run.
func BenchmarkGuessesVsRaft(b *testing.B) {
	var rep Report
	for b.Loop() {
		var err error
		rep, err = Run(context.Background(), Config{
			Clients: DefaultClients, Duration: 3 * time.Second, Dir: b.TempDir(), Logger: localtest.Logger(),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Log("\n" + rep.String())
	b.ReportMetric(rep.Gallows.OpsPerSec(), "guesses/s")
	b.ReportMetric(rep.Raft.OpsPerSec(), "raft-applies/s")
	b.ReportMetric(rep.Ratio(), "ratio")
	b.ReportMetric(float64(rep.Gallows.P99)/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(float64(rep.Raft.P99)/float64(time.Millisecond), "raft-p99-ms")
}

// TestRunSmoke runs a short comparison and checks that every guess the
// benchmark counted is in the rooms, on every node, exactly once.
func TestRunSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inRooms := -1
	cfg := Config{Clients: 4, Duration: 600 * time.Millisecond, // two turns per side
		Dir: t.TempDir(), Logger: localtest.Logger()}
	cfg.inspect = func(ctx context.Context, c *localcluster.Cluster, leader *backend.Node, rooms []string) error {
		// Every node caught up with the leader.
		if err := c.AppliedEverywhere(ctx, leader.Stats().AppliedIndex); err != nil {
			return err
		}
		for _, n := range c.Running() {
			// Version counts creation and every change; Round-1 of them were
			// NextRounds, so Version-Round are guesses.
			sum := 0
			for _, code := range rooms {
				r, ok := n.Room(code)
				if !ok {
					return fmt.Errorf("node %s: room %s missing", n.ID(), code)
				}
				sum += int(r.Version) - r.Round
			}
			if inRooms >= 0 && sum != inRooms {
				return fmt.Errorf("node %s has %d guesses in the rooms, another node %d", n.ID(), sum, inRooms)
			}
			inRooms = sum
		}
		return nil
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.String())
	if rep.Raft.Ops <= 0 || rep.Gallows.Ops <= 0 {
		t.Fatalf("want operations on both sides, got raft %d, gallows %d", rep.Raft.Ops, rep.Gallows.Ops)
	}
	if inRooms != rep.Gallows.Ops {
		t.Fatalf("the rooms hold %d guesses, the benchmark acknowledged %d", inRooms, rep.Gallows.Ops)
	}
	for _, res := range []Result{rep.Raft, rep.Gallows} {
		if len(res.TurnOpsPerSec) != rep.Turns.PerSide {
			t.Fatalf("%s: %d turn rates for %d turns", res.Name, len(res.TurnOpsPerSec), rep.Turns.PerSide)
		}
		// The side's rate is its turns' rates weighted by their lengths.
		if lo, hi, all := slices.Min(res.TurnOpsPerSec), slices.Max(res.TurnOpsPerSec), res.OpsPerSec(); lo <= 0 || all < lo*0.999 || all > hi*1.001 {
			t.Fatalf("%s: %.0f ops/s overall is not within its turns' %.0f to %.0f", res.Name, all, lo, hi)
		}
	}
	if rep.Raft.P50 <= 0 || rep.Raft.P99 < rep.Raft.P50 || rep.Gallows.P50 <= 0 || rep.Gallows.P99 < rep.Gallows.P50 {
		t.Fatalf("implausible latencies: %+v", rep)
	}
}
