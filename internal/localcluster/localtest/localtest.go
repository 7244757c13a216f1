// Package localtest is internal/localcluster for tests: it starts a
// system for a test (in its temp dir, stopped when the test ends) and
// turns the harness's errors into test failures, so that no command links
// the testing package.
package localtest

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/frontend"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/pki"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Timeouts of the test adapter's waits.
const (
	startTimeout   = 30 * time.Second
	leaderTimeout  = 20 * time.Second
	appliedTimeout = 15 * time.Second
)

// Cluster is a localcluster.Cluster for a test. Its Leader, Followers, Kill,
// Restart and AppliedEverywhere wait with fixed timeouts and fail the test
// instead of returning an error; the embedded Cluster's other methods
// (Stop among them) are as they are.
type Cluster struct {
	*localcluster.Cluster
	t testing.TB

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn // the test's connections, by backend id
}

// Start starts a system for test t (see localcluster.Start), with its data
// in a t.TempDir() unless cfg.Dir is set and its logs to Logger() unless
// cfg.Logger is set, and stops it abruptly (Close) when the test ends.
// Backends use 1 MiB WAL segments and a full membership pass every 500 ms
// before cfg.Backend changes them. It fails the test if the system does
// not come up within 30 s.
func Start(t testing.TB, cfg localcluster.Config) *Cluster {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = Logger()
	}
	tune := cfg.Backend
	cfg.Backend = func(bc *backend.Config) {
		bc.SegmentSize = 1 << 20
		bc.ReconcileInterval = 500 * time.Millisecond
		if tune != nil {
			tune(bc)
		}
	}
	tuneFrontend := cfg.Frontend
	cfg.Frontend = func(fc *frontend.Config) {
		fc.Limits = GenerousLimits()
		if tuneFrontend != nil {
			tuneFrontend(fc)
		}
	}
	c, err := localcluster.Start(Context(t, startTimeout), cfg)
	if err != nil {
		t.Fatalf("start a local cluster: %v", err)
	}
	tc := &Cluster{Cluster: c, t: t, conns: map[string]*grpc.ClientConn{}}
	t.Cleanup(func() {
		tc.mu.Lock()
		for _, cc := range tc.conns {
			_ = cc.Close()
		}
		tc.mu.Unlock()
		if err := c.Close(); err != nil {
			t.Logf("close the local cluster: %v", err)
		}
	})
	return tc
}

// GenerousLimits are the frontend limits tests run with unless they set
// their own (localcluster.Config.Frontend): the defaults with every rate
// and burst multiplied by 1000. Tests drive all their requests from
// 127.0.0.1, one client IP, far faster than a person; the limits still
// apply, so their code runs in every test.
func GenerousLimits() frontend.Limits {
	return frontend.Limits{}.Scaled(1000)
}

// Leader is Cluster.Leader with a timeout of 20 s.
func (c *Cluster) Leader(except ...string) *backend.Node {
	c.t.Helper()
	n, err := c.Cluster.Leader(Context(c.t, leaderTimeout), except...)
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

// Followers waits for the leader (see Leader) and returns the other
// running backends.
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

// Kill is Cluster.Kill. It fails the test if backend id is not running,
// and closes the test's connection to it (see Client).
func (c *Cluster) Kill(id string) {
	c.t.Helper()
	if c.Node(id) == nil {
		c.t.Fatalf("kill %s: not running", id)
	}
	c.mu.Lock()
	if cc := c.conns[id]; cc != nil {
		_ = cc.Close()
		delete(c.conns, id)
	}
	c.mu.Unlock()
	if err := c.Cluster.Kill(id); err != nil {
		c.t.Logf("kill %s: %v", id, err)
	}
}

// Restart is Cluster.Restart.
func (c *Cluster) Restart(id string) *backend.Node {
	c.t.Helper()
	n, err := c.Cluster.Restart(id)
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

// AppliedEverywhere is Cluster.AppliedEverywhere with a timeout of 15 s.
func (c *Cluster) AppliedEverywhere(index uint64) {
	c.t.Helper()
	if err := c.Cluster.AppliedEverywhere(Context(c.t, appliedTimeout), index); err != nil {
		c.t.Fatal(err)
	}
}

// Client returns a game client of backend id, over the test's connection
// to it. The connection comes from outside any fault network, so no fault
// cuts it. Kill closes it; a graceful Stop leaves it open, so that its
// streams end as the backend ends them.
func (c *Cluster) Client(id string) pb.GameClient { return pb.NewGameClient(c.conn(id)) }

// ClusterClient returns a cluster-status client of backend id, over the
// same connection as Client.
func (c *Cluster) ClusterClient(id string) pb.ClusterClient {
	return pb.NewClusterClient(c.conn(id))
}

// ScoresClient returns a scores client of backend id, over the same
// connection as Client.
func (c *Cluster) ScoresClient(id string) pb.ScoresClient {
	return pb.NewScoresClient(c.conn(id))
}

func (c *Cluster) conn(id string) *grpc.ClientConn {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := c.conns[id]; cc != nil {
		return cc
	}
	n := c.Node(id)
	if n == nil {
		c.t.Fatalf("client of %s: not running", id)
	}
	creds := insecure.NewCredentials()
	if cfg := c.ClientTLS(pki.RoleBackend); cfg != nil {
		creds = credentials.NewTLS(cfg)
	}
	cc, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(creds))
	if err != nil {
		c.t.Fatalf("client of %s: %v", id, err)
	}
	c.conns[id] = cc
	return cc
}

// Poll is localcluster.Poll for a test: it fails t if cond does not hold
// within timeout.
func Poll(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := localcluster.Poll(ctx, what, cond); err != nil {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Context returns a context that ends after d or when the test ends.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Logger logs to stderr at warn, or at the level GALLOWS_TEST_LOG names
// (debug, info, warn, error).
func Logger() *slog.Logger {
	level := slog.LevelWarn
	if v := os.Getenv("GALLOWS_TEST_LOG"); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
