package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gallows-game/gallows/backend/game"
)

// A read index that points past the last command (at the leader's no-op
// and barrier, or a configuration change) is applied as soon as Raft has
// handed those entries over: a read does not wait for the next write.
func TestReadIndexPastTheLastCommandNeedsNoWrite(t *testing.T) {
	s := mustNewStore(t)
	for _, before := range []bool{false, true} {
		if before {
			mustApply(t, s, create("ABCDE"))
		}
		index, err := s.ReadIndex()
		if err != nil {
			t.Fatalf("ReadIndex: %v", err)
		}
		if before && index < s.fsm.applied.Load() {
			t.Errorf("read index %d is below the applied command %d", index, s.fsm.applied.Load())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = s.WaitApplied(ctx, index)
		cancel()
		if err != nil {
			t.Fatalf("WaitApplied(%d) with commands applied up to %d: %v", index, s.fsm.applied.Load(), err)
		}
	}
}

// A read index beyond what any command reached is waited for until a
// command gets there, or the caller gives up with ErrBehind.
func TestWaitAppliedWaitsForCommands(t *testing.T) {
	s := mustNewStore(t)
	mustApply(t, s, create("ABCDE"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	far := s.raft.LastIndex() + 10
	if err := s.WaitApplied(ctx, far); !errors.Is(err, ErrBehind) {
		t.Fatalf("WaitApplied(%d) = %v, want ErrBehind", far, err)
	}
	done := make(chan error, 1)
	next := s.raft.LastIndex() + 1
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- s.WaitApplied(ctx, next)
	}()
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "q", RequestID: "bo-1", At: 2})
	if err := <-done; err != nil {
		t.Fatalf("WaitApplied(%d) after a command there: %v", next, err)
	}
}

// A deposed or not-yet-ready node gives no read index.
func TestReadIndexOnlyOnTheLeader(t *testing.T) {
	s, _ := mustOpen(t, "n1") // never bootstrapped: it does not lead
	if _, err := s.ReadIndex(); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("ReadIndex on a node that does not lead = %v, want ErrNotLeader", err)
	}
}
