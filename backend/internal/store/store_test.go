package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/gallows-game/gallows/backend/game"
)

// mustOpen opens a store with id on loopback, closed when the test ends,
// and does not bootstrap it: alone, it is a node waiting to join a
// cluster. opts change the Config before it is opened.
func mustOpen(t *testing.T, id string, opts ...func(*Config)) (*Store, Config) {
	t.Helper()
	cfg := Config{ID: id, Dir: t.TempDir(), BindAddr: "127.0.0.1:0", SegmentSize: 1 << 20}
	for _, o := range opts {
		o(&cfg)
	}
	s, _, err := Open(cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, cfg
}

// mustNewStore opens a single-node store on loopback and waits until it
// leads. opts change the Config before it is opened.
func mustNewStore(t *testing.T, opts ...func(*Config)) *Store {
	t.Helper()
	s, cfg := mustOpen(t, "n1", opts...)
	rc := raft.Configuration{Servers: []raft.Server{{ID: raft.ServerID(cfg.ID), Address: raft.ServerAddress(s.RaftAddr())}}}
	if err := s.raft.BootstrapCluster(rc).Error(); err != nil {
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
	return game.CreateRoom{Code: code, Host: "ana", HostID: pid("ana"), Custom: true, Word: "quick brown fox jumps lazy dog", MaxLives: 26, At: 1}
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
				Room: code(i), Player: "bo", PlayerID: pid("bo"), Letter: "o", RequestID: "r1", At: 2,
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
	_, err := s.Apply(context.Background(), game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "7", At: 2})
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
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "q", RequestID: "x", At: 3})
	mustApply(t, s, game.Guess{Room: "FGHJK", Player: "cy", PlayerID: pid("cy"), Letter: "e", RequestID: "y", At: 4})

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
	res, err := restored.state.Apply(game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "q", RequestID: "x", At: 5})
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
		mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: l, At: int64(10 + i)})
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

