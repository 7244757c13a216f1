package store

import (
	"testing"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

func TestWriteSignalKeepsTheLogStoreMonotonic(t *testing.T) {
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
			if got := newWriteSignal(tc.logs).IsMonotonic(); got != tc.want {
				t.Errorf("IsMonotonic() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWriteSignalSignalsAfterEveryWrite(t *testing.T) {
	ws := newWriteSignal(raft.NewInmemStore())
	for i, write := range []func() error{
		func() error { return ws.StoreLog(&raft.Log{Index: 1, Data: []byte("a")}) },
		func() error { return ws.StoreLogs([]*raft.Log{{Index: 2}, {Index: 3}}) },
	} {
		if err := write(); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		select {
		case <-ws.wrote:
		default:
			t.Fatalf("write %d left no signal", i)
		}
	}
	if last, err := ws.LastIndex(); err != nil || last != 3 {
		t.Errorf("LastIndex() = %d, %v; want 3", last, err)
	}
}
