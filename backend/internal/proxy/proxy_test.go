package proxy

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

var errGone = errors.New("no longer the leader")

// fakeStore is a node's replica as the proxy sees it: who leads, and what
// ReadIndex and WaitApplied were asked.
type fakeStore struct {
	mu       sync.Mutex
	leading  bool
	leader   string
	changed  chan struct{}
	index    uint64 // what ReadIndex answers
	indexErr error
	waited   []uint64 // WaitApplied's indexes
}

func newFakeStore(leading bool, leader string) *fakeStore {
	return &fakeStore{leading: leading, leader: leader, changed: make(chan struct{})}
}

func (f *fakeStore) IsLeader() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leading
}

func (f *fakeStore) Leader() (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leader, ""
}

func (f *fakeStore) LeaderChanged() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// elect makes id the leader; this node leads if leading.
func (f *fakeStore) elect(id string, leading bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leader, f.leading = id, leading
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeStore) ReadIndex() (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.index, f.indexErr
}

func (f *fakeStore) WaitApplied(_ context.Context, index uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waited = append(f.waited, index)
	return nil
}

// leaderServer serves the cluster service's ReadIndex, as a leader.
type leaderServer struct {
	pb.UnimplementedClusterServer
	index     uint64
	forwarded chan bool // whether each call came marked forwarded
}

func (l *leaderServer) ReadIndex(ctx context.Context, _ *pb.ReadIndexRequest) (*pb.ReadIndexReply, error) {
	l.forwarded <- Forwarded(ctx)
	return &pb.ReadIndexReply{Index: l.index}, nil
}

// serveLeader starts a gRPC server as the leader's and returns its address.
func serveLeader(t *testing.T, l *leaderServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterClusterServer(s, l)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

func newProxy(t *testing.T, st *fakeStore, addrs map[string]string, hold time.Duration) *Proxy {
	t.Helper()
	p, err := New(Config{
		ID: "b1", Store: st, Hold: hold,
		LeaderGone: func(err error) bool { return errors.Is(err, errGone) },
		Resolve: func(id string) (string, bool) {
			a, ok := addrs[id]
			return a, ok
		},
		Dial: func(addr string) (*grpc.ClientConn, error) {
			cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err == nil {
				t.Cleanup(func() { _ = cc.Close() })
			}
			return cc, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWriteRunsWhereTheLeaderIs(t *testing.T) {
	tests := []struct {
		name      string
		leading   bool
		leader    string
		forwarded bool
		local     func(context.Context) error
		wantLocal int
		wantFwd   int
		wantErr   error
	}{
		{name: "leader runs it here", leading: true, leader: "b1", wantLocal: 1},
		{name: "follower forwards it", leader: "b2", wantFwd: 1},
		{name: "forwarded to a follower: no second hop", leader: "b2", forwarded: true, wantErr: ErrNoLeader},
		{name: "no leader within the hold", wantErr: ErrNoLeader},
		{name: "a local answer that is not about leadership is final", leading: true, leader: "b1",
			local: func(context.Context) error { return errBoom }, wantLocal: 1, wantErr: errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProxy(t, newFakeStore(tt.leading, tt.leader), map[string]string{"b2": "127.0.0.1:1"}, 100*time.Millisecond)
			ctx := context.Background()
			if tt.forwarded {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(forwardedKey, "b3"))
			}
			var locals, fwds int
			err := p.Write(ctx, func(ctx context.Context) error {
				locals++
				if tt.local != nil {
					return tt.local(ctx)
				}
				return nil
			}, func(ctx context.Context, _ grpc.ClientConnInterface) error {
				fwds++
				if md, _ := metadata.FromOutgoingContext(ctx); len(md.Get(forwardedKey)) != 1 {
					t.Error("a forward does not carry the forwarded mark")
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) || locals != tt.wantLocal || fwds != tt.wantFwd {
				t.Fatalf("Write = %v after %d local and %d forwarded tries; want %v, %d and %d", err, locals, fwds, tt.wantErr, tt.wantLocal, tt.wantFwd)
			}
		})
	}
}

var errBoom = errors.New("boom")

// A write that finds this node deposed mid-way waits for the next leader
// and goes there; one forwarded to a leader that answers Unavailable is
// tried again.
func TestWriteFollowsTheNextLeader(t *testing.T) {
	st := newFakeStore(true, "b1")
	p := newProxy(t, st, map[string]string{"b2": "127.0.0.1:1"}, 5*time.Second)
	var fwds int
	err := p.Write(context.Background(), func(context.Context) error {
		go st.elect("b2", false)
		return errGone
	}, func(context.Context, grpc.ClientConnInterface) error {
		if fwds++; fwds == 1 {
			return status.Error(codes.Unavailable, "electing")
		}
		return nil
	})
	if err != nil || fwds != 2 {
		t.Fatalf("Write = %v after %d forwards, want success on the second", err, fwds)
	}
}

func TestReadUsesTheLeadersReadIndex(t *testing.T) {
	t.Run("leader", func(t *testing.T) {
		st := newFakeStore(true, "b1")
		st.index = 7
		if err := newProxy(t, st, nil, time.Second).Read(context.Background()); err != nil || len(st.waited) != 1 || st.waited[0] != 7 {
			t.Fatalf("Read = %v, waited for %v; want its own read index 7 applied", err, st.waited)
		}
	})
	t.Run("deposed leader does not answer", func(t *testing.T) {
		st := newFakeStore(true, "b1")
		st.indexErr = errGone // its heartbeat round failed
		err := newProxy(t, st, nil, 100*time.Millisecond).Read(context.Background())
		if !errors.Is(err, ErrNoLeader) {
			t.Fatalf("Read = %v, want ErrNoLeader", err)
		}
	})
	t.Run("follower waits for the leader's index", func(t *testing.T) {
		l := &leaderServer{index: 42, forwarded: make(chan bool, 1)}
		st := newFakeStore(false, "b2")
		err := newProxy(t, st, map[string]string{"b2": serveLeader(t, l)}, 5*time.Second).Read(context.Background())
		if err != nil || len(st.waited) != 1 || st.waited[0] != 42 {
			t.Fatalf("Read = %v, waited for %v; want to wait for index 42", err, st.waited)
		}
		if !<-l.forwarded {
			t.Error("the read index request does not say it was forwarded")
		}
	})
}