func TestClosedStore(t *testing.T) {
	s := mustNewStore(t)
	mustApply(t, s, create("ABCDE"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A closed store does not lead.
	if _, err := s.Apply(context.Background(), create("FGHJK")); !errors.Is(err, ErrNotLeader) {
		t.Errorf("apply after close: %v, want ErrNotLeader", err)
	}
	if _, sub, err := s.Subscribe("ABCDE", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("subscribe after close: %v (subscription %v), want ErrClosed", err, sub)
	}
}

func TestApplyAllAnswersEachCommandAtItsPosition(t *testing.T) {
	s := mustNewStore(t)
	mustApply(t, s, create("ABCDE"))
	mustApply(t, s, create("FGHJK"))
	earlier := mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "q", RequestID: "bo-1", At: 2})
	a0, _ := s.Room("ABCDE")
	f0, _ := s.Room("FGHJK")

	// The word is "quick brown fox jumps lazy dog": "e" is a miss.
	tests := []struct {
		name string
		cmd  game.Command
		// For an accepted command: the result's room, version, hit and duplicate.
		room     string
		version  uint64
		hit, dup bool
		// For a refused command: the game error, and whether validation
		// refused it (then it is not proposed at all).
		err       error
		validated bool
	}{
		{name: "hit in ABCDE", cmd: game.Guess{Room: "ABCDE", Player: "cy", PlayerID: pid("cy"), Letter: "U", RequestID: "cy-1", At: 3},
			room: "ABCDE", version: a0.Version + 1, hit: true},
		{name: "invalid letter", cmd: game.Guess{Room: "ABCDE", Player: "ed", PlayerID: pid("ed"), Letter: "7", RequestID: "ed-1", At: 3},
			err: game.ErrInvalidLetter, validated: true},
		{name: "hit in FGHJK", cmd: game.Guess{Room: "FGHJK", Player: "cy", PlayerID: pid("cy"), Letter: "o", RequestID: "cy-2", At: 3},
			room: "FGHJK", version: f0.Version + 1, hit: true},
		{name: "unknown room", cmd: game.Guess{Room: "ZZZZZ", Player: "ed", PlayerID: pid("ed"), Letter: "a", RequestID: "ed-2", At: 3},
			err: game.ErrUnknownRoom, validated: true},
		// Answered as it was first, before the hit in ABCDE of this call.
		{name: "duplicate of an earlier request", cmd: game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "q", RequestID: "bo-1", At: 3},
			room: "ABCDE", version: a0.Version, hit: true, dup: true},
		{name: "miss in FGHJK", cmd: game.Guess{Room: "FGHJK", Player: "di", PlayerID: pid("di"), Letter: "e", RequestID: "di-1", At: 3},
			room: "FGHJK", version: f0.Version + 2},
		{name: "guessed before the call", cmd: game.Guess{Room: "ABCDE", Player: "ed", PlayerID: pid("ed"), Letter: "q", RequestID: "ed-3", At: 3},
			err: game.ErrAlreadyGuessed, validated: true},
		// Valid against the state before the call, refused when applied
		// after the "hit in FGHJK" of the same call.
		{name: "guessed earlier in the call", cmd: game.Guess{Room: "FGHJK", Player: "fy", PlayerID: pid("fy"), Letter: "O", RequestID: "fy-1", At: 3},
			err: game.ErrAlreadyGuessed},
	}
	cmds := make([]game.Command, len(tests))
	for i, tt := range tests {
		cmds[i] = tt.cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, errs := s.ApplyAll(ctx, cmds)
	if len(res) != len(cmds) || len(errs) != len(cmds) {
		t.Fatalf("ApplyAll of %d commands: %d results, %d errors", len(cmds), len(res), len(errs))
	}
	var entry uint64 // the log entry that carried the accepted commands
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := res[i], errs[i]
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if r.Changed {
					t.Errorf("refused command reports a change")
				}
				if tt.validated && r.Index != 0 {
					t.Errorf("command refused by validation was proposed: index %d", r.Index)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v, want none", err)
			}
			if r.Room == nil || r.Room.Code != tt.room || r.Room.Version != tt.version {
				t.Fatalf("room = %+v, want %s at version %d", r.Room, tt.room, tt.version)
			}
			if r.Hit != tt.hit || r.Duplicate != tt.dup || r.Changed == tt.dup {
				t.Errorf("hit=%v duplicate=%v changed=%v, want hit=%v duplicate=%v changed=%v",
					r.Hit, r.Duplicate, r.Changed, tt.hit, tt.dup, !tt.dup)
			}
			if r.Index <= earlier.Index {
				t.Errorf("index %d, want after the earlier guess's %d", r.Index, earlier.Index)
			}
			if entry == 0 {
				entry = r.Index
			} else if r.Index != entry {
				t.Errorf("carried by log entry %d; the other accepted commands of the call by %d", r.Index, entry)
			}
		})
	}
	// Only the accepted guesses changed the rooms, in the order of the call.
	for _, want := range []struct {
		room    string
		version uint64
		letters []string
	}{
		{"ABCDE", a0.Version + 1, []string{"q", "u"}},
		{"FGHJK", f0.Version + 2, []string{"o", "e"}},
	} {
		r, _ := s.Room(want.room)
		if r.Version != want.version || !slices.Equal(r.Guessed, want.letters) {
			t.Errorf("room %s: version %d guessed %v, want version %d guessed %v",
				want.room, r.Version, r.Guessed, want.version, want.letters)
		}
	}
	if _, ok := s.Room("ZZZZZ"); ok {
		t.Errorf("a guess in an unknown room created it")
	}
}

func TestApplyAllLargerThanMaxBatchGetsAnEntryOfItsOwn(t *testing.T) {
	const maxBatch = 2
	s := mustNewStore(t, func(c *Config) { c.MaxBatch = maxBatch })
	mustApply(t, s, create("ABCDE"))
	before, _ := s.Room("ABCDE")
	letters := []string{"q", "u", "i", "c", "k"}
	cmds := make([]game.Command, len(letters))
	for i, l := range letters {
		cmds[i] = game.Guess{Room: "ABCDE", Player: fmt.Sprintf("p%d", i), PlayerID: pid(fmt.Sprintf("p%d", i)), Letter: l, RequestID: "r" + l, At: 2}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, errs := s.ApplyAll(ctx, cmds)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("guess %d of the call: %v", i, err)
		}
		r := res[i]
		if !r.Hit || !r.Changed || r.Room.Version != before.Version+uint64(i)+1 || !slices.Equal(r.Room.Guessed, letters[:i+1]) {
			t.Errorf("guess %d: hit=%v changed=%v version %d guessed %v; want a hit at version %d guessed %v",
				i, r.Hit, r.Changed, r.Room.Version, r.Room.Guessed, before.Version+uint64(i)+1, letters[:i+1])
		}
		if r.Index != res[0].Index {
			t.Errorf("guess %d went into entry %d, guess 0 into %d: the call was split", i, r.Index, res[0].Index)
		}
	}
	if after, _ := s.Room("ABCDE"); after.Version != before.Version+uint64(len(letters)) {
		t.Errorf("room version %d, want %d", after.Version, before.Version+uint64(len(letters)))
	}
}

