// Package systemtest runs the whole system inside a test: backend nodes and
// frontends on loopback ports, data in t.TempDir(), real Raft, serf, gRPC,
// HTTP and websockets. It is for tests that need both halves at once; its
// helpers wait for conditions and never sleep and hope.
package systemtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/frontend"
)

// System is a running cluster with its frontends.
type System struct {
	t         testing.TB
	mu        sync.Mutex
	Backends  []*backend.Node
	Frontends []*frontend.Server
	killed    map[string]bool
}

// Logger logs at warn unless GALLOWS_TEST_LOG names another level.
func Logger() *slog.Logger {
	level := slog.LevelWarn
	if v := os.Getenv("GALLOWS_TEST_LOG"); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Start runs backends (bootstrapping one cluster) and frontends, waits
// until every frontend knows the leader, and stops everything when the
// test ends.
func Start(t testing.TB, backends, frontends int) *System {
	t.Helper()
	s := &System{t: t, killed: map[string]bool{}}
	t.Cleanup(s.stop)
	dir := t.TempDir()
	log := Logger()
	var firstSerf string
	for i := range backends {
		id := fmt.Sprintf("b%d", i+1)
		cfg := backend.Config{
			ID: id, DataDir: filepath.Join(dir, id),
			RaftAddr: "127.0.0.1:0", SerfAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
			BootstrapExpect: backends, SegmentSize: 1 << 20, ReconcileInterval: 500 * time.Millisecond, Logger: log,
		}
		if firstSerf != "" {
			cfg.Join = []string{firstSerf}
		}
		n, err := backend.Start(cfg)
		if err != nil {
			t.Fatalf("start backend %s: %v", id, err)
		}
		s.Backends = append(s.Backends, n)
		if firstSerf == "" {
			firstSerf = n.SerfAddr()
		}
	}
	grpcAddrs := s.GRPCAddrs()
	for i := range frontends {
		// Each frontend starts from a different backend; it learns the rest.
		fe, err := frontend.Start(frontend.Config{
			ID: fmt.Sprintf("f%d", i+1), HTTPAddr: "127.0.0.1:0",
			Backends: []string{grpcAddrs[i%len(grpcAddrs)]}, Logger: log,
		})
		if err != nil {
			t.Fatalf("start frontend %d: %v", i+1, err)
		}
		s.Frontends = append(s.Frontends, fe)
	}
	s.Leader()
	Eventually(t, 20*time.Second, "every frontend to know the leader", func() bool {
		for _, fe := range s.Frontends {
			if !ready(fe.URL()) {
				return false
			}
		}
		return true
	})
	return s
}

func (s *System) stop() {
	for _, fe := range s.Frontends {
		_ = fe.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.Backends {
		if !s.killed[n.ID()] {
			_ = n.Kill()
		}
	}
}

// Leader waits for the backend every running node agrees leads.
func (s *System) Leader() *backend.Node {
	s.t.Helper()
	var leader *backend.Node
	Eventually(s.t, 20*time.Second, "an agreed leader", func() bool {
		leader = nil
		for _, n := range s.Running() {
			if n.Store().IsLeader() {
				leader = n
			}
		}
		if leader == nil {
			return false
		}
		for _, n := range s.Running() {
			if id, _ := n.Store().Leader(); id != leader.ID() {
				return false
			}
		}
		return true
	})
	return leader
}

// Running returns the backends not killed.
func (s *System) Running() []*backend.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*backend.Node
	for _, n := range s.Backends {
		if !s.killed[n.ID()] {
			out = append(out, n)
		}
	}
	return out
}

// Node returns the backend with the given id, running or killed, or nil
// if no backend has that id.
func (s *System) Node(id string) *backend.Node {
	for _, n := range s.Backends {
		if n.ID() == id {
			return n
		}
	}
	return nil
}

// GRPCAddrs lists the gRPC addresses of every backend started, killed ones
// too, in start order.
func (s *System) GRPCAddrs() []string {
	out := make([]string, 0, len(s.Backends))
	for _, n := range s.Backends {
		out = append(out, n.GRPCAddr())
	}
	return out
}

// Kill stops backend n abruptly, as a crash would. It fails the test if n
// was already killed.
func (s *System) Kill(n *backend.Node) {
	s.t.Helper()
	s.mu.Lock()
	if s.killed[n.ID()] {
		s.mu.Unlock()
		s.t.Fatalf("kill %s: not running", n.ID())
	}
	s.killed[n.ID()] = true
	s.mu.Unlock()
	if err := n.Kill(); err != nil {
		s.t.Logf("kill %s: %v", n.ID(), err)
	}
}

// Eventually polls cond until it holds, failing the test after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// Context returns a context that ends after d or with the test.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// FreeAddr returns a loopback address whose port was free a moment ago.
// Serf needs it, as it takes the same port for TCP and UDP and so cannot
// listen on port 0; tests also use it as an address nothing listens on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
