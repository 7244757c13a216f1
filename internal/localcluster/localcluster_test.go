package localcluster_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/faultnet"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

func TestStartRefusesBadConfigs(t *testing.T) {
	tests := []struct {
		name string
		cfg  localcluster.Config
		want string
	}{
		{"no backends", localcluster.Config{Dir: t.TempDir()}, "0 backends"},
		{"negative frontends", localcluster.Config{Backends: 1, Frontends: -1, Dir: t.TempDir()}, "-1 frontends"},
		{"no dir", localcluster.Config{Backends: 1}, "Dir is required"},
		{"too many fixed ports", localcluster.Config{Backends: 11, Dir: t.TempDir(), BasePort: 17000}, "at most 10"},
		{"base port too high", localcluster.Config{Backends: 3, Dir: t.TempDir(), BasePort: 65504}, "base port 65504"},
		{"addresses without frontends", localcluster.Config{Backends: 1, Dir: t.TempDir(), FrontendAddrs: []string{"127.0.0.1:0"}}, "1 frontend addresses for 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := localcluster.Start(context.Background(), tt.cfg)
			if err == nil {
				_ = c.Close()
				t.Fatal("Start accepted the config")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestPollEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := localcluster.Poll(ctx, "the impossible", func() bool { return false })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "the impossible") {
		t.Fatalf("Poll = %v, want a deadline error naming what it waited for", err)
	}
	calls := 0
	if err := localcluster.Poll(context.Background(), "the third call", func() bool { calls++; return calls == 3 }); err != nil || calls != 3 {
		t.Fatalf("Poll = %v after %d calls, want nil after 3", err, calls)
	}
}

// TestKillRestartAndLeader: a system comes up with an agreed leader and a
// ready frontend; the leader killed, another takes over; restarted, it
// gets its address back and catches up.
func TestKillRestartAndLeader(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	if got := c.IDs(); !slices.Equal(got, []string{"b1", "b2", "b3"}) {
		t.Fatalf("IDs() = %v", got)
	}
	resp, err := http.Get(c.URLs()[0] + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("frontend /readyz = %d after Start, want 200", resp.StatusCode)
	}
	addrs := c.GRPCAddrs()
	old := c.Leader()
	ctx := localtest.Context(t, 30*time.Second)
	room, err := c.Client(old.ID()).CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ana", PlayerId: gameclient.BotPlayerID("ana"), Category: "animals", RequestId: "ana-1"})
	if err != nil {
		t.Fatalf("create room: %v", err)
	}

	c.Kill(old.ID())
	if c.Node(old.ID()) != nil || len(c.Running()) != 2 {
		t.Fatalf("%s still running after Kill", old.ID())
	}
	next := c.Leader(old.ID())
	if next.ID() == old.ID() {
		t.Fatalf("Leader(%s) returned %s", old.ID(), next.ID())
	}
	if err := c.Cluster.Kill(old.ID()); err == nil {
		t.Fatal("killing a killed backend did not fail")
	}

	back := c.Restart(old.ID())
	if got := c.GRPCAddrs(); !slices.Equal(got, addrs) {
		t.Fatalf("gRPC addresses %v after the restart, were %v", got, addrs)
	}
	c.AppliedEverywhere(room.GetRoom().GetVersion())
	if _, ok := back.Room(room.GetRoom().GetId()); !ok {
		t.Fatalf("the restarted %s lacks room %s", back.ID(), room.GetRoom().GetId())
	}
	if _, err := c.Cluster.Restart(old.ID()); err == nil {
		t.Fatal("restarting a running backend did not fail")
	}
}

// TestOnFaultNetwork: on a fault network, a leader cut off from the others
// is replaced, and a game client of the cluster dials from its own host.
func TestOnFaultNetwork(t *testing.T) {
	network := faultnet.New()
	c := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1, Network: network})
	old := c.Leader()
	network.Isolate(old.ID())
	next := c.Leader(old.ID())
	network.HealAll()
	if next.ID() == old.ID() {
		t.Fatalf("Leader(%s) returned %s", old.ID(), next.ID())
	}
	cfg := c.GameClientConfig("client")
	if cfg.Dial == nil || !slices.Equal(cfg.Backends, c.GRPCAddrs()) {
		t.Fatalf("game client config %+v: want every backend and the network's dial", cfg)
	}
}
