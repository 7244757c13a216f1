// Package proxy takes a request to where it can be answered: this node
// when it leads, otherwise the leader, one hop away (rqlite's proxy is the
// model). While no leader is known (an election, a leader cut off) a
// request waits, up to the proxy's Hold, instead of failing at once.
//
// Writes run on the leader. Reads become linearizable here: Read makes
// this node's state reflect every write acknowledged before it began,
// with the leader's read index (Raft thesis §6.4), so any node, follower
// or leader, can then answer from its own state.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// ErrNoLeader means no leader took the request within the proxy's Hold,
// or the request was forwarded to a node that does not lead (a forwarded
// request is never forwarded again). It may be retried, on any node.
var ErrNoLeader = errors.New("no leader took the request")

// ErrNotLeader and ErrLeadershipLost are the store's errors that say this
// node no longer leads (the request goes to the next leader); the proxy
// recognises them with errors.Is.
type Store interface {
	// IsLeader reports whether this node leads and has applied every
	// entry of earlier terms.
	IsLeader() bool
	// Leader returns the leader's id, or "".
	Leader() (id, raftAddr string)
	// LeaderChanged returns a channel closed at the next leader change.
	LeaderChanged() <-chan struct{}
	// ReadIndex confirms that this node leads and returns the index a
	// state must have applied to answer a linearizable read: its commit
	// index as the read began.
	ReadIndex() (uint64, error)
	// WaitApplied waits until this node's state has applied index.
	WaitApplied(ctx context.Context, index uint64) error
}

// Config configures a Proxy.
type Config struct {
	// ID is this node's id.
	ID string
	// Store is this node's replica.
	Store Store
	// LeaderGone reports whether an error of the store says that this node
	// stopped leading while it handled the request.
	LeaderGone func(error) bool
	// Resolve returns the gRPC address of the node with the given id.
	Resolve func(id string) (addr string, ok bool)
	// Dial returns a connection to a gRPC address.
	Dial func(addr string) (*grpc.ClientConn, error)
	// Hold bounds how long a request waits for a leader (default 5s).
	Hold time.Duration
}

// Proxy runs requests on the leader, or here.
type Proxy struct {
	cfg Config
}

// New returns a Proxy for cfg.
func New(cfg Config) (*Proxy, error) {
	if cfg.ID == "" || cfg.Store == nil || cfg.LeaderGone == nil || cfg.Resolve == nil || cfg.Dial == nil {
		return nil, errors.New("proxy: id, store, leader-gone, resolve and dial are required")
	}
	if cfg.Hold <= 0 {
		cfg.Hold = 5 * time.Second
	}
	return &Proxy{cfg: cfg}, nil
}

// forwardedKey marks a request forwarded by another node: it is not
// forwarded again.
const forwardedKey = "x-gallows-forwarded-by"

// Forwarded reports whether the request of ctx was forwarded to this node
// by another one.
func Forwarded(ctx context.Context) bool {
	md, ok := metadata.FromIncomingContext(ctx)
	return ok && len(md.Get(forwardedKey)) > 0
}

// Write runs local if this node leads, or forward on a connection to the
// leader, until one of them gives an answer that is not "no leader here",
// for at most Hold. A forward is given up when this node sees the leader
// change (a leader cut off from this node would otherwise hold it until
// Hold) and sent again to the next leader: every write must be safe to
// send twice (request ids, named rounds). forward's error is returned as
// it is (a gRPC status from the leader); local's, unless it says this node
// stopped leading.
func (p *Proxy) Write(ctx context.Context, local func(context.Context) error, forward func(context.Context, grpc.ClientConnInterface) error) error {
	return p.run(ctx, func(ctx context.Context) (bool, error) {
		err := local(ctx)
		return p.cfg.LeaderGone(err), err
	}, forward)
}

// Read returns once this node's state reflects every write acknowledged
// before Read was called: once it has applied the leader's read index (on
// the leader, after a heartbeat round confirms it still leads). It waits
// for a leader as Write does.
func (p *Proxy) Read(ctx context.Context) error {
	var index uint64
	err := p.run(ctx, func(context.Context) (bool, error) {
		var err error
		index, err = p.cfg.Store.ReadIndex()
		return p.cfg.LeaderGone(err), err
	}, func(ctx context.Context, cc grpc.ClientConnInterface) error {
		rep, err := pb.NewClusterClient(cc).ReadIndex(ctx, &pb.ReadIndexRequest{})
		index = rep.GetIndex()
		return err
	})
	if err != nil {
		return err
	}
	// The read index stays a valid bound whoever leads next.
	return p.cfg.Store.WaitApplied(ctx, index)
}

// run is Write and Read: local runs on the leader and reports whether it
// found this node no longer leads; forward runs against the leader.
func (p *Proxy) run(ctx context.Context, local func(context.Context) (gone bool, err error), forward func(context.Context, grpc.ClientConnInterface) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Hold)
	defer cancel()
	forwarded := Forwarded(ctx)
	var last error
	for {
		changed := p.cfg.Store.LeaderChanged()
		leaderID, _ := p.cfg.Store.Leader()
		switch {
		case p.cfg.Store.IsLeader():
			gone, err := local(ctx)
			if !gone {
				return err
			}
			last = err
		case leaderID == p.cfg.ID:
			// Elected, and still applying what earlier terms committed:
			// it leads once that is done.
			last = errors.New("this node was just elected and is catching up")
		case forwarded:
			// One hop only: the forwarding node retries on the leader it learns of next.
			return fmt.Errorf("%w: node %s is not the leader (leader: %q)", ErrNoLeader, p.cfg.ID, leaderID)
		case leaderID != "":
			addr, ok := p.cfg.Resolve(leaderID)
			if !ok {
				last = fmt.Errorf("leader %s has no known gRPC address yet", leaderID)
				break
			}
			cc, err := p.cfg.Dial(addr)
			if err != nil {
				// This node is shutting down: another one can take the request.
				return status.Error(codes.Unavailable, err.Error())
			}
			fctx, stop := untilClosed(metadata.AppendToOutgoingContext(ctx, forwardedKey, p.cfg.ID), changed)
			err = forward(fctx, cc)
			stop()
			if isClosed(changed) && status.Code(err) == codes.Canceled && ctx.Err() == nil {
				last = fmt.Errorf("the leader changed while the request was forwarded to %s", leaderID)
				break
			}
			if status.Code(err) != codes.Unavailable {
				return err
			}
			last = err
		default:
			last = errors.New("no leader elected")
		}
		// Wait for a leader change or a short jittered pause, then retry.
		pause := time.Duration(10+rand.IntN(40)) * time.Millisecond
		t := time.NewTimer(pause)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w in %v: %w", ErrNoLeader, p.cfg.Hold, last)
		}
		t.Stop()
	}
}

// untilClosed returns a context that ends with ctx or when ch is closed;
// stop releases it.
func untilClosed(ctx context.Context, ch <-chan struct{}) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