// Under load calls of many sizes are queued at once: an entry may
// put the calls of at most MaxBatch commands together, but never splits a
// call and never adds anything to a call larger than MaxBatch.
func TestApplyAllCallsStayWholeUnderLoad(t *testing.T) {
	const maxBatch = 2
	s := mustNewStore(t, func(c *Config) { c.MaxBatch = maxBatch })
	const clients = 32
	room := func(i int) string { return fmt.Sprintf("QD%c%cZ", 'A'+rune(i/8), 'A'+rune(i%8)) }
	for i := range clients {
		mustApply(t, s, create(room(i)))
	}
	// Client i makes calls of i%4+1 commands (1 and 2 fit into a shared
	// entry; 3 and 4 exceed MaxBatch), 18 guesses in all: the round
	// of "quick brown fox jumps lazy dog" does not end before.
	const letters = "quickbrownfxjmpsla"
	type call struct {
		client int
		res    []Result
		errs   []error
	}
	calls := make([][]call, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			size := i%4 + 1
			for from := 0; from < len(letters); from += size {
				var cmds []game.Command
				for _, l := range letters[from:min(from+size, len(letters))] {
					cmds = append(cmds, game.Guess{Room: room(i), Player: "p" + string(l), PlayerID: pid("p" + string(l)), Letter: string(l), RequestID: "r", At: 2})
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				res, errs := s.ApplyAll(ctx, cmds)
				cancel()
				calls[i] = append(calls[i], call{client: i, res: res, errs: errs})
			}
		}()
	}
	wg.Wait()
	type entry struct{ calls, cmds int }
	entries := map[uint64]*entry{}
	for i := range clients {
		for _, c := range calls[i] {
			for j, err := range c.errs {
				if err != nil {
					t.Fatalf("client %d: guess %d of a call of %d: %v", i, j, len(c.errs), err)
				}
				if c.res[j].Index != c.res[0].Index {
					t.Errorf("client %d: a call of %d was split over entries %d and %d", i, len(c.res), c.res[0].Index, c.res[j].Index)
				}
			}
			e := entries[c.res[0].Index]
			if e == nil {
				e = &entry{}
				entries[c.res[0].Index] = e
			}
			e.calls++
			e.cmds += len(c.res)
		}
		if r, _ := s.Room(room(i)); r.Version != 1+uint64(len(letters)) {
			t.Errorf("room %s: version %d, want %d", room(i), r.Version, 1+len(letters))
		}
	}
	shared := 0
	for ix, e := range entries {
		if e.calls > 1 {
			shared++
			if e.cmds > maxBatch {
				t.Errorf("log entry %d carries %d calls with %d commands in all, MaxBatch is %d", ix, e.calls, e.cmds, maxBatch)
			}
		}
	}
	t.Logf("the calls went into %d log entries, %d of them shared by several calls", len(entries), shared)
}

func TestApplyAllWhenNotLeader(t *testing.T) {
	s, _ := mustOpen(t, "n2")
	if s.IsLeader() {
		t.Fatal("a store that was never bootstrapped is leader")
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cmds := []game.Command{
		create("ABCDE"),
		game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "q", RequestID: "bo-1", At: 2},
		game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "7", At: 2},
		game.Guess{Room: "ZZZZZ", Player: "bo", PlayerID: pid("bo"), Letter: "a", At: 2},
	}
	for _, tt := range []struct {
		name string
		ctx  context.Context
	}{
		{"live context", context.Background()},
		{"cancelled context", cancelled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, errs := s.ApplyAll(tt.ctx, cmds)
			if len(res) != len(cmds) || len(errs) != len(cmds) {
				t.Fatalf("ApplyAll of %d commands: %d results, %d errors", len(cmds), len(res), len(errs))
			}
			for i, err := range errs {
				if !errors.Is(err, ErrNotLeader) {
					t.Errorf("command %d: err = %v, want ErrNotLeader", i, err)
				}
				if res[i].Room != nil || res[i].Index != 0 {
					t.Errorf("command %d: result %+v, want none", i, res[i])
				}
			}
		})
	}
	if rooms := s.Rooms(); len(rooms) != 0 {
		t.Errorf("rooms = %v after refused writes, want none", rooms)
	}
	if last := s.Stats().LastIndex; last != 0 {
		t.Errorf("last log index %d, want 0: something was proposed", last)
	}
}

