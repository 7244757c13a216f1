package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/gallows-game/gallows/backend/game"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// fuzzRoom is the room seededFSM creates; the fuzz targets watch it.
const fuzzRoom = "ABCDE"

// fuzzSeedCommands are the commands of log entry 1 of seededFSM: a room
// with a guess in it, so that fuzzed entries and snapshots meet a state
// that is not empty.
var fuzzSeedCommands = []game.Command{
	game.CreateRoom{Code: fuzzRoom, Host: "ana", HostID: pid("ana"), Custom: true, Word: "hello", RequestID: "c-1", At: 1},
	game.Guess{Room: fuzzRoom, Player: "bo", PlayerID: pid("bo"), Letter: "e", RequestID: "g-1", At: 2},
}

// encodeTestEntry encodes cmds as one log entry, as the leader writes it: the
// encoded commands one after the other (see encodeCommand).
func encodeTestEntry(t testing.TB, cmds ...game.Command) []byte {
	t.Helper()
	var data []byte
	for _, cmd := range cmds {
		enc, err := encodeCommand(cmd)
		if err != nil {
			t.Fatalf("encode %#v: %v", cmd, err)
		}
		data = append(data, enc...)
	}
	return data
}

// seededFSM returns an FSM that has applied fuzzSeedCommands as entry 1.
func seededFSM(t testing.TB) *fsm {
	t.Helper()
	f := newFSM()
	out, ok := f.Apply(&raft.Log{Index: 1, Term: 1, Type: raft.LogCommand, Data: encodeTestEntry(t, fuzzSeedCommands...)}).([]applied)
	if !ok || len(out) != len(fuzzSeedCommands) {
		t.Fatalf("seed entry applied as %#v", out)
	}
	for _, a := range out {
		if a.err != nil {
			t.Fatal(a.err)
		}
	}
	return f
}

