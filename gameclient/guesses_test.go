package gameclient_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// gatedGame holds every batch until the test releases it, and records the
// request ids of each batch.
type gatedGame struct {
	fakeGame
	arrived chan []string // the request ids of each batch, as it arrives
	release chan struct{} // one receive lets one batch answer
	ended   chan error    // receives why a held batch ended unanswered, if it has room
}

func (g *gatedGame) GuessStream(stream pb.Game_GuessStreamServer) error {
	return serveGuessStream(stream, g.batch)
}

func (g *gatedGame) batch(ctx context.Context, req *pb.GuessBatchRequest) (*pb.GuessBatchReply, error) {
	var ids []string
	for _, r := range req.GetGuesses() {
		ids = append(ids, r.GetRequestId())
	}
	g.arrived <- ids
	select {
	case <-g.release:
	case <-ctx.Done():
		select {
		case g.ended <- ctx.Err():
		default:
		}
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return g.fakeGame.batch(ctx, req)
}

// TestGuessesMadeMeanwhileShareOneBatch: while MaxBatchesInflight batches
// are out on a backend's guess stream, further guesses wait and then go
// out together in one batch, either when a batch is answered or, without
// waiting for that, as soon as BigBatch of them wait. Each caller gets its
// own answer.
func TestGuessesMadeMeanwhileShareOneBatch(t *testing.T) {
	tests := []struct {
		name    string
		waiting int
		release bool // whether a held batch must be answered before they go
	}{
		{"a few wait for an answer", gameclient.BigBatch - 1, true},
		{"a crowd goes at once", gameclient.BigBatch, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &gatedGame{arrived: make(chan []string, 16), release: make(chan struct{})}
			addr := startServer(t, g)
			rec := &recorder{}
			c := fakeClient(t, rec, 5*time.Second, addr)
			ctx := localtest.Context(t, 10*time.Second)

			type answer struct {
				id  string
				rep *pb.GuessReply
				err error
			}
			out := gameclient.MaxBatchesInflight
			answers := make(chan answer, out+tt.waiting)
			guess := func(id, letter string) {
				rep, err := c.Guess(ctx, &pb.GuessRequest{RoomId: "ROOM" + id, Player: "p" + id, PlayerId: gameclient.BotPlayerID("p" + id), Letter: letter, RequestId: id})
				answers <- answer{id, rep, err}
			}
			// The first guesses go out at once, one batch each, and are held.
			var held [][]string
			for i := range out {
				go guess(fmt.Sprintf("h%d", i), "e")
				held = append(held, <-g.arrived)
			}
			// More guesses (one of them invalid) come while all are held.
			var wg sync.WaitGroup
			for i := range tt.waiting {
				letter := "e"
				if i == 3 {
					letter = "7"
				}
				wg.Go(func() { guess(fmt.Sprintf("w%d", i), letter) })
			}
			var next []string
			if tt.release {
				localtest.Poll(t, 5*time.Second, "the guesses queued", func() bool {
					return gameclient.QueuedGuesses(c, addr) == tt.waiting
				})
				g.release <- struct{}{} // one held batch answers; the next batch takes them all
				next = <-g.arrived
				out-- // answered already
			} else {
				next = <-g.arrived // nothing answered: the crowd went on its own
			}
			for range out + 1 {
				g.release <- struct{}{}
			}
			wg.Wait()

			for i, ids := range held {
				if len(ids) != 1 {
					t.Errorf("held batch %d carried %v, want one guess", i, ids)
				}
			}
			if len(next) != tt.waiting {
				t.Fatalf("the next batch carried %v, want the %d guesses that came meanwhile", next, tt.waiting)
			}
			for range gameclient.MaxBatchesInflight + tt.waiting {
				a := <-answers
				switch {
				case a.id == "w3":
					if status.Code(a.err) != codes.InvalidArgument || gameclient.Reason(a.err) != pb.ErrorReason_ERROR_REASON_INVALID_LETTER {
						t.Errorf("guess %s: err = %v, want InvalidArgument INVALID_LETTER", a.id, a.err)
					}
				case a.err != nil:
					t.Errorf("guess %s: %v", a.id, a.err)
				case a.rep.GetRoom().GetId() != "ROOM"+a.id:
					t.Errorf("guess %s got the answer for room %s", a.id, a.rep.GetRoom().GetId())
				}
			}
			if n := len(rec.guessAttempts("w0")); n != 1 {
				t.Errorf("guess w0 recorded %d attempts, want 1", n)
			}
		})
	}
}

// TestGuessOnBrokenStreamIsRetriedElsewhere: when the backend holding a
// batch goes away, its guesses fail as Unavailable and are retried, with
// the same request ids, on another backend.
func TestGuessOnBrokenStreamIsRetriedElsewhere(t *testing.T) {
	g := &gatedGame{arrived: make(chan []string, 16), release: make(chan struct{})}
	gated, stop := serveGame(t, g)
	// The other backend says "no quorum" once, so whichever backend the
	// client tries first, the guess reaches the gated one.
	other := &fakeGame{noQuorum: 1}
	rec := &recorder{}
	c := fakeClient(t, rec, 5*time.Second, gated, startFake(t, other))
	ctx := localtest.Context(t, 10*time.Second)

	done := make(chan error, 1)
	go func() {
		_, err := c.Guess(ctx, &pb.GuessRequest{RoomId: "ABCDE", Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "e", RequestId: "bo-e"})
		done <- err
	}()
	if ids := <-g.arrived; len(ids) != 1 || ids[0] != "bo-e" {
		t.Fatalf("the gated backend got %v, want [bo-e]", ids)
	}
	stop() // it dies holding the guess
	if err := <-done; err != nil {
		t.Fatalf("guess: %v", err)
	}
	ids := other.seen()
	for _, id := range ids {
		if id != "bo-e" {
			t.Fatalf("the surviving backend saw request ids %v, want bo-e only", ids)
		}
	}
	if len(ids) < 2 {
		t.Fatalf("the surviving backend saw %v, want the refused attempt and the retry", ids)
	}
}