// A call whose context is already cancelled may or may not have been
// proposed (both select cases are ready), so only what is certain is
// checked: validation still answers first, every valid command gets either
// its result or ErrTimeout, and a retry with a live context applies each
// guess exactly once.
func TestApplyAllCancelledThenRetried(t *testing.T) {
	s := mustNewStore(t)
	mustApply(t, s, create("ABCDE"))
	before, _ := s.Room("ABCDE")
	cmds := []game.Command{
		game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "q", RequestID: "bo-1", At: 2},
		game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "7", RequestID: "bo-2", At: 2},
		game.Guess{Room: "ABCDE", Player: "cy", PlayerID: pid("cy"), Letter: "u", RequestID: "cy-1", At: 2},
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	res, errs := s.ApplyAll(cancelled, cmds)
	if !errors.Is(errs[1], game.ErrInvalidLetter) {
		t.Errorf("invalid letter with a cancelled context: err = %v, want ErrInvalidLetter", errs[1])
	}
	for _, i := range []int{0, 2} {
		if errs[i] != nil && !errors.Is(errs[i], ErrTimeout) {
			t.Errorf("command %d with a cancelled context: err = %v, want ErrTimeout or none", i, errs[i])
		}
		if errs[i] == nil && !res[i].Changed {
			t.Errorf("command %d: no error but not applied: %+v", i, res[i])
		}
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	_, errs = s.ApplyAll(ctx, []game.Command{cmds[0], cmds[2]})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
	}
	after, _ := s.Room("ABCDE")
	if after.Version != before.Version+2 || !slices.Equal(after.Guessed, []string{"q", "u"}) {
		t.Errorf("after the retry: version %d guessed %v, want version %d guessed [q u]",
			after.Version, after.Guessed, before.Version+2)
	}
}

// gatedLogs holds the next log write until it is released.
type gatedLogs struct {
	raft.LogStore
	mu      sync.Mutex
	armed   bool
	writing chan struct{} // closed when the held write has begun
	release chan struct{}
}

func (g *gatedLogs) StoreLogs(logs []*raft.Log) error {
	g.mu.Lock()
	held := g.armed
	g.armed = false
	g.mu.Unlock()
	if held {
		close(g.writing)
		<-g.release
	}
	return g.LogStore.StoreLogs(logs)
}

func (g *gatedLogs) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = true
	g.writing, g.release = make(chan struct{}), make(chan struct{})
}

func TestCommandsQueuedDuringAWriteShareTheNextEntry(t *testing.T) {
	gate := &gatedLogs{}
	s := mustNewStore(t, func(c *Config) {
		c.wrapLogs = func(l raft.LogStore) raft.LogStore { gate.LogStore = l; return gate }
	})
	const later = 10
	code := func(i int) string { return fmt.Sprintf("RM%c%c%c", 'A'+rune(i/8), 'A'+rune(i%8), 'Z') }
	for i := range later + 1 {
		mustApply(t, s, create(code(i)))
	}
	guess := func(i int) (Result, error) {
		return s.Apply(context.Background(), game.Guess{Room: code(i), Player: "bo", PlayerID: pid("bo"), Letter: "o", RequestID: "r1", At: 2})
	}
	type answer struct {
		res Result
		err error
	}
	// The first guess's entry is held on its way to disk.
	gate.arm()
	first := make(chan answer, 1)
	go func() { r, err := guess(later); first <- answer{r, err} }()
	<-gate.writing
	// Every guess made while it is written waits for the write, and then
	// all of them go out as one entry.
	answers := make(chan answer, later)
	for i := range later {
		go func() { r, err := guess(i); answers <- answer{r, err} }()
	}
	waitUntil(t, fmt.Sprintf("%d guesses queued", later), func() bool { return queued(s) >= later })
	close(gate.release)
	if a := <-first; a.err != nil {
		t.Fatalf("first guess: %v", a.err)
	}
	indexes := map[uint64]int{}
	for range later {
		a := <-answers
		if a.err != nil {
			t.Fatalf("guess: %v", a.err)
		}
		indexes[a.res.Index]++
	}
	if len(indexes) != 1 {
		t.Errorf("%d guesses made during one write went into entries %v, want one entry", later, indexes)
	}
}

