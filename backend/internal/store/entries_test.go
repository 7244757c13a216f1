package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"google.golang.org/protobuf/proto"

	"github.com/gallows-game/gallows/backend/game"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// testCall makes a call of n guesses by player, and its proposals.
func testCall(t *testing.T, player string, n int) []*proposal {
	t.Helper()
	c := &call{res: make([]Result, n), errs: make([]error, n), answer: func([]Result, []error) {}}
	c.left.Store(int64(n))
	ps := make([]*proposal, n)
	for i := range ps {
		enc, err := encodeCommand(game.Guess{Room: "ABCDE", Player: player, PlayerID: pid(player), Letter: string(rune('a' + i)), RequestID: fmt.Sprint(i), At: 1})
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = &proposal{enc: enc, call: c, at: i}
	}
	return ps
}

// written decodes a log entry into the players of its guesses, in order.
func written(t *testing.T, l *raft.Log) []string {
	t.Helper()
	var b pb.Batch
	if err := proto.Unmarshal(l.Data, &b); err != nil {
		t.Fatalf("entry %d: %v", l.Index, err)
	}
	var players []string
	for _, c := range b.GetCommands() {
		players = append(players, c.GetGuess().GetPlayer())
	}
	return players
}

// proposeAll takes what the store's proposer would hand Raft, as the
// logs Raft would write, indexed from next.
func proposeAll(e *entries, next uint64) []*raft.Log {
	var logs []*raft.Log
	for _, oe := range e.toPropose() {
		logs = append(logs, &raft.Log{Index: next, Type: raft.LogCommand, Data: oe.data})
		next++
	}
	return logs
}

func TestEntriesAreFilledWhenWritten(t *testing.T) {
	tests := []struct {
		name  string
		calls []int      // the size of each call queued before the write
		want  [][]string // the players of each entry written
	}{
		{"one call", []int{2}, [][]string{{"p0", "p0"}}},
		{"calls queued during a write share the next entry", []int{1, 1, 2}, [][]string{{"p0", "p1", "p2", "p2"}}},
		{"calls of MaxBatch commands in all share an entry", []int{2, 2}, [][]string{{"p0", "p0", "p1", "p1"}}},
		{"a call that does not fit goes whole into a second entry", []int{2, 3}, [][]string{{"p0", "p0"}, {"p1", "p1", "p1"}}},
		{"a call larger than MaxBatch gets an entry of its own", []int{1, 6, 1}, [][]string{{"p0"}, {"p1", "p1", "p1", "p1", "p1", "p1"}, {"p2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const maxBatch = 4
			e := newEntries(raft.NewInmemStore(), maxBatch)
			for i, n := range tt.calls {
				if err := e.queue(testCall(t, fmt.Sprintf("p%d", i), n)); err != nil {
					t.Fatal(err)
				}
			}
			var got [][]string
			index := uint64(1)
			for logs := proposeAll(e, index); len(logs) > 0; logs = proposeAll(e, index) {
				if err := e.StoreLogs(logs); err != nil {
					t.Fatalf("write entries %d+: %v", index, err)
				}
				for _, l := range logs {
					var stored raft.Log
					if err := e.GetLog(l.Index, &stored); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(stored.Data, l.Data) {
						t.Errorf("entry %d: the log store holds other data than Raft's log", l.Index)
					}
					if players := written(t, &stored); len(players) > 0 {
						got = append(got, players)
					}
				}
				index += uint64(len(logs))
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("entries written: %v, want %v", got, tt.want)
			}
			if q := len(e.queued); q != 0 {
				t.Errorf("%d commands left queued", q)
			}
		})
	}
}

func TestEntriesWriteOtherLogsAsTheyAre(t *testing.T) {
	e := newEntries(raft.NewInmemStore(), 4)
	if err := e.queue(testCall(t, "p0", 1)); err != nil {
		t.Fatal(err)
	}
	// A follower writes the leader's entries; the leader writes its own
	// no-ops and configurations. None is an entry this node opened.
	other := []*raft.Log{
		{Index: 1, Type: raft.LogCommand, Data: []byte("from the leader")},
		{Index: 2, Type: raft.LogNoop},
		{Index: 3, Type: raft.LogCommand, Data: []byte{}},
	}
	if err := e.StoreLogs(other); err != nil {
		t.Fatal(err)
	}
	if string(other[0].Data) != "from the leader" || len(other[2].Data) != 0 {
		t.Errorf("other logs changed: %q, %q", other[0].Data, other[2].Data)
	}
	if len(e.queued) != 1 || e.nOpen.Load() != 1 {
		t.Errorf("after other logs: %d queued, %d open; want the call still waiting for its entry", len(e.queued), e.nOpen.Load())
	}
}

func TestEntriesNeverWriteAPlaceholder(t *testing.T) {
	e := newEntries(raft.NewInmemStore(), 4)
	// A copy of a placeholder is not the entry the store opened: filling
	// it would leave the leader applying other data than its followers.
	stranger := &raft.Log{Index: 1, Type: raft.LogCommand, Data: newOpenEntry().data}
	if err := e.StoreLogs([]*raft.Log{stranger}); err == nil {
		t.Fatal("a placeholder the store did not open was written")
	}
	if last, err := e.LastIndex(); err != nil || last != 0 {
		t.Errorf("LastIndex() = %d, %v; want nothing written", last, err)
	}
}

func TestEntriesThatFailAnswerWhatTheyLeave(t *testing.T) {
	e := newEntries(raft.NewInmemStore(), 2)
	first := testCall(t, "p0", 2)
	if err := e.queue(first); err != nil {
		t.Fatal(err)
	}
	if err := e.queue(testCall(t, "p1", 1)); err != nil {
		t.Fatal(err)
	}
	oes := e.toPropose()
	if len(oes) != 2 {
		t.Fatalf("%d entries opened for 3 commands with MaxBatch 2, want 2", len(oes))
	}
	// The first is written, the second never is: Raft fails both.
	if err := e.StoreLogs([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: oes[0].data}}); err != nil {
		t.Fatal(err)
	}
	if got := e.failed(oes[0]); !slices.Equal(got, first) {
		t.Errorf("a written entry failed with %d proposals, want its own 2", len(got))
	}
	if got := e.failed(oes[1]); len(got) != 1 || got[0].call == first[0].call {
		t.Errorf("the last open entry failed with %d proposals, want the one still queued", len(got))
	}
	if err := e.queue(testCall(t, "p2", 1)); err != nil {
		t.Fatal(err)
	}
	if left := e.close(); len(left) != 1 {
		t.Errorf("close returned %d queued proposals, want 1", len(left))
	}
	if err := e.queue(testCall(t, "p3", 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("queue after close: err = %v, want ErrClosed", err)
	}
}

func TestEntriesKeepTheLogStoreMonotonic(t *testing.T) {
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(t.TempDir(), wal.WithMetaStore(meta))
	if err != nil {
		t.Fatalf("open wal: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close wal: %v", err)
		}
		if err := meta.Close(); err != nil {
			t.Errorf("close meta: %v", err)
		}
	})
	for _, tc := range []struct {
		name string
		logs raft.LogStore
		want bool
	}{
		{"raft-wal", w, true},
		{"in memory", raft.NewInmemStore(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := newEntries(tc.logs, 4).IsMonotonic(); got != tc.want {
				t.Errorf("IsMonotonic() = %v, want %v", got, tc.want)
			}
		})
	}
}
