package membership

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/gallows-game/gallows/internal/slogbridge"
)

const (
	// testReconcileInterval keeps full passes frequent in tests.
	testReconcileInterval = 100 * time.Millisecond
	// waitTimeout bounds every wait for a cluster condition.
	waitTimeout = 20 * time.Second
)

// waitFor polls cond until it returns nil, failing the test with cond's
// last error when timeout passes first.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
		}
		<-tick.C
	}
}

// logLines collects the text log lines of every node of a test, so tests
// can wait for a logged decision and dump the logs when they fail.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		l.lines = append(l.lines, line)
	}
	return len(p), nil
}

// find returns the first line that contains every part.
func (l *logLines) find(parts ...string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if containsAll(line, parts) {
			return line, true
		}
	}
	return "", false
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// cluster is a set of test backends on loopback: real raft with a TCP
// transport, real serf.
type cluster struct {
	t     *testing.T
	logs  *logLines
	base  *slog.Logger
	nodes []*testNode
}

func newCluster(t *testing.T) *cluster {
	logs := &logLines{}
	t.Cleanup(func() { // registered first, so it runs after every node stopped
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	})
	h := slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})
	return &cluster{t: t, logs: logs, base: slog.New(h)}
}

// nodeOpts are the per-node settings tests vary.
type nodeOpts struct {
	expect int
	join   []string
	grace  time.Duration
	port   int // serf port; 0 picks a free one
}

// testNode is one backend of a test cluster.
type testNode struct {
	id       string
	raft     *raft.Raft
	m        *Membership
	stopOnce sync.Once
}

// stop shuts the node down without a serf leave, so the others see it
// failed (after Leave they see it left). It is idempotent.
func (n *testNode) stop(t *testing.T) {
	n.stopOnce.Do(func() {
		if n.m != nil {
			if err := n.m.Shutdown(); err != nil {
				t.Errorf("%s: membership shutdown: %v", n.id, err)
			}
		}
		if err := n.raft.Shutdown().Error(); err != nil {
			t.Errorf("%s: raft shutdown: %v", n.id, err)
		}
	})
}

// serfAddr is the address other nodes join.
func (n *testNode) serfAddr() string {
	return n.m.LocalMember().SerfAddr
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start starts backend id with a fresh in-memory raft.
func (c *cluster) start(id string, o nodeOpts) *testNode {
	t := c.t
	t.Helper()
	logger := c.base.With("test_node", id)
	trans, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 3, time.Second, slogbridge.Hclog(logger, "raft-net"))
	if err != nil {
		t.Fatalf("%s: raft transport: %v", id, err)
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(id)
	rc.HeartbeatTimeout = 100 * time.Millisecond
	rc.ElectionTimeout = 100 * time.Millisecond
	rc.LeaderLeaseTimeout = 50 * time.Millisecond
	rc.CommitTimeout = 5 * time.Millisecond
	rc.Logger = slogbridge.Hclog(logger, "raft")
	store := raft.NewInmemStore()
	snaps := raft.NewInmemSnapshotStore()
	hasState, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		t.Fatalf("%s: raft state: %v", id, err)
	}
	r, err := raft.NewRaft(rc, nopFSM{}, store, store, snaps, trans)
	if err != nil {
		t.Fatalf("%s: raft: %v", id, err)
	}
	n := &testNode{id: id, raft: r}
	t.Cleanup(func() { n.stop(t) })

	// A free port may be taken again before serf binds it: retry.
	for attempt := 1; ; attempt++ {
		port := o.port
		if port == 0 {
			port = freePort(t)
		}
		n.m, err = New(Config{
			Tags: Tags{
				ID:       id,
				RaftAddr: string(trans.LocalAddr()),
				GRPCAddr: "127.0.0.1:7001",
				HTTPAddr: "127.0.0.1:7002",
			},
			BindAddr:          net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Join:              o.join,
			BootstrapExpect:   o.expect,
			HasState:          hasState,
			Raft:              r,
			Logger:            logger,
			ReconcileInterval: testReconcileInterval,
			FailedGrace:       o.grace,
		})
		if err == nil {
			break
		}
		if attempt == 3 || o.port != 0 {
			t.Fatalf("%s: membership: %v", id, err)
		}
	}
	c.nodes = append(c.nodes, n)
	return n
}