// queued is the number of commands queued for the next entry.
func queued(s *Store) int {
	s.entries.mu.Lock()
	defer s.entries.mu.Unlock()
	return len(s.entries.queued)
}

// waitUntil polls cond until it holds, failing the test after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// answers collects the answers of ProposeAll calls.
type answers struct {
	mu    sync.Mutex
	calls int
	c     chan struct{} // one value per answer
	res   []Result
	errs  []error
}

func newAnswers() *answers { return &answers{c: make(chan struct{}, 16)} }

func (a *answers) answer(res []Result, errs []error) {
	a.mu.Lock()
	a.calls++
	a.res, a.errs = res, errs
	a.mu.Unlock()
	a.c <- struct{}{}
}

// wait waits for an answer and returns it.
func (a *answers) wait(t *testing.T) ([]Result, []error) {
	t.Helper()
	select {
	case <-a.c:
	case <-time.After(10 * time.Second):
		t.Fatal("ProposeAll did not answer")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.res, a.errs
}

func (a *answers) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

func TestProposeAllAnswersEachCallOnce(t *testing.T) {
	s := mustNewStore(t)
	mustApply(t, s, create("ABCDE"))
	guess := func(player, letter string) game.Guess {
		return game.Guess{Room: "ABCDE", Player: player, PlayerID: pid(player), Letter: letter, RequestID: player + "-" + letter, At: 2}
	}
	tests := []struct {
		name string
		cmds []game.Command
		want []error // nil: applied
		then string  // the letter guessed after the call
	}{
		{"all valid", []game.Command{guess("bo", "q"), guess("cy", "u")}, []error{nil, nil}, "k"},
		{"one refused", []game.Command{guess("bo", "i"), guess("cy", "7"), guess("di", "c")},
			[]error{nil, game.ErrInvalidLetter, nil}, "b"},
		{"all refused", []game.Command{guess("bo", "q"), game.Guess{Room: "ZZZZZ", Player: "bo", PlayerID: pid("bo"), Letter: "a", At: 2}},
			[]error{game.ErrAlreadyGuessed, game.ErrUnknownRoom}, "r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.Room("ABCDE")
			a := newAnswers()
			s.ProposeAll(context.Background(), tt.cmds, a.answer)
			res, errs := a.wait(t)
			if len(res) != len(tt.cmds) || len(errs) != len(tt.cmds) {
				t.Fatalf("%d commands: %d results, %d errors", len(tt.cmds), len(res), len(errs))
			}
			applied := uint64(0)
			for i, want := range tt.want {
				switch {
				case want != nil && !errors.Is(errs[i], want):
					t.Errorf("command %d: err = %v, want %v", i, errs[i], want)
				case want == nil && (errs[i] != nil || !res[i].Changed):
					t.Errorf("command %d: err = %v, result %+v, want applied", i, errs[i], res[i])
				case want == nil:
					applied++
				}
			}
			// A later write is answered after this call's entry; by then a
			// second answer would have come too.
			mustApply(t, s, guess("zed", tt.then))
			if n := a.count(); n != 1 {
				t.Errorf("answered %d times, want once", n)
			}
			after, _ := s.Room("ABCDE")
			if after.Version != before.Version+applied+1 {
				t.Errorf("version %d after the call and one more guess, want %d", after.Version, before.Version+applied+1)
			}
		})
	}
}

func TestProposeAllWhenNotLeaderAnswersAtOnce(t *testing.T) {
	s, _ := mustOpen(t, "n2")
	a := newAnswers()
	s.ProposeAll(context.Background(), []game.Command{create("ABCDE"), create("FGHJK")}, a.answer)
	if a.count() != 1 {
		t.Fatalf("not answered when ProposeAll returned")
	}
	_, errs := a.wait(t)
	for i, err := range errs {
		if !errors.Is(err, ErrNotLeader) {
			t.Errorf("command %d: err = %v, want ErrNotLeader", i, err)
		}
	}
}

