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
	"github.com/gallows-game/gallows/internal/systemtest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// gatedGame holds every GuessBatch call until the test releases it, and
// records the request ids of each call.
type gatedGame struct {
	fakeGame
	arrived chan []string // the request ids of each call, as it arrives
	release chan struct{} // one receive lets one call answer
}

func (g *gatedGame) GuessBatch(ctx context.Context, req *pb.GuessBatchRequest) (*pb.GuessBatchReply, error) {
	var ids []string
	for _, r := range req.GetGuesses() {
		ids = append(ids, r.GetRequestId())
	}
	g.arrived <- ids
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return g.fakeGame.GuessBatch(ctx, req)
}

// TestGuessesMadeMeanwhileShareOneCall: while two GuessBatch calls are out
// to a backend, further guesses wait and then go out together in one call,
// and each caller gets its own answer.
func TestGuessesMadeMeanwhileShareOneCall(t *testing.T) {
	g := &gatedGame{arrived: make(chan []string, 16), release: make(chan struct{})}
	addr := startServer(t, g)
	rec := &recorder{}
	c := fakeClient(t, rec, 5*time.Second, addr)
	ctx := systemtest.Context(t, 10*time.Second)

	type answer struct {
		id  string
		rep *pb.GuessReply
		err error
	}
	answers := make(chan answer, 16)
	guess := func(id, letter string) {
		rep, err := c.Guess(ctx, &pb.GuessRequest{RoomId: "ROOM" + id, Player: "p" + id, Letter: letter, RequestId: id})
		answers <- answer{id, rep, err}
	}
	// Two calls go out at once, one guess each, and are held.
	go guess("a", "e")
	first := <-g.arrived
	go guess("b", "e")
	second := <-g.arrived
	// Ten more guesses (one of them invalid) wait for a free call.
	var wg sync.WaitGroup
	for i := range 10 {
		letter := "e"
		if i == 3 {
			letter = "7"
		}
		wg.Go(func() { guess(fmt.Sprintf("w%d", i), letter) })
	}
	systemtest.Eventually(t, 5*time.Second, "ten guesses queued", func() bool { return gameclient.QueuedGuesses(c, addr) == 10 })
	g.release <- struct{}{} // the first call answers; the next one takes all ten
	third := <-g.arrived
	g.release <- struct{}{}
	g.release <- struct{}{}
	wg.Wait()

	if len(first) != 1 || len(second) != 1 || len(third) != 10 {
		t.Fatalf("calls carried %v, %v, %v; want 1, 1 and 10 guesses", first, second, third)
	}
	for range 12 {
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
}
