package gameclient

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

const (
	// maxBatchesInflight is how many batches may be out on one backend's
	// guess stream at once; guesses made meanwhile wait and go together.
	maxBatchesInflight = 4
	// bigBatch is how many waiting guesses go out at once even when
	// maxBatchesInflight batches are out: waiting longer would not make
	// the message much cheaper per guess.
	bigBatch = 8
	// overdueGrace is how much longer than a batch's timeout its stream
	// waits for the answer before it gives the stream up as broken.
	overdueGrace = time.Second
)

// queuedGuess is one guess waiting to go out in a batch, then for its outcome.
type queuedGuess struct {
	ctx     context.Context
	req     *pb.GuessRequest
	outcome []byte // the encoded pb.GuessOutcome, or nil when err is set
	err     error
	done    chan struct{} // closed once outcome or err is set
}

// guessBatcher sends the guesses made through one backend connection on
// one GuessStream. A guess made while the stream is idle goes at once, in
// a batch of its own; guesses made while maxBatchesInflight batches are
// out wait, and the next batch takes all of them: when one of those
// batches is answered, or as soon as bigBatch guesses wait. So under load
// many guesses share one message and one log entry, no guess waits for an
// earlier answer while fewer batches are out, and a crowd of guesses does
// not wait at all.
type guessBatcher struct {
	open    openStream
	queue   chan *queuedGuess
	full    chan struct{}   // signalled when bigBatch guesses wait, at most one signal pending
	stopped <-chan struct{} // closed when the client closes
}

// guessStreamClient is the client side of a GuessStream whose replies are
// read as pb.GuessBatchReplyEncoded: each outcome is decoded by the caller
// waiting for it.
type guessStreamClient = grpc.BidiStreamingClient[pb.GuessBatchRequest, pb.GuessBatchReplyEncoded]

// openStream opens a GuessStream.
type openStream func(context.Context) (guessStreamClient, error)

func newGuessBatcher(cc grpc.ClientConnInterface, stopped <-chan struct{}) *guessBatcher {
	var desc *grpc.StreamDesc
	for i, d := range pb.Game_ServiceDesc.Streams {
		if d.StreamName == "GuessStream" {
			desc = &pb.Game_ServiceDesc.Streams[i]
		}
	}
	open := func(ctx context.Context) (guessStreamClient, error) {
		cs, err := cc.NewStream(ctx, desc, pb.Game_GuessStream_FullMethodName)
		if err != nil {
			return nil, err
		}
		return &grpc.GenericClientStream[pb.GuessBatchRequest, pb.GuessBatchReplyEncoded]{ClientStream: cs}, nil
	}
	return &guessBatcher{open: open, queue: make(chan *queuedGuess, 1024), full: make(chan struct{}, 1), stopped: stopped}
}

// guess queues req and waits for its answer: a reply, or the error the
// backend gave this guess (as a status, like Guess's), or Unavailable when
// the stream broke. ctx bounds the wait; a guess whose ctx ends before its
// batch is sent is not sent.
func (b *guessBatcher) guess(ctx context.Context, req *pb.GuessRequest) (*pb.GuessReply, error) {
	q := &queuedGuess{ctx: ctx, req: req, done: make(chan struct{})}
	select {
	case b.queue <- q:
		if len(b.queue) >= bigBatch {
			select {
			case b.full <- struct{}{}:
			default:
			}
		}
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-b.stopped:
		return nil, ErrClosed
	}
	select {
	case <-q.done:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-b.stopped:
		return nil, ErrClosed
	}
	if q.err != nil {
		return nil, q.err
	}
	var o pb.GuessOutcome
	if err := proto.Unmarshal(q.outcome, &o); err != nil {
		return nil, status.Errorf(codes.Internal, "gameclient: decode the outcome of a guess: %v", err)
	}
	switch {
	case o.GetReply() != nil:
		return o.GetReply(), nil
	case o.GetError() != nil:
		return nil, OutcomeError(o.GetError())
	default:
		return nil, status.Error(codes.Internal, "gameclient: GuessStream left a guess unanswered")
	}
}

