package rpc

import (
	"context"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// drain lets a stopping server end its long-lived streams. gRPC's own
// graceful stop waits for every call to end, and the streams of this
// server end only when their clients go: frontends keep room and cluster
// watches and a guess stream open for as long as they run.
//
// Once draining, server streams (WatchRoom, WatchStatus) end with
// Unavailable, so their clients resubscribe on another node. The guess
// batches taken from GuessStreams are counted until their answers are
// sent; a GuessStream answers the batches it receives from then on with
// Unavailable, so that its client sends them elsewhere, and ends, with
// Unavailable, once no batch taken on is left to answer.
type drain struct {
	ctx  context.Context // done once draining; streams end with it
	stop context.CancelFunc
	// draining is ctx being done, read on every guess batch without
	// ctx's lock.
	draining atomic.Bool

	mu   sync.Mutex
	busy int           // guess batches taken on and not yet answered
	idle chan struct{} // closed when busy is 0 while draining
}

func newDrain() *drain {
	ctx, stop := context.WithCancel(context.Background())
	return &drain{ctx: ctx, stop: stop, idle: make(chan struct{})}
}

// begin counts one guess batch taken on.
func (d *drain) begin() {
	d.mu.Lock()
	d.busy++
	d.mu.Unlock()
}

// end counts one guess batch answered.
func (d *drain) end() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.busy--
	if d.busy == 0 && d.draining.Load() {
		d.closeIdle()
	}
}

// start begins draining.
func (d *drain) start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.draining.Store(true)
	d.stop()
	if d.busy == 0 {
		d.closeIdle()
	}
}

// closeIdle closes idle once; under mu.
func (d *drain) closeIdle() {
	select {
	case <-d.idle:
	default:
		close(d.idle)
	}
}

// errDraining ends the streams of a stopping node.
var errDraining = status.Error(codes.Unavailable, "rpc: this node is shutting down; resubscribe on another")

// stream ends server streams when draining begins. A stream the client
// sends on (GuessStream) counts its batches itself, and its handler waits
// in Recv: the stream ends once draining has begun and every batch taken
// on has been answered, leaving the handler to see its Recv fail.
func (d *drain) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.IsClientStream {
		ended := make(chan error, 1)
		go func() { ended <- handler(srv, ss) }()
		select {
		case err := <-ended:
			return err
		case <-d.ctx.Done():
		}
		select {
		case err := <-ended:
			return err
		case <-d.idle:
			return errDraining
		}
	}
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	defer context.AfterFunc(d.ctx, cancel)()
	err := handler(srv, drainingStream{ServerStream: ss, ctx: ctx})
	if d.ctx.Err() != nil && ss.Context().Err() == nil {
		return errDraining
	}
	return err
}

// drainingStream is a server stream whose context also ends when the
// server drains.
type drainingStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s drainingStream) Context() context.Context { return s.ctx }