// Proposals still queued when the store closes are answered: ProposeAll's
// callers have nothing else to wait on.
func TestProposalsQueuedWhenTheStoreClosesAreAnswered(t *testing.T) {
	gate := &gatedLogs{}
	s := mustNewStore(t, func(c *Config) {
		c.wrapLogs = func(l raft.LogStore) raft.LogStore { gate.LogStore = l; return gate }
	})
	const calls = 5
	for i := range calls {
		mustApply(t, s, create(fmt.Sprintf("RM%cZZ", 'A'+rune(i))))
	}
	guess := func(i int) []game.Command {
		return []game.Command{game.Guess{Room: fmt.Sprintf("RM%cZZ", 'A'+rune(i)), Player: "bo", PlayerID: pid("bo"), Letter: "o", RequestID: "r1", At: 2}}
	}
	// The first call's entry is held on its way to disk; the others queue
	// behind it.
	gate.arm()
	as := make([]*answers, calls)
	for i := range as {
		as[i] = newAnswers()
	}
	s.ProposeAll(context.Background(), guess(0), as[0].answer)
	<-gate.writing
	for i := 1; i < calls; i++ {
		s.ProposeAll(context.Background(), guess(i), as[i].answer)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	<-s.closing
	close(gate.release)
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	for i, a := range as {
		_, errs := a.wait(t)
		// The held entry may or may not have committed before Raft shut down.
		if errs[0] != nil && !errors.Is(errs[0], ErrClosed) && !errors.Is(errs[0], ErrLeadershipLost) {
			t.Errorf("call %d: err = %v, want ErrClosed, ErrLeadershipLost or none", i, errs[0])
		}
	}
	late := newAnswers()
	s.ProposeAll(context.Background(), guess(0), late.answer)
	if _, errs := late.wait(t); !errors.Is(errs[0], ErrNotLeader) && !errors.Is(errs[0], ErrClosed) {
		t.Errorf("after close: err = %v, want ErrNotLeader or ErrClosed", errs[0])
	}
}

// Raft does not answer the futures of entries it committed but had not
// applied when it shut down. Close answers their calls itself, with
// ErrClosed, instead of waiting for Raft forever.
func TestCloseAnswersCommittedEntriesRaftNeverApplied(t *testing.T) {
	s := mustNewStore(t)
	const calls = 6
	for i := range calls {
		mustApply(t, s, create(fmt.Sprintf("RM%cZZ", 'A'+rune(i))))
	}
	// The apply goroutine stops after its next entry: it waits to mark
	// that entry applied.
	s.fsm.appliedMu.Lock()
	as := make([]*answers, calls)
	for i := range as {
		as[i] = newAnswers()
		before := s.raft.CommitIndex()
		s.ProposeAll(context.Background(), []game.Command{game.Guess{Room: fmt.Sprintf("RM%cZZ", 'A'+rune(i)), Player: "bo", PlayerID: pid("bo"), Letter: "o", RequestID: "r1", At: 2}}, as[i].answer)
		waitUntil(t, fmt.Sprintf("call %d committed in an entry of its own", i), func() bool { return s.raft.CommitIndex() > before })
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitUntil(t, "raft to begin shutting down", func() bool { return s.raft.State() == raft.Shutdown })
	s.fsm.appliedMu.Unlock()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for entries Raft will never answer")
	}
	for i, a := range as {
		_, errs := a.wait(t)
		if errs[0] != nil && !errors.Is(errs[0], ErrClosed) {
			t.Errorf("call %d: err = %v, want ErrClosed or none", i, errs[0])
		}
		if n := a.count(); n != 1 {
			t.Errorf("call %d answered %d times", i, n)
		}
	}
}

// Every scale in the documented range gives a Raft configuration Raft
// accepts; scales outside it are refused.
func TestTimeoutScaleRange(t *testing.T) {
	for _, tc := range []struct {
		scale float64
		ok    bool
	}{
		{MinTimeoutScale, true}, {0.1, true}, {1, true}, {MaxTimeoutScale, true},
		{0.01, false}, {101, false}, {-1, false}, {math.NaN(), false},
	} {
		t.Run(fmt.Sprint(tc.scale), func(t *testing.T) {
			if tc.ok {
				if err := raft.ValidateConfig(RaftConfig("n1", tc.scale)); err != nil {
					t.Fatalf("Raft refuses scale %v: %v", tc.scale, err)
				}
			}
			cfg := Config{ID: "n1", Dir: t.TempDir(), BindAddr: "127.0.0.1:0", SegmentSize: 1 << 20, TimeoutScale: tc.scale}
			s, _, err := Open(cfg)
			if err == nil {
				defer func() {
					if err := s.Close(); err != nil {
						t.Errorf("close: %v", err)
					}
				}()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("open with scale %v: err = %v, want ok %v", tc.scale, err, tc.ok)
			}
		})
	}
}
