// Package clustertest runs real backend clusters inside a test: every node
// on loopback ports with its data in t.TempDir(), real Raft, serf and gRPC.
// Its helpers wait for conditions; they never sleep and hope.
package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gallows-game/gallows/backend"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Cluster is a set of in-process backend nodes.
type Cluster struct {
	t     testing.TB
	mu    sync.Mutex
	nodes map[string]*backend.Node // running nodes by id
	cfgs  map[string]backend.Config
	ids   []string
	conns map[string]*grpc.ClientConn
}

// Option changes the configuration of every node before it starts.
type Option func(*backend.Config)

// Logger returns a logger for test output: LevelWarn unless GALLOWS_TEST_LOG
// names another level.
func Logger() *slog.Logger {
	level := slog.LevelWarn
	if v := os.Getenv("GALLOWS_TEST_LOG"); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// New starts n nodes that bootstrap one cluster, and waits for a leader.
// Everything is shut down when the test ends.
func New(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t, nodes: map[string]*backend.Node{}, cfgs: map[string]backend.Config{}, conns: map[string]*grpc.ClientConn{}}
	t.Cleanup(c.shutdown)
	dir := t.TempDir()
	var firstSerf string
	for i := range n {
		id := "b" + strconv.Itoa(i+1)
		cfg := backend.Config{
			ID: id, DataDir: filepath.Join(dir, id),
			RaftAddr: "127.0.0.1:0", SerfAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
			BootstrapExpect:   n,
			SegmentSize:       1 << 20,
			ReconcileInterval: 500 * time.Millisecond,
			Logger:            Logger(),
		}
		if firstSerf != "" {
			cfg.Join = []string{firstSerf}
		}
		for _, o := range opts {
			o(&cfg)
		}
		node := c.start(cfg)
		if firstSerf == "" {
			firstSerf = node.SerfAddr()
		}
		c.ids = append(c.ids, id)
	}
	c.Leader()
	return c
}

func (c *Cluster) start(cfg backend.Config) *backend.Node {
	c.t.Helper()
	node, err := backend.Start(cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", cfg.ID, err)
	}
	// Restarts reuse the ports the node got, so its Raft address stays the same.
	cfg.RaftAddr, cfg.SerfAddr, cfg.GRPCAddr, cfg.HTTPAddr = node.RaftAddr(), node.SerfAddr(), node.GRPCAddr(), node.HTTPAddr()
	c.mu.Lock()
	c.nodes[cfg.ID], c.cfgs[cfg.ID] = node, cfg
	c.mu.Unlock()
	return node
}

func (c *Cluster) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cc := range c.conns {
		_ = cc.Close()
	}
	for id, n := range c.nodes {
		if err := n.Kill(); err != nil {
			c.t.Logf("stop %s: %v", id, err)
		}
		delete(c.nodes, id)
	}
}

// IDs lists every node id, running or not.
func (c *Cluster) IDs() []string { return append([]string(nil), c.ids...) }

// Node returns the running node id, or nil.
func (c *Cluster) Node(id string) *backend.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// Running returns the running nodes in id order.
func (c *Cluster) Running() []*backend.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*backend.Node
	for _, id := range c.ids {
		if n := c.nodes[id]; n != nil {
			out = append(out, n)
		}
	}
	return out
}

// Leader waits until the running nodes agree on a leader among them and
// returns it.
func (c *Cluster) Leader() *backend.Node {
	c.t.Helper()
	var leader *backend.Node
	Eventually(c.t, 15*time.Second, "a leader that every running node agrees on", func() bool {
		leader = nil
		running := c.Running()
		for _, n := range running {
			if n.Store().IsLeader() {
				leader = n
			}
		}
		if leader == nil {
			return false
		}
		for _, n := range running {
			if id, _ := n.Store().Leader(); id != leader.ID() {
				return false
			}
		}
		return true
	})
	return leader
}

// WaitForNewLeader waits for a leader other than old.
func (c *Cluster) WaitForNewLeader(old string) *backend.Node {
	c.t.Helper()
	Eventually(c.t, 15*time.Second, "a new leader", func() bool {
		for _, n := range c.Running() {
			if n.ID() != old && n.Store().IsLeader() {
				return true
			}
		}
		return false
	})
	return c.Leader()
}

// Followers returns the running nodes that are not the leader.
func (c *Cluster) Followers() []*backend.Node {
	c.t.Helper()
	leader := c.Leader()
	var out []*backend.Node
	for _, n := range c.Running() {
		if n != leader {
			out = append(out, n)
		}
	}
	return out
}

// Kill stops a node abruptly, keeping its data dir.
func (c *Cluster) Kill(id string) {
	c.t.Helper()
	c.mu.Lock()
	n := c.nodes[id]
	delete(c.nodes, id)
	if cc := c.conns[id]; cc != nil {
		_ = cc.Close()
		delete(c.conns, id)
	}
	c.mu.Unlock()
	if n == nil {
		c.t.Fatalf("kill %s: not running", id)
	}
	if err := n.Kill(); err != nil {
		c.t.Logf("kill %s: %v", id, err)
	}
}

// Stop stops node id gracefully, as SIGTERM does (see backend.Node.Shutdown).
func (c *Cluster) Stop(ctx context.Context, id string) error {
	c.t.Helper()
	c.mu.Lock()
	n := c.nodes[id]
	delete(c.nodes, id)
	c.mu.Unlock()
	if n == nil {
		c.t.Fatalf("stop %s: not running", id)
	}
	// The test's connection to the node stays open, so that its streams
	// end as the node ends them.
	return n.Shutdown(ctx)
}

// Restart starts a stopped or killed node again on its data dir and ports, joining
// the running nodes.
func (c *Cluster) Restart(id string) *backend.Node {
	c.t.Helper()
	c.mu.Lock()
	cfg, ok := c.cfgs[id]
	c.mu.Unlock()
	if !ok {
		c.t.Fatalf("restart %s: unknown node", id)
	}
	cfg.Join = nil
	for _, n := range c.Running() {
		cfg.Join = append(cfg.Join, n.SerfAddr())
	}
	return c.start(cfg)
}

// Client returns a game client connected to node id.
func (c *Cluster) Client(id string) pb.GameClient {
	return pb.NewGameClient(c.conn(id))
}

// ClusterClient returns a cluster-status client connected to node id.
func (c *Cluster) ClusterClient(id string) pb.ClusterClient {
	return pb.NewClusterClient(c.conn(id))
}

func (c *Cluster) conn(id string) *grpc.ClientConn {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := c.conns[id]; cc != nil {
		return cc
	}
	n := c.nodes[id]
	if n == nil {
		c.t.Fatalf("client for %s: not running", id)
	}
	cc, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		c.t.Fatalf("client for %s: %v", id, err)
	}
	c.conns[id] = cc
	return cc
}

// Context returns a context that ends after d or with the test.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Eventually polls cond until it holds, failing the test after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// AppliedEverywhere waits until every running node's state machine has
// applied index. The index must be that of a game command (a reply's
// version, or a leader's Stats().AppliedIndex): Raft's own entries
// (configuration changes, barriers, no-ops) never reach the state machine,
// so a commit index that ends on one of them is never reported applied.
func (c *Cluster) AppliedEverywhere(index uint64) {
	c.t.Helper()
	Eventually(c.t, 15*time.Second, fmt.Sprintf("index %d applied on every node", index), func() bool {
		for _, n := range c.Running() {
			if n.Store().Stats().AppliedIndex < index {
				return false
			}
		}
		return true
	})
}
