package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/gallows-game/gallows/backend/game"
)

// mustNewStore opens a single-node store on loopback and waits until it leads.
func mustNewStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(Config{ID: "n1", Dir: t.TempDir(), BindAddr: "127.0.0.1:0", SegmentSize: 1 << 20})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	cfg := raft.Configuration{Servers: []raft.Server{{ID: "n1", Address: raft.ServerAddress(s.RaftAddr())}}}
	if err := s.Raft().BootstrapCluster(cfg).Error(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !s.IsLeader() {
		select {
		case <-s.LeaderChanged():
		case <-ctx.Done():
			t.Fatal("single node did not become leader")
		}
	}
	return s
}

func mustApply(t *testing.T, s *Store, cmd game.Command) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Apply(ctx, cmd)
	if err != nil {
		t.Fatalf("apply %#v: %v", cmd, err)
	}
	return res
}

func create(code string) game.CreateRoom {
	return game.CreateRoom{Code: code, Host: "ana", Custom: true, Word: "quick brown fox jumps lazy dog", MaxLives: 26, At: 1}
}

func TestConcurrentAppliesShareLogEntries(t *testing.T) {
	s := mustNewStore(t)
	const clients = 64
	code := func(i int) string { return fmt.Sprintf("RM%c%c%c", 'A'+rune(i/8), 'A'+rune(i%8), 'Z') }
	for i := range clients {
		mustApply(t, s, create(code(i)))
	}
	indexes := make([]uint64, clients)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Apply(context.Background(), game.Guess{
				Room: code(i), Player: "bo", Letter: "o", RequestID: "r1", At: 2,
			})
			if err != nil {
				errs <- err
				return
			}
			if !res.Hit || !res.Changed {
				errs <- fmt.Errorf("guess %d: hit=%v changed=%v", i, res.Hit, res.Changed)
			}
			indexes[i] = res.Index
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	distinct := map[uint64]bool{}
	for _, ix := range indexes {
		distinct[ix] = true
	}
	t.Logf("%d concurrent guesses went into %d log entries", clients, len(distinct))
	if len(distinct) >= clients {
		t.Errorf("%d concurrent guesses used %d log entries: no batching", clients, len(distinct))
	}
}

func TestRefusedCommandChangesNothing(t *testing.T) {
	s := mustNewStore(t)
	mustApply(t, s, create("ABCDE"))
	before, _ := s.Room("ABCDE")
	_, err := s.Apply(context.Background(), game.Guess{Room: "ABCDE", Player: "bo", Letter: "7", At: 2})
	if !errors.Is(err, game.ErrInvalidLetter) {
		t.Fatalf("err = %v, want ErrInvalidLetter", err)
	}
	after, _ := s.Room("ABCDE")
	if after.Version != before.Version {
		t.Errorf("version went from %d to %d on a refused guess", before.Version, after.Version)
	}
}

// memSink is an in-memory raft.SnapshotSink.
type memSink struct{ bytes.Buffer }

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { return nil }
func (m *memSink) Close() error  { return nil }

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	s := mustNewStore(t)
	mustApply(t, s, create("ABCDE"))
	mustApply(t, s, create("FGHJK"))
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", Letter: "q", RequestID: "x", At: 3})
	mustApply(t, s, game.Guess{Room: "FGHJK", Player: "cy", Letter: "e", RequestID: "y", At: 4})

	snap, err := s.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	restored := newFSM()
	if err := restored.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := s.fsm.state.Snapshot(&a); err != nil {
		t.Fatal(err)
	}
	if err := restored.state.Snapshot(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("restored state differs:\n%s\n%s", a.Bytes(), b.Bytes())
	}
	// The restored state answers a retried guess with the first outcome.
	res, err := restored.state.Apply(game.Guess{Room: "ABCDE", Player: "bo", Letter: "q", RequestID: "x", At: 5})
	if err != nil || !res.Duplicate {
		t.Fatalf("retry after restore: duplicate=%v err=%v", res.Duplicate, err)
	}
}

func TestSlowSubscriberIsDroppedNotWaitedFor(t *testing.T) {
	s := mustNewStore(t)
	mustApply(t, s, create("ABCDE"))
	room, sub, err := s.Subscribe("abcde", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	fast, fastSub, err := s.Subscribe("ABCDE", 64)
	if err != nil {
		t.Fatal(err)
	}
	defer fastSub.Close()
	if room.Version != fast.Version {
		t.Fatalf("subscriptions start at versions %d and %d", room.Version, fast.Version)
	}
	// Nobody reads sub: apply must go on regardless.
	for i, l := range []string{"q", "u", "i", "c", "k"} {
		mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", Letter: l, At: int64(10 + i)})
	}
	for range 2 {
		if _, ok := <-sub.C; !ok {
			t.Fatal("slow subscriber lost buffered changes")
		}
	}
	if _, ok := <-sub.C; ok {
		t.Fatal("slow subscriber got more than its buffer")
	}
	if !errors.Is(sub.Err(), ErrLagging) {
		t.Errorf("Err = %v, want ErrLagging", sub.Err())
	}
	// The other subscriber saw every version, in order, with no gap.
	want := fast.Version + 1
	for range 5 {
		c := <-fastSub.C
		if c.Room.Version != want {
			t.Fatalf("version %d, want %d", c.Room.Version, want)
		}
		want++
	}
}

func TestApplyOnClosedStore(t *testing.T) {
	s := mustNewStore(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(context.Background(), create("ABCDE")); !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrClosed) {
		t.Errorf("apply after close: %v, want ErrNotLeader or ErrClosed", err)
	}
}