// startN starts n backends with ids node1..noden; all but the first join
// the first.
func (c *cluster) startN(n int, o nodeOpts) []*testNode {
	c.t.Helper()
	first := c.start("node1", o)
	o.join = []string{first.serfAddr()}
	nodes := []*testNode{first}
	for i := 2; i <= n; i++ {
		nodes = append(nodes, c.start(fmt.Sprintf("node%d", i), o))
	}
	return nodes
}

// join starts another backend that joins node1.
func (c *cluster) join(id string, o nodeOpts) *testNode {
	c.t.Helper()
	o.join = []string{c.nodes[0].serfAddr()}
	return c.start(id, o)
}

// waitLeader waits until exactly one of nodes is leader and every other one
// follows it, and returns the leader.
func (c *cluster) waitLeader(nodes []*testNode) *testNode {
	c.t.Helper()
	var leader *testNode
	waitFor(c.t, waitTimeout, "a single leader", func() error {
		leader = nil
		var leaders []string
		for _, n := range nodes {
			if n.raft.State() == raft.Leader {
				leader = n
				leaders = append(leaders, n.id)
			}
		}
		if len(leaders) != 1 {
			return fmt.Errorf("leaders %v", leaders)
		}
		for _, n := range nodes {
			if _, id := n.raft.LeaderWithID(); string(id) != leader.id {
				return fmt.Errorf("%s follows %q, not %s", n.id, id, leader.id)
			}
		}
		return nil
	})
	return leader
}

// voters returns "id@addr" for every server of n's raft configuration,
// sorted, failing if a server is not a voter.
func voters(n *testNode) ([]string, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range f.Configuration().Servers {
		if s.Suffrage != raft.Voter {
			return nil, fmt.Errorf("%s is %v", s.ID, s.Suffrage)
		}
		out = append(out, fmt.Sprintf("%s@%s", s.ID, s.Address))
	}
	slices.Sort(out)
	return out, nil
}

// voterList is what voters returns for exactly the given nodes.
func voterList(nodes ...*testNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, fmt.Sprintf("%s@%s", n.id, n.m.LocalMember().RaftAddr))
	}
	slices.Sort(out)
	return out
}

// waitVoters waits until the configuration of the current leader among
// live holds exactly the voters want, and returns that leader.
func (c *cluster) waitVoters(live []*testNode, want ...*testNode) *testNode {
	c.t.Helper()
	wantList := voterList(want...)
	var leader *testNode
	waitFor(c.t, waitTimeout, fmt.Sprintf("voters %v", wantList), func() error {
		leader = nil
		for _, n := range live {
			if n.raft.State() == raft.Leader {
				leader = n
			}
		}
		if leader == nil {
			return fmt.Errorf("no leader")
		}
		got, err := voters(leader)
		if err != nil {
			return err
		}
		if !slices.Equal(got, wantList) {
			return fmt.Errorf("leader %s has voters %v", leader.id, got)
		}
		return nil
	})
	return leader
}

// addVoter adds a voter through the leader among nodes, retrying when
// leadership moves.
func (c *cluster) addVoter(nodes []*testNode, id, addr string) {
	c.t.Helper()
	waitFor(c.t, waitTimeout, "AddVoter "+id, func() error {
		for _, n := range nodes {
			if n.raft.State() == raft.Leader {
				return n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, time.Second).Error()
			}
		}
		return errors.New("no leader")
	})
}

// waitLog waits until some node logged a line containing every part.
func (c *cluster) waitLog(parts ...string) {
	c.t.Helper()
	waitFor(c.t, waitTimeout, fmt.Sprintf("a log line with %q", parts), func() error {
		if _, ok := c.logs.find(parts...); !ok {
			return fmt.Errorf("not logged yet")
		}
		return nil
	})
}

// followers returns the nodes other than leader.
func followers(nodes []*testNode, leader *testNode) []*testNode {
	return slices.DeleteFunc(slices.Clone(nodes), func(n *testNode) bool { return n == leader })
}

// nopFSM is a Raft FSM that stores nothing.
type nopFSM struct{}

func (nopFSM) Apply(*raft.Log) any { return nil }

func (nopFSM) Snapshot() (raft.FSMSnapshot, error) { return nopSnapshot{}, nil }

func (nopFSM) Restore(rc io.ReadCloser) error { return rc.Close() }

type nopSnapshot struct{}

func (nopSnapshot) Persist(sink raft.SnapshotSink) error { return sink.Close() }

func (nopSnapshot) Release() {}