// fsmStateBytes returns the snapshot of f's game state.
func fsmStateBytes(t testing.TB, f *fsm) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.state.Snapshot(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// subscribeRoom subscribes to every change of room in f, as Store.Subscribe
// does, with room for n changes.
func subscribeRoom(f *fsm, room string, n int) *Subscription {
	ch := make(chan Change, n)
	sub := &Subscription{C: ch, ch: ch, room: room, subs: &f.subs}
	if err := f.subs.add(sub); err != nil {
		panic(err) // the subscribers of a new FSM are never closed
	}
	return sub
}

// drainChanges returns the changes waiting in sub.
func drainChanges(sub *Subscription) []Change {
	var got []Change
	for {
		select {
		case c := <-sub.C:
			got = append(got, c)
		default:
			return got
		}
	}
}

// isClosedChan reports whether ch is closed.
func isClosedChan(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// FuzzFSMApply applies arbitrary bytes as log entry 2. Every node decodes
// the same bytes, so what matters is that decoding never panics (except
// on the placeholder, on purpose), that an entry that does not decode
// changes nothing and is still marked applied, and that what does decode
// leads to the same state and answers as the leader's own encoding of the
// decoded commands: a follower and the leader never disagree.
func FuzzFSMApply(f *testing.F) {
	for _, cmds := range [][]game.Command{
		{game.Guess{Room: fuzzRoom, Player: "cy", PlayerID: pid("cy"), Letter: "l", RequestID: "g-2", At: 3}},
		{game.Guess{Room: fuzzRoom, Player: "bo", PlayerID: pid("bo"), Letter: "e", RequestID: "g-1", At: 3}}, // a retry
		{
			game.CreateRoom{Code: "FGHJK", Host: "cy", HostID: pid("cy"), Category: "food", Difficulty: game.Hard, Word: "toast", MaxLives: 3, At: 3},
			game.Join{Room: "FGHJK", Player: "dee", PlayerID: pid("dee"), At: 4},
			game.Leave{Room: fuzzRoom, PlayerID: pid("bo"), At: 5},
			game.NextRound{Room: fuzzRoom, Player: "ana", PlayerID: pid("ana"), Word: "world", FromRound: 1, At: 6},
		},
		{game.Guess{Room: fuzzRoom, Player: "", PlayerID: pid(""), Letter: "ab", At: 3}, game.Guess{Room: "ZZZZZ", Player: "x", PlayerID: pid("x"), Letter: "a", At: 3}},
		// A one-round match with a countdown: the host watches, bo wins
		// it, the host starts a rematch (twice: one applies) and the first
		// turn of match 2 runs out, once.
		{
			game.CreateRoom{Code: "FGHJK", Host: "cy", HostID: pid("cy"), Custom: true, Word: "ox", Rounds: 1, TurnSeconds: 10, Private: true, At: 3},
			game.Guess{Room: "FGHJK", Player: "cy", PlayerID: pid("cy"), Letter: "o", At: 4},
			game.Guess{Room: "FGHJK", Player: "bo", PlayerID: pid("bo"), Letter: "o", At: 5},
			game.Guess{Room: "FGHJK", Player: "bo", PlayerID: pid("bo"), Letter: "x", At: 6},
			game.NextRound{Room: "FGHJK", Player: "cy", PlayerID: pid("cy"), Word: "ax", FromRound: 1, At: 7},
			game.Rematch{Room: "FGHJK", Player: "cy", PlayerID: pid("cy"), Word: "ax", FromMatch: 1, At: 8},
			game.Rematch{Room: "FGHJK", Player: "cy", PlayerID: pid("cy"), Word: "by", FromMatch: 1, At: 9},
			game.ExpireTurn{Room: "FGHJK", Version: 4, At: 18_008},
			game.ExpireTurn{Room: "FGHJK", Version: 4, At: 18_009},
		},
		// Expiries in a room without a countdown, and in no room.
		{game.ExpireTurn{Room: fuzzRoom, Version: 2, At: 1_000_000}, game.ExpireTurn{Room: "ZZZZZ", Version: 1, At: 3}},
	} {
		f.Add(encodeTestEntry(f, cmds...))
	}
	for _, data := range [][]byte{
		nil,           // an empty batch
		{placeholder}, // the placeholder: the FSM panics on purpose
		{0x0a, 0x00},  // one empty command
		{0x0a, 0x05, 0x12, 0x03, 0x0a, 0x01, 0xff},       // a guess whose room is not UTF-8
		{0x0a, 0x04, 0x12, 0x02, 0x0a},                   // truncated
		{0x0a, 0x02, 0x2a, 0x00, 0x10, 0x01, 0x1a, 0x00}, // an empty leave, then unknown fields
	} {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsm := seededFSM(t)
		if isPlaceholder(data) {
			defer func() {
				if recover() == nil {
					t.Fatal("Apply of an unfilled placeholder did not panic")
				}
			}()
			fsm.Apply(&raft.Log{Index: 2, Term: 1, Type: raft.LogCommand, Data: data})
			return
		}
		before := fsmStateBytes(t, fsm)
		sub := subscribeRoom(fsm, fuzzRoom, len(data)+1)
		woken := fsm.nextApply()
		out := fsm.Apply(&raft.Log{Index: 2, Term: 1, Type: raft.LogCommand, Data: data})
		if got := fsm.applied.Load(); got != 2 || !isClosedChan(woken) {
			t.Fatalf("after Apply: applied index %d (want 2), waiters woken: %v", got, isClosedChan(woken))
		}
		var batch pb.Batch
		decodeErr := proto.Unmarshal(data, &batch)
		if err, ok := out.(error); ok {
			if decodeErr == nil {
				t.Fatalf("Apply failed with %v on an entry that decodes", err)
			}
			if got := fsmStateBytes(t, fsm); !bytes.Equal(got, before) {
				t.Fatalf("an entry that does not decode (%v) changed the state to\n%s", err, got)
			}
			if c := drainChanges(sub); len(c) > 0 {
				t.Fatalf("an entry that does not decode published %d changes", len(c))
			}
			return
		}
		results, ok := out.([]applied)
		if !ok || decodeErr != nil || len(results) != len(batch.GetCommands()) {
			t.Fatalf("Apply returned %#v for %d commands (decode error %v)", out, len(batch.GetCommands()), decodeErr)
		}

		// The commands that decode, re-encoded as the leader encodes
		// them, must give a fresh replica the same answers and state.
		var cmds []game.Command
		var want []applied
		for i, pc := range batch.GetCommands() {
			cmd, err := fromProto(pc)
			if err != nil {
				if !errors.Is(results[i].err, game.ErrInvalidCommand) || results[i].res != (game.Result{}) {
					t.Fatalf("command %d does not decode (%v), yet was answered %+v", i, err, results[i])
				}
				continue
			}
			checkCommandRoundTrip(t, cmd)
			cmds = append(cmds, cmd)
			want = append(want, results[i])
		}
		replica := seededFSM(t)
		got, ok := replica.Apply(&raft.Log{Index: 2, Term: 1, Type: raft.LogCommand, Data: encodeTestEntry(t, cmds...)}).([]applied)
		if !ok || len(got) != len(want) {
			t.Fatalf("re-encoded entry applied as %#v, want %d results", got, len(want))
		}
		for i := range want {
			if fuzzOutcome(got[i]) != fuzzOutcome(want[i]) {
				t.Fatalf("command %d (%#v): fuzzed entry answered %s, re-encoded entry %s", i, cmds[i], fuzzOutcome(want[i]), fuzzOutcome(got[i]))
			}
		}
		if a, b := fsmStateBytes(t, fsm), fsmStateBytes(t, replica); !bytes.Equal(a, b) {
			t.Fatalf("fuzzed entry and its re-encoding lead to different states:\n%s\n%s", a, b)
		}

		// Subscribers of the room got each of its changes, in order,
		// tagged with the entry's index.
		var changed []*game.Room
		for _, r := range results {
			if r.err == nil && r.res.Changed && r.res.Room.Code == fuzzRoom {
				changed = append(changed, r.res.Room)
			}
		}
		published := drainChanges(sub)
		if len(published) != len(changed) {
			t.Fatalf("%d changes of %s published, want %d", len(published), fuzzRoom, len(changed))
		}
		for i, c := range published {
			if c.Index != 2 || c.Room != changed[i] {
				t.Fatalf("change %d published as %+v, want room version %d at index 2", i, c, changed[i].Version)
			}
		}
	})
}

// fuzzOutcome is a comparable digest of an applied command's outcome.
func fuzzOutcome(a applied) string {
	version := uint64(0)
	if a.res.Room != nil {
		version = a.res.Room.Version
	}
	return fmt.Sprintf("changed=%v duplicate=%v hit=%v version=%d err=%v", a.res.Changed, a.res.Duplicate, a.res.Hit, version, a.err)
}

// checkCommandRoundTrip fails t unless cmd survives the log's encoding
// unchanged: whatever a follower decodes, the leader encodes alike.
func checkCommandRoundTrip(t *testing.T, cmd game.Command) {
	t.Helper()
	enc, err := encodeCommand(cmd)
	if err != nil {
		t.Fatalf("encode %#v: %v", cmd, err)
	}
	var batch pb.Batch
	if err := proto.Unmarshal(enc, &batch); err != nil || len(batch.GetCommands()) != 1 {
		t.Fatalf("encoded %#v does not decode as one command: %v", cmd, err)
	}
	back, err := fromProto(batch.GetCommands()[0])
	if err != nil || !reflect.DeepEqual(back, cmd) {
		t.Fatalf("%#v went through the log as %#v, %v", cmd, back, err)
	}
}

// FuzzFSMRestore restores arbitrary bytes as a Raft snapshot of index 7.
// Restore must never panic. When it fails, the state, the applied index
// and the subscribers are as they were and nobody waiting for an apply is
// woken; when it succeeds, the applied index is the snapshot's, the
// subscribers of each room get its restored state, and the FSM's own
// snapshot restores again to the same state.
func FuzzFSMRestore(f *testing.F) {
	f.Add(fsmStateBytes(f, seededFSM(f)))
	f.Add(fsmStateBytes(f, newFSM()))
	for _, data := range []string{
		"",
		"{}",
		`{"format":3,"rooms":[null]}`,
		`{"format":3,"rooms":[{"Code":"ABCDE","Host":"h","Round":1,"Word":"hi","MaxLives":1,"LivesLeft":1,"Status":1,"Version":1}]}`,
		`{"format":2,"rooms":[{"Code":"FGHJK","Host":"h","Round":1,"Word":"hi","MaxLives":1,"LivesLeft":1,"Status":2,"Version":9}]}`,
	} {
		f.Add([]byte(data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsm := seededFSM(t)
		fsm.opened.Store(7)
		before := fsmStateBytes(t, fsm)
		sub := subscribeRoom(fsm, fuzzRoom, 4)
		woken := fsm.nextApply()
		if err := fsm.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
			if !errors.Is(err, game.ErrBadSnapshot) {
				t.Fatalf("Restore = %v, want an ErrBadSnapshot", err)
			}
			if got := fsmStateBytes(t, fsm); !bytes.Equal(got, before) || fsm.applied.Load() != 1 {
				t.Fatalf("failed Restore (%v) left applied index %d and state\n%s", err, fsm.applied.Load(), got)
			}
			if c := drainChanges(sub); len(c) > 0 || isClosedChan(woken) {
				t.Fatalf("failed Restore published %d changes, woke waiters: %v", len(c), isClosedChan(woken))
			}
			return
		}
		if got := fsm.applied.Load(); got != 7 || !isClosedChan(woken) {
			t.Fatalf("after Restore: applied index %d (want 7), waiters woken: %v", got, isClosedChan(woken))
		}
		published := drainChanges(sub)
		if r, ok := fsm.state.Room(fuzzRoom); ok {
			if len(published) != 1 || published[0].Index != 0 || !reflect.DeepEqual(published[0].Room, r) {
				t.Fatalf("restored room %+v published as %+v", r, published)
			}
		} else if len(published) != 0 {
			t.Fatalf("room %s is gone, yet %d changes were published", fuzzRoom, len(published))
		}

		snap, err := fsm.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		var sink memSink
		if err := snap.Persist(&sink); err != nil {
			t.Fatal(err)
		}
		again := newFSM()
		if err := again.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
			t.Fatalf("Restore of the FSM's own snapshot: %v\n%s", err, sink.Bytes())
		}
		if a, b := fsmStateBytes(t, fsm), fsmStateBytes(t, again); !bytes.Equal(a, b) {
			t.Fatalf("the FSM's snapshot restores to another state:\n%s\n%s", a, b)
		}
	})
}
