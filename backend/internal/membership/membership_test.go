package membership

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// validConfig is a Config that passes validation. Its Raft is a nil
// *raft.Raft: tests that use it never get as far as calling Raft.
func validConfig() Config {
	return Config{
		Tags:     Tags{ID: "node1", RaftAddr: "127.0.0.1:7000", GRPCAddr: "127.0.0.1:7001", HTTPAddr: "127.0.0.1:7002"},
		BindAddr: "127.0.0.1:7946",
		Raft:     (*raft.Raft)(nil),
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
	}{
		{"empty id", func(c *Config) { c.Tags.ID = "" }},
		{"raft address without port", func(c *Config) { c.Tags.RaftAddr = "127.0.0.1" }},
		{"negative bootstrap-expect", func(c *Config) { c.BootstrapExpect = -1 }},
		{"bind address is a hostname", func(c *Config) { c.BindAddr = "localhost:7946" }},
		{"bind address without port", func(c *Config) { c.BindAddr = "127.0.0.1" }},
		{"advertise address is a hostname", func(c *Config) { c.AdvertiseAddr = "backend-1:7946" }},
		{"advertise port 0", func(c *Config) { c.AdvertiseAddr = "10.0.0.1:0" }},
		{"join address without port", func(c *Config) { c.Join = []string{"10.0.0.2:7946", "10.0.0.3"} }},
		{"nil raft", func(c *Config) { c.Raft = nil }},
		{"negative reconcile interval", func(c *Config) { c.ReconcileInterval = -time.Second }},
		{"negative failed grace", func(c *Config) { c.FailedGrace = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.edit(&cfg)
			m, err := New(cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New() error = %v, want %v", err, ErrInvalidConfig)
			}
			if m != nil {
				if err := m.Shutdown(); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg := validConfig()
	cfg.Tags.Expect = 7
	cfg.BootstrapExpect = 3
	cfg.HasState = true
	got, err := cfg.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	if got.ReconcileInterval != defaultReconcileInterval || got.FailedGrace != defaultFailedGrace || got.Logger == nil {
		t.Errorf("defaults not applied: interval %v, grace %v, logger %v", got.ReconcileInterval, got.FailedGrace, got.Logger)
	}
	if got.Tags.Expect != 3 || !got.Tags.Bootstrapped {
		t.Errorf("tags %+v: want Expect from BootstrapExpect and Bootstrapped from HasState", got.Tags)
	}
}

// startCluster starts node1..node3 with bootstrap-expect 3, then node4,
// and waits until the four are voters.
func startCluster(c *cluster, o nodeOpts) []*testNode {
	c.t.Helper()
	o.expect = 3
	nodes := c.startN(3, o)
	c.waitVoters(nodes, nodes...)
	nodes = append(nodes, c.join("node4", o))
	c.waitVoters(nodes, nodes...)
	return nodes
}

func without(nodes []*testNode, gone *testNode) []*testNode {
	return slices.DeleteFunc(slices.Clone(nodes), func(n *testNode) bool { return n == gone })
}

func TestBootstrapExpect(t *testing.T) {
	c := newCluster(t)
	nodes := c.startN(3, nodeOpts{expect: 3})

	leader := c.waitLeader(nodes)
	got, err := voters(leader)
	if err != nil {
		t.Fatalf("leader configuration: %v", err)
	}
	if want := voterList(nodes...); !slices.Equal(got, want) {
		t.Errorf("leader %s has voters %v, want %v", leader.id, got, want)
	}
	waitFor(t, waitTimeout, "every node to see three bootstrapped backends", func() error {
		for _, n := range nodes {
			members := n.m.Members()
			if len(members) != 3 {
				return fmt.Errorf("%s sees %d members", n.id, len(members))
			}
			for _, mem := range members {
				if mem.Status != statusAlive || !mem.Bootstrapped {
					return fmt.Errorf("%s sees %s %s, bootstrapped %v", n.id, mem.ID, mem.Status, mem.Bootstrapped)
				}
			}
		}
		return nil
	})
	mem, ok := leader.m.Member("node2")
	if !ok || mem.RaftAddr != nodes[1].m.LocalMember().RaftAddr || mem.SerfAddr != nodes[1].serfAddr() {
		t.Errorf("Member(node2) = %+v, %v; want node2's addresses", mem, ok)
	}
	if _, ok := leader.m.Member("node9"); ok {
		t.Error("Member(node9) found")
	}
}

func TestJoinRunningCluster(t *testing.T) {
	c := newCluster(t)
	nodes := c.startN(3, nodeOpts{expect: 3})
	c.waitVoters(nodes, nodes...)

	n4 := c.join("node4", nodeOpts{expect: 3})
	all := append(nodes, n4)
	c.waitVoters(all, all...)
	c.waitLeader(all)
	waitFor(t, waitTimeout, "node4 to gossip bootstrapped", func() error {
		for _, n := range all {
			if mem, ok := n.m.Member("node4"); !ok || !mem.Bootstrapped {
				return fmt.Errorf("%s sees node4 %+v", n.id, mem)
			}
		}
		return nil
	})
	if line, ok := c.logs.find("test_node=node4", "bootstrapped the raft cluster"); ok {
		t.Errorf("node4 bootstrapped a cluster of its own: %s", line)
	}
}

func TestLeave(t *testing.T) {
	c := newCluster(t)
	all := startCluster(c, nodeOpts{})

	// Four voters, bootstrap-expect 3: a follower that leaves is removed.
	leader := c.waitLeader(all)
	gone := followers(all, leader)[0]
	if err := gone.m.Leave(); err != nil {
		t.Fatalf("%s: Leave: %v", gone.id, err)
	}
	gone.stop(t)
	live := without(all, gone)
	c.waitVoters(live, live...)

	// Three voters: the next one that leaves is kept, at the floor.
	leader = c.waitLeader(live)
	kept := followers(live, leader)[0]
	if err := kept.m.Leave(); err != nil {
		t.Fatalf("%s: Leave: %v", kept.id, err)
	}
	kept.stop(t)
	c.waitLog("keeping down server", "server="+kept.id, "reason=left")
	c.waitVoters(without(live, kept), live...)
}

func TestFailedKeptDuringGrace(t *testing.T) {
	c := newCluster(t)
	all := startCluster(c, nodeOpts{}) // default FailedGrace: 1h

	leader := c.waitLeader(all)
	victim := followers(all, leader)[0]
	victim.stop(t)
	c.waitLog("server is down", "server="+victim.id, "reason=failed")
	// The pass that saw it down does not remove it; later ones could.
	seen := leader.m.passes.Load()
	waitFor(t, waitTimeout, "three more reconcile passes on the leader", func() error {
		if n := leader.m.passes.Load() - seen; n < 3 {
			return fmt.Errorf("%d passes", n)
		}
		return nil
	})
	c.waitVoters(without(all, victim), all...)
	if m, ok := leader.m.Member(victim.id); !ok || m.Status != statusFailed {
		t.Errorf("leader sees %s as %+v, want failed", victim.id, m)
	}
}

// A backend started only to join (bootstrap-expect 0) that is alive while
// a fresh cluster forms does not stop it from bootstrapping; it is added
// once there is a leader.
func TestJoinOnlyBackendDoesNotBlockBootstrap(t *testing.T) {
	c := newCluster(t)
	joiner := c.start("node4", nodeOpts{})
	nodes := []*testNode{joiner}
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, c.start(fmt.Sprintf("node%d", i), nodeOpts{expect: 3, join: []string{joiner.serfAddr()}}))
	}
	c.waitVoters(nodes, nodes...)
}

// The floor under removals is the cluster's bootstrap-expect, also on a
// leader that was started only to join.
func TestVoterFloorOnAJoinOnlyLeader(t *testing.T) {
	c := newCluster(t)
	nodes := c.startN(3, nodeOpts{expect: 3})
	c.waitVoters(nodes, nodes...)
	joiner := c.join("node4", nodeOpts{})
	all := append(nodes, joiner)
	c.waitVoters(all, all...)
	if leader := c.waitLeader(all); leader != joiner {
		if err := leader.raft.LeadershipTransferToServer(raft.ServerID(joiner.id), raft.ServerAddress(joiner.m.LocalMember().RaftAddr)).Error(); err != nil {
			t.Fatalf("hand leadership to %s: %v", joiner.id, err)
		}
	}
	if leader := c.waitLeader(all); leader != joiner {
		t.Fatalf("leader %s, want %s", leader.id, joiner.id)
	}
	live := all
	for i, gone := range nodes[:2] {
		if err := gone.m.Leave(); err != nil {
			t.Fatalf("%s: Leave: %v", gone.id, err)
		}
		gone.stop(t)
		live = without(live, gone)
		if i == 0 {
			c.waitVoters(live, live...) // four voters: one may go
			continue
		}
		c.waitLog("keeping down server", "server="+gone.id, "reason=left")
		c.waitVoters(live, append(live, gone)...)
	}
}

func TestFailedRemovedAfterGrace(t *testing.T) {
	const grace = 500 * time.Millisecond
	c := newCluster(t)
	all := startCluster(c, nodeOpts{grace: grace})

	// Four voters: a failed follower is removed once the grace is over.
	leader := c.waitLeader(all)
	victim := followers(all, leader)[0]
	victim.stop(t)
	live := without(all, victim)
	c.waitVoters(live, live...)
	down, ok := c.logs.find("server is down", "server="+victim.id, "reason=failed")
	if !ok {
		t.Fatalf("%s removed without being seen down", victim.id)
	}
	if d := time.Since(logTime(t, down)); d < grace {
		t.Errorf("%s removed within %v of being seen down, before the grace of %v", victim.id, d, grace)
	}

	// Three voters: the next failed follower is kept, at the floor.
	leader = c.waitLeader(live)
	kept := followers(live, leader)[0]
	kept.stop(t)
	c.waitLog("keeping down server", "server="+kept.id, "reason=failed")
	c.waitVoters(without(live, kept), live...)
}

// logTime returns the time of a text log line.
func logTime(t *testing.T, line string) time.Time {
	t.Helper()
	field, _, _ := strings.Cut(line, " ")
	ts, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(field, "time="))
	if err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	return ts
}

func TestMismatchedExpectDoesNotBootstrap(t *testing.T) {
	c := newCluster(t)
	nodes := []*testNode{c.start("node1", nodeOpts{expect: 3})}
	nodes = append(nodes, c.join("node2", nodeOpts{expect: 2}), c.join("node3", nodeOpts{expect: 3}))

	for _, n := range nodes {
		c.waitLog("test_node="+n.id, "disagree on bootstrap-expect")
	}
	waitFor(t, waitTimeout, "every node to see three alive backends", func() error {
		for _, n := range nodes {
			alive := 0
			for _, mem := range n.m.Members() {
				if mem.Status == statusAlive {
					alive++
				}
			}
			if alive != 3 {
				return fmt.Errorf("%s sees %d alive backends", n.id, alive)
			}
		}
		return nil
	})
	for _, n := range nodes {
		f := n.raft.GetConfiguration()
		if err := f.Error(); err != nil {
			t.Fatalf("%s: configuration: %v", n.id, err)
		}
		if servers := f.Configuration().Servers; len(servers) != 0 {
			t.Errorf("%s bootstrapped: %v", n.id, servers)
		}
		if n.m.LocalMember().Bootstrapped {
			t.Errorf("%s gossips bootstrapped", n.id)
		}
	}
}

func TestJoinRetriedUntilPeerStarts(t *testing.T) {
	c := newCluster(t)
	port1, port2 := freePort(t), freePort(t)
	for port2 == port1 {
		port2 = freePort(t)
	}
	addr := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

	// node1 joins node2, which is not up yet, and itself, which does not
	// count as joining a cluster.
	n1 := c.start("node1", nodeOpts{expect: 2, port: port1, join: []string{addr(port2), addr(port1)}})
	c.waitLog("test_node=node1", "serf join failed, retrying")
	n2 := c.start("node2", nodeOpts{expect: 2, port: port2})
	c.waitLog("test_node=node1", "joined serf cluster")
	nodes := []*testNode{n1, n2}
	c.waitVoters(nodes, nodes...)
}

func TestRaftAddressChange(t *testing.T) {
	c := newCluster(t)
	nodes := c.startN(3, nodeOpts{expect: 3})
	c.waitVoters(nodes, nodes...)

	// A stale entry for node4, as if it had restarted on another address.
	// Absent from serf, it is kept for FailedGrace.
	c.addVoter(nodes, "node4", "127.0.0.1:1")
	c.waitLog("server is down", "server=node4", `reason="absent from serf"`)

	n4 := c.join("node4", nodeOpts{expect: 3})
	all := append(nodes, n4)
	c.waitVoters(all, all...)
}

func TestAbsentServerRemovedAfterGrace(t *testing.T) {
	c := newCluster(t)
	nodes := c.startN(3, nodeOpts{expect: 3, grace: 300 * time.Millisecond})
	c.waitVoters(nodes, nodes...)

	// A server serf has never heard of (or has reaped) goes after the grace.
	c.addVoter(nodes, "ghost", "127.0.0.1:1")
	c.waitLog("server is down", "server=ghost", `reason="absent from serf"`)
	c.waitVoters(nodes, nodes...)
}
