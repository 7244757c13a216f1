package gameclient_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/frontend/internal/gameclient"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// backends is an in-process cluster of real backend nodes on loopback,
// with their data in t.TempDir(): real Raft, serf and gRPC.
type backends struct {
	t     *testing.T
	mu    sync.Mutex
	ids   []string
	nodes map[string]*backend.Node // running nodes by id
	addrs map[string]string        // gRPC address by id, killed nodes too
}

// testLogger logs at Warn unless GALLOWS_TEST_LOG names another level.
func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if v := os.Getenv("GALLOWS_TEST_LOG"); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// startBackends starts n nodes that bootstrap one cluster and waits until
// they agree on a leader. They are killed when the test ends.
func startBackends(t *testing.T, n int) *backends {
	t.Helper()
	b := &backends{t: t, nodes: map[string]*backend.Node{}, addrs: map[string]string{}}
	t.Cleanup(b.killAll)
	dir := t.TempDir()
	var firstSerf string
	for i := range n {
		id := "b" + strconv.Itoa(i+1)
		cfg := backend.Config{
			ID: id, DataDir: filepath.Join(dir, id),
			RaftAddr: "127.0.0.1:0", SerfAddr: freeAddr(t), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
			BootstrapExpect:   n,
			SegmentSize:       1 << 20,
			ReconcileInterval: 500 * time.Millisecond,
			Logger:            testLogger(),
		}
		if firstSerf != "" {
			cfg.Join = []string{firstSerf}
		}
		node, err := backend.Start(cfg)
		if err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		if firstSerf == "" {
			firstSerf = node.SerfAddr()
		}
		b.mu.Lock()
		b.ids = append(b.ids, id)
		b.nodes[id] = node
		b.addrs[id] = node.GRPCAddr()
		b.mu.Unlock()
	}
	b.leader()
	return b
}

// freeAddr returns a loopback address whose port was free a moment ago:
// serf needs the same port for TCP and UDP, so it cannot take port 0.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (b *backends) killAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, n := range b.nodes {
		if err := n.Kill(); err != nil {
			b.t.Logf("kill %s: %v", id, err)
		}
		delete(b.nodes, id)
	}
}

// running returns the running nodes in id order.
func (b *backends) running() []*backend.Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*backend.Node
	for _, id := range b.ids {
		if n := b.nodes[id]; n != nil {
			out = append(out, n)
		}
	}
	return out
}

// grpcAddrs lists the gRPC addresses of every node started.
func (b *backends) grpcAddrs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, id := range b.ids {
		out = append(out, b.addrs[id])
	}
	return out
}

// addr returns the gRPC address of node id.
func (b *backends) addr(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addrs[id]
}

// leader waits until the running nodes agree on a leader among them.
func (b *backends) leader() *backend.Node {
	b.t.Helper()
	var leader *backend.Node
	eventually(b.t, 15*time.Second, "a leader every running node agrees on", func() bool {
		leader = nil
		running := b.running()
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

// kill stops node id abruptly, as a crash would.
func (b *backends) kill(id string) {
	b.t.Helper()
	b.mu.Lock()
	n := b.nodes[id]
	delete(b.nodes, id)
	b.mu.Unlock()
	if n == nil {
		b.t.Fatalf("kill %s: not running", id)
	}
	if err := n.Kill(); err != nil {
		b.t.Logf("kill %s: %v", id, err)
	}
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
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

// testContext returns a context that ends after d or with the test.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// recorder keeps every recorded Op.
type recorder struct {
	mu  sync.Mutex
	ops []gameclient.Op
}

func (r *recorder) Record(op gameclient.Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
}

// guessAttempts returns the recorded attempts of the guess with requestID.
func (r *recorder) guessAttempts(requestID string) []gameclient.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []gameclient.Op
	for _, op := range r.ops {
		if req, ok := op.Request.(*pb.GuessRequest); ok && op.Method == pb.Game_Guess_FullMethodName && req.GetRequestId() == requestID {
			out = append(out, op)
		}
	}
	return out
}

// newClient returns a client of b's nodes at addrs, closed when the test ends.
func newClient(t *testing.T, rec gameclient.Recorder, addrs ...string) *gameclient.Client {
	t.Helper()
	cfg := gameclient.Config{Backends: addrs, Logger: testLogger()}
	if rec != nil {
		cfg.Recorder = rec
	}
	c, err := gameclient.New(cfg)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	return c
}

// waitForLeader waits until the client knows the leader the nodes agree on.
func waitForLeader(t *testing.T, b *backends, c *gameclient.Client) string {
	t.Helper()
	var id string
	eventually(t, 15*time.Second, "the client to learn the leader", func() bool {
		id = b.leader().ID()
		return c.Cluster().GetLeaderId() == id
	})
	return id
}
