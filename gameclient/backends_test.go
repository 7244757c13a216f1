package gameclient_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	"github.com/gallows-game/gallows/internal/pki"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

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
		if req, ok := op.Request.(*pb.GuessRequest); ok && op.Method == pb.Game_GuessStream_FullMethodName && req.GetRequestId() == requestID {
			out = append(out, op)
		}
	}
	return out
}

// newClient returns a client of the backends at addrs, closed when the test ends.
func newClient(t *testing.T, rec gameclient.Recorder, s *localtest.Cluster, addrs ...string) *gameclient.Client {
	t.Helper()
	cfg := gameclient.Config{Backends: addrs, Logger: localtest.Logger(), TLS: s.ClientTLS(pki.RoleFrontend)}
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

// waitForLeader waits until the client knows the leader s's running
// backends agree on, and returns its id.
func waitForLeader(t *testing.T, s *localtest.Cluster, c *gameclient.Client) string {
	t.Helper()
	var id string
	localtest.Poll(t, 15*time.Second, "the client to learn the leader", func() bool {
		id = s.Leader().ID()
		return c.Cluster().GetLeaderId() == id
	})
	return id
}
