package store

import (
	"testing"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// TestWALReopensAfterTailTruncation pins the raft-wal version. A follower
// drops the uncommitted end of its log when a new leader's log differs
// (raft's DeleteRange on the tail). raft-wal before v0.4.1 then marked the
// tail segment sealed without writing its index block
// (hashicorp/raft-wal#31), and the node panicked at its next start with
// "sealed segment has no index block". The container chaos test found it:
// a leader killed twice in a row could not come back.
func TestWALReopensAfterTailTruncation(t *testing.T) {
	dir := t.TempDir()
	open := func() (*wal.WAL, *metadb.BoltMetaDB) {
		t.Helper()
		meta := &metadb.BoltMetaDB{}
		w, err := wal.Open(dir, wal.WithMetaStore(meta), wal.WithSegmentSize(1<<20))
		if err != nil {
			t.Fatalf("open wal: %v", err)
		}
		return w, meta
	}
	w, meta := open()
	var logs []*raft.Log
	for i := uint64(1); i <= 10; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte("guess")})
	}
	if err := w.StoreLogs(logs); err != nil {
		t.Fatalf("store logs: %v", err)
	}
	if err := w.DeleteRange(8, 10); err != nil {
		t.Fatalf("truncate the tail: %v", err)
	}
	if err := w.StoreLog(&raft.Log{Index: 8, Term: 2, Type: raft.LogCommand, Data: []byte("new leader")}); err != nil {
		t.Fatalf("append after truncation: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close wal: %v", err)
	}
	if err := meta.Close(); err != nil {
		t.Fatalf("close meta: %v", err)
	}

	w, meta = open()
	defer func() {
		_ = w.Close()
		_ = meta.Close()
	}()
	for i := uint64(1); i <= 8; i++ {
		var l raft.Log
		if err := w.GetLog(i, &l); err != nil {
			t.Fatalf("after reopening, entry %d: %v", i, err)
		}
	}
	last, err := w.LastIndex()
	if err != nil || last != 8 {
		t.Fatalf("after reopening, last index = %d, %v; want 8", last, err)
	}
}