// run sends the queued guesses until ctx ends; then it fails those still
// queued with ErrClosed, ends the stream and waits for its reader.
func (b *guessBatcher) run(ctx context.Context) {
	slots := make(chan struct{}, maxBatchesInflight)
	var gs *guessStream
	defer func() {
		if gs != nil {
			gs.close()
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
	var id uint64
	for {
		// Take a free slot first: the guesses made meanwhile stay in the
		// queue, and all go out together. A big enough crowd of them goes
		// without a slot (extra).
		extra := false
		select {
		case slots <- struct{}{}:
		case <-b.full:
			if len(b.queue) < bigBatch {
				continue // they went out with the last batch
			}
			extra = true
		case <-ctx.Done():
			return
		}
		var first *queuedGuess
		select {
		case first = <-b.queue:
		case <-ctx.Done():
			return
		}
		batch := []*queuedGuess{first}
	drain:
		for len(batch) < pb.MaxGuessBatch {
			select {
			case q := <-b.queue:
				batch = append(batch, q)
			default:
				break drain
			}
		}
		release := func() {
			if !extra {
				<-slots
			}
		}
		req, batch := newBatchRequest(batch)
		if len(batch) == 0 {
			release()
			continue
		}
		if gs == nil || gs.broken() {
			if gs != nil {
				gs.close()
			}
			var err error
			if gs, err = openGuessStream(ctx, b.open, slots); err != nil {
				gs = nil
				finishAll(batch, nil, err)
				release()
				continue
			}
		}
		id++
		req.Id = id
		gs.send(req, batch, !extra)
	}
}

// newBatchRequest builds the request for the guesses of batch still
// wanted, with the timeout of the latest of their deadlines, and returns
// them.
func newBatchRequest(batch []*queuedGuess) (*pb.GuessBatchRequest, []*queuedGuess) {
	req := &pb.GuessBatchRequest{Guesses: make([]*pb.GuessRequest, 0, len(batch))}
	wanted := batch[:0]
	var deadline time.Time
	for _, q := range batch {
		if q.ctx.Err() != nil {
			q.finish(nil, status.FromContextError(q.ctx.Err()).Err())
			continue
		}
		d, ok := q.ctx.Deadline()
		if !ok {
			d = time.Now().Add(DefaultAttemptTimeout)
		}
		deadline = maxTime(deadline, d)
		req.Guesses = append(req.Guesses, q.req)
		wanted = append(wanted, q)
	}
	req.TimeoutMs = uint32(max(time.Until(deadline), time.Millisecond) / time.Millisecond)
	return req, wanted
}

// guessStream is one open GuessStream and the batches sent on it that
// wait for their answers.
type guessStream struct {
	stream guessStreamClient
	cancel context.CancelFunc
	slots  chan struct{} // one taken per batch out; given back when it is answered
	done   chan struct{} // closed when the reader has ended

	mu      sync.Mutex
	pending map[uint64]*sentBatch
	err     error // why the stream broke; nil while it works
}

// sentBatch is a batch out on a stream, waiting for its answer.
type sentBatch struct {
	guesses []*queuedGuess
	slot    bool // the batch holds one of the slots
	// overdue ends the stream if no answer came by the batch's timeout: a
	// backend cut off from the network or stalled answers nothing, and its
	// TCP connection may take minutes to break.
	overdue *time.Timer
}

func openGuessStream(ctx context.Context, open openStream, slots chan struct{}) (*guessStream, error) {
	sctx, cancel := context.WithCancel(ctx)
	stream, err := open(sctx)
	if err != nil {
		cancel()
		return nil, streamBroke(err)
	}
	gs := &guessStream{stream: stream, cancel: cancel, slots: slots, done: make(chan struct{}), pending: map[uint64]*sentBatch{}}
	go gs.read()
	return gs, nil
}

// send sends req for batch; the reader hands out the answers.
func (gs *guessStream) send(req *pb.GuessBatchRequest, batch []*queuedGuess, slot bool) {
	gs.mu.Lock()
	if gs.err != nil {
		err := gs.err
		gs.mu.Unlock()
		finishAll(batch, nil, err)
		if slot {
			<-gs.slots
		}
		return
	}
	timeout := time.Duration(req.GetTimeoutMs())*time.Millisecond + overdueGrace
	gs.pending[req.GetId()] = &sentBatch{guesses: batch, slot: slot, overdue: time.AfterFunc(timeout, gs.cancel)}
	gs.mu.Unlock()
	if err := gs.stream.Send(req); err != nil {
		// The reader learns why from Recv; make sure it does.
		gs.cancel()
	}
}

// read hands out answers until the stream ends, then fails what is left.
func (gs *guessStream) read() {
	defer close(gs.done)
	for {
		rep, err := gs.stream.Recv()
		if err != nil {
			gs.fail(streamBroke(err))
			return
		}
		gs.mu.Lock()
		sent, ok := gs.pending[rep.GetId()]
		delete(gs.pending, rep.GetId())
		gs.mu.Unlock()
		if !ok {
			continue
		}
		sent.overdue.Stop()
		deliver(sent.guesses, rep)
		if sent.slot {
			<-gs.slots
		}
	}
}

// fail marks the stream broken and fails every batch still waiting.
func (gs *guessStream) fail(err error) {
	gs.mu.Lock()
	gs.err = err
	pending := gs.pending
	gs.pending = map[uint64]*sentBatch{}
	gs.mu.Unlock()
	for _, sent := range pending {
		sent.overdue.Stop()
		finishAll(sent.guesses, nil, err)
		if sent.slot {
			<-gs.slots
		}
	}
}

func (gs *guessStream) broken() bool {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	return gs.err != nil
}

// close ends the stream and waits for its reader, which fails the batches
// still waiting.
func (gs *guessStream) close() {
	_ = gs.stream.CloseSend()
	gs.cancel()
	<-gs.done
}

// streamBroke is the error of the guesses of a stream that broke: always
// Unavailable, so that they are retried on another backend.
func streamBroke(err error) error {
	return status.Error(codes.Unavailable, fmt.Sprintf("gameclient: guess stream broke: %v", err))
}

// deliver hands each guess of batch its encoded outcome in rep.
func deliver(batch []*queuedGuess, rep *pb.GuessBatchReplyEncoded) {
	if len(rep.GetOutcomes()) != len(batch) {
		finishAll(batch, nil, status.Errorf(codes.Internal, "gameclient: GuessStream answered %d guesses of %d", len(rep.GetOutcomes()), len(batch)))
		return
	}
	for i, q := range batch {
		q.finish(rep.GetOutcomes()[i], nil)
	}
}

func finishAll(batch []*queuedGuess, outcome []byte, err error) {
	for _, q := range batch {
		q.finish(outcome, err)
	}
}

func (q *queuedGuess) finish(outcome []byte, err error) {
	q.outcome, q.err = outcome, err
	close(q.done)
}

// OutcomeError is the error an Error outcome of a guess batch stands for:
// the status error a call for that guess alone would fail with (code,
// message, and the reason as an ErrorInfo, which Reason reads).
func OutcomeError(e *pb.Error) error {
	return reasonStatus(codes.Code(e.GetCode()), e.GetMessage(), e.GetReason())
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