// TestStalledBackendIsLeftAfterAttemptTimeout: a guess that a backend
// takes but does not answer is sent to the next backend after
// AttemptTimeout, long before the call's Timeout.
func TestStalledBackendIsLeftAfterAttemptTimeout(t *testing.T) {
	stalled := &gatedGame{arrived: make(chan []string, 16), release: make(chan struct{}), ended: make(chan error, 1)} // never released
	// The other backend says "no quorum" once, so whichever backend the
	// client tries first, the guess reaches the stalled one.
	other := &fakeGame{noQuorum: 1}
	rec := &recorder{}
	c, err := gameclient.New(gameclient.Config{
		Backends: []string{startServer(t, stalled), startFake(t, other)}, Logger: localtest.Logger(), Recorder: rec,
		Timeout: 20 * time.Second, AttemptTimeout: 200 * time.Millisecond, HedgeAfter: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx := localtest.Context(t, 5*time.Second) // far below Timeout
	if _, err := c.Guess(ctx, &pb.GuessRequest{RoomId: "ABCDE", Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "e", RequestId: "bo-e"}); err != nil {
		t.Fatalf("guess: %v", err)
	}
	if ids := <-stalled.arrived; len(ids) != 1 || ids[0] != "bo-e" {
		t.Fatalf("the stalled backend got %v, want [bo-e]", ids)
	}
	var timedOut bool
	for _, op := range rec.guessAttempts("bo-e") {
		timedOut = timedOut || status.Code(op.Err) == codes.DeadlineExceeded
	}
	if !timedOut {
		t.Fatalf("no attempt ended with DeadlineExceeded: %+v", rec.guessAttempts("bo-e"))
	}
	// The client gives the stream with the unanswered batch up, so that the
	// stalled backend holds none of its batch slots.
	select {
	case <-stalled.ended:
	case <-ctx.Done():
		t.Fatal("the client kept the stream to the stalled backend open")
	}
}

// TestUnansweredWriteIsHedgedOnAnotherBackend: a guess a backend takes but
// does not answer is also sent to another backend after HedgeAfter, long
// before AttemptTimeout, and the first answer wins; the backend that
// did not answer is then tried last.
func TestUnansweredWriteIsHedgedOnAnotherBackend(t *testing.T) {
	stalled := &gatedGame{arrived: make(chan []string, 16), release: make(chan struct{}), ended: make(chan error, 16)} // never released
	stalledAddr, goodAddr := startServer(t, stalled), startFake(t, &fakeGame{})
	rec := &recorder{}
	const hedgeAfter = 500 * time.Millisecond // far above an answer from the good backend, even on a busy machine
	c, err := gameclient.New(gameclient.Config{
		Backends: []string{stalledAddr, goodAddr}, Logger: localtest.Logger(), Recorder: rec,
		Timeout: time.Minute, AttemptTimeout: time.Minute, HedgeAfter: hedgeAfter,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// Far below AttemptTimeout: a guess that went to the stalled backend
	// first can only be answered through a hedge.
	ctx := localtest.Context(t, 20*time.Second)
	called := map[string]time.Time{} // when each guess was made
	guess := func(id string) {
		t.Helper()
		called[id] = time.Now()
		if _, err := c.Guess(ctx, &pb.GuessRequest{RoomId: "ABCDE", Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "e", RequestId: id}); err != nil {
			t.Fatalf("guess %s: %v", id, err)
		}
	}
	// The client starts on each backend in turn: guess until one guess
	// has gone to the stalled backend first.
	var held []string
	for i := 0; len(held) == 0; i++ {
		if i == 50 {
			t.Fatal("50 guesses, and none went to the stalled backend")
		}
		guess(fmt.Sprint("bo-", i))
		for len(stalled.arrived) > 0 {
			held = append(held, <-stalled.arrived...)
		}
	}
	if len(held) != 1 {
		t.Fatalf("the stalled backend got %v, want one guess", held)
	}
	var first, hedge *gameclient.Op
	for _, op := range rec.guessAttempts(held[0]) {
		switch op.Node {
		case stalledAddr:
			first = &op
		case goodAddr:
			hedge = &op
		}
	}
	if first == nil || hedge == nil || hedge.Err != nil {
		t.Fatalf("guess %s: attempts %+v; want one on each backend, answered by %s", held[0], rec.guessAttempts(held[0]), goodAddr)
	}
	if after := hedge.Start.Sub(called[held[0]]); after < hedgeAfter {
		t.Errorf("guess %s was hedged %v after it was made, before HedgeAfter (%v)", held[0], after, hedgeAfter)
	}
	// The backend that left a guess unanswered is tried last for a while.
	for i := range 4 {
		id := fmt.Sprint("after-", i)
		guess(id)
		if ops := rec.guessAttempts(id); len(ops) != 1 || ops[0].Node != goodAddr {
			t.Fatalf("guess %s after the hedge: attempts %+v, want one, on %s", id, ops, goodAddr)
		}
	}
}
