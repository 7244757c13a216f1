package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// relay carries the guess batches a follower takes to the leader, on one
// GuessStream of its own per leader connection: one hop, and no call per
// batch. Batches are renumbered on the relay's stream and their answers
// handed back to whoever waits for them. When the stream breaks, every
// batch waiting on it fails with Unavailable (its guesses may or may not
// have been applied) and the next batch opens a new stream; the guesses
// carry request ids, so sending them again is safe.
type relay struct {
	mu      sync.Mutex
	streams map[grpc.ClientConnInterface]*relayStream
}

func newRelay() *relay {
	return &relay{streams: map[grpc.ClientConnInterface]*relayStream{}}
}

// relayStream is one open GuessStream to a leader and the batches waiting
// for their answers on it.
type relayStream struct {
	send   chan *pb.GuessBatchRequest // to the sending goroutine
	mu     sync.Mutex
	nextID uint64
	wait   map[uint64]chan *pb.GuessBatchReply
	err    error // set once the stream broke
	done   chan struct{}
}

// batch sends req on the stream to cc (opened with ctx's outgoing
// metadata if there is none yet) and returns its answer, or an error when
// the stream breaks or ctx ends first.
func (r *relay) batch(ctx context.Context, cc grpc.ClientConnInterface, req *pb.GuessBatchRequest) (*pb.GuessBatchReply, error) {
	rs, err := r.stream(ctx, cc)
	if err != nil {
		return nil, err
	}
	ch := make(chan *pb.GuessBatchReply, 1)
	rs.mu.Lock()
	if rs.err != nil {
		err := rs.err
		rs.mu.Unlock()
		return nil, err
	}
	rs.nextID++
	id := rs.nextID
	rs.wait[id] = ch
	rs.mu.Unlock()
	defer func() {
		rs.mu.Lock()
		delete(rs.wait, id)
		rs.mu.Unlock()
	}()
	out := &pb.GuessBatchRequest{Id: id, Guesses: req.GetGuesses(), TimeoutMs: req.GetTimeoutMs()}
	if dl, ok := ctx.Deadline(); ok {
		if ms := uint32(max(1, min(int64(^uint32(0)), time.Until(dl).Milliseconds()))); out.TimeoutMs == 0 || ms < out.TimeoutMs {
			out.TimeoutMs = ms
		}
	}
	select {
	case rs.send <- out:
	case <-rs.done:
		return nil, rs.failure()
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	select {
	case rep := <-ch:
		return rep, nil
	case <-rs.done:
		return nil, rs.failure()
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (rs *relayStream) failure() error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.err
}

// stream returns the open stream to cc, opening one if there is none.
// The stream lives on after ctx, until it breaks or the connection
// closes; it carries ctx's outgoing metadata (the forwarded mark).
func (r *relay) stream(ctx context.Context, cc grpc.ClientConnInterface) (*relayStream, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rs, ok := r.streams[cc]; ok {
		select {
		case <-rs.done:
		default:
			return rs, nil
		}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s, err := pb.NewGameClient(cc).GuessStream(sctx)
	if err != nil {
		cancel()
		return nil, err
	}
	rs := &relayStream{send: make(chan *pb.GuessBatchRequest), wait: map[uint64]chan *pb.GuessBatchReply{}, done: make(chan struct{})}
	r.streams[cc] = rs
	fail := func(err error) {
		rs.mu.Lock()
		if rs.err == nil {
			if status.Code(err) == codes.OK || status.Code(err) == codes.Unknown {
				err = status.Error(codes.Unavailable, fmt.Sprintf("relay to the leader broke: %v", err))
			}
			rs.err = err
			close(rs.done)
		}
		rs.mu.Unlock()
		cancel()
	}
	go func() {
		for {
			select {
			case req := <-rs.send:
				if err := s.Send(req); err != nil {
					fail(err)
					return
				}
			case <-rs.done:
				return
			}
		}
	}()
	go func() {
		for {
			rep, err := s.Recv()
			if err != nil {
				if errors.Is(err, context.Canceled) {
					err = status.Error(codes.Unavailable, "relay stream closed")
				}
				fail(err)
				return
			}
			rs.mu.Lock()
			ch := rs.wait[rep.GetId()]
			rs.mu.Unlock()
			if ch != nil {
				ch <- rep // buffered, and answered once
			}
		}
	}()
	return rs, nil
}
