package gameclient

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

const (
	// guessesInflight is how many GuessBatch calls may be out to one
	// backend at once; guesses made meanwhile wait and go together.
	guessesInflight = 2
	// maxGuessesPerCall caps one GuessBatch call: backends take up to 256
	// (rpc.MaxGuessBatch), so that a reply stays under 4 MiB.
	maxGuessesPerCall = 256
)

// queuedGuess is one guess waiting for its GuessBatch call.
type queuedGuess struct {
	ctx   context.Context
	req   *pb.GuessRequest
	reply *pb.GuessReply
	err   error
	done  chan struct{} // closed once reply or err is set
}

// guessBatcher sends the guesses made through one backend connection in
// GuessBatch calls. A guess made while no call is out goes at once; guesses
// made while guessesInflight calls are out wait, and the next call takes
// all of them. Under load many guesses thus share one call, and the leader
// commits them in one log entry; alone, a guess costs one call, as Guess.
type guessBatcher struct {
	call  func(context.Context, *pb.GuessBatchRequest, ...grpc.CallOption) (*pb.GuessBatchReply, error)
	queue chan *queuedGuess
}

func newGuessBatcher(game pb.GameClient) *guessBatcher {
	return &guessBatcher{call: game.GuessBatch, queue: make(chan *queuedGuess, 1024)}
}

// guess queues req and waits for its answer: a reply, or the error the
// backend gave this guess (as a status, like Guess's), or the error of the
// whole call. ctx bounds the wait; a guess whose ctx ends before its call
// is sent is not sent.
func (b *guessBatcher) guess(ctx context.Context, req *pb.GuessRequest) (*pb.GuessReply, error) {
	q := &queuedGuess{ctx: ctx, req: req, done: make(chan struct{})}
	select {
	case b.queue <- q:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	select {
	case <-q.done:
		return q.reply, q.err
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// run sends the queued guesses until ctx ends; then it fails those still
// queued with ErrClosed and waits for the calls out.
func (b *guessBatcher) run(ctx context.Context) {
	slots := make(chan struct{}, guessesInflight)
	defer func() {
		for range guessesInflight {
			slots <- struct{}{}
		}
		for {
			select {
			case q := <-b.queue:
				q.finish(nil, ErrClosed)
			default:
				return
			}
		}
	}()
	for {
		// Take a free call first: the guesses that wait meanwhile stay in
		// the queue, and all go out together.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		var first *queuedGuess
		select {
		case first = <-b.queue:
		case <-ctx.Done():
			<-slots
			return
		}
		batch := []*queuedGuess{first}
	drain:
		for len(batch) < maxGuessesPerCall {
			select {
			case q := <-b.queue:
				batch = append(batch, q)
			default:
				break drain
			}
		}
		go func() {
			defer func() { <-slots }()
			b.send(ctx, batch)
		}()
	}
}

// send makes one GuessBatch call for the guesses of batch still wanted,
// bounded by the latest of their deadlines, and hands out the answers.
func (b *guessBatcher) send(ctx context.Context, batch []*queuedGuess) {
	req := &pb.GuessBatchRequest{Guesses: make([]*pb.GuessRequest, 0, len(batch))}
	sent := batch[:0]
	var deadline time.Time
	for _, q := range batch {
		if q.ctx.Err() != nil {
			q.finish(nil, status.FromContextError(q.ctx.Err()).Err())
			continue
		}
		d, ok := q.ctx.Deadline()
		if !ok {
			d = time.Now().Add(DefaultCallTimeout)
		}
		deadline = maxTime(deadline, d)
		req.Guesses = append(req.Guesses, q.req)
		sent = append(sent, q)
	}
	if len(sent) == 0 {
		return
	}
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	rep, err := b.call(cctx, req)
	if err == nil && len(rep.GetOutcomes()) != len(sent) {
		err = status.Errorf(codes.Internal, "gameclient: GuessBatch answered %d guesses of %d", len(rep.GetOutcomes()), len(sent))
	}
	for i, q := range sent {
		if err != nil {
			q.finish(nil, err)
			continue
		}
		o := rep.GetOutcomes()[i]
		switch {
		case o.GetReply() != nil:
			q.finish(o.GetReply(), nil)
		case o.GetError() != nil:
			q.finish(nil, outcomeError(o.GetError()))
		default:
			q.finish(nil, status.Error(codes.Internal, fmt.Sprintf("gameclient: GuessBatch left guess %d unanswered", i)))
		}
	}
}

func (q *queuedGuess) finish(reply *pb.GuessReply, err error) {
	q.reply, q.err = reply, err
	close(q.done)
}

// outcomeError turns the error a backend gave one guess of a batch into the
// status error Guess would have returned: same code, message and reason.
func outcomeError(e *pb.Error) error {
	st := status.New(codes.Code(e.GetCode()), e.GetMessage())
	if e.GetReason() != pb.ErrorReason_ERROR_REASON_UNSPECIFIED {
		if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: e.GetReason().String(), Domain: errorDomain}); err == nil {
			st = d
		}
	}
	return st.Err()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
