package store

import (
	"github.com/hashicorp/raft"
)

// writeSignal is the node's Raft log store, with a signal after every write.
// On the leader, Raft writes new entries from its main loop, one write (and
// fsync) at a time, and takes every entry proposed meanwhile into its next
// write. The batcher uses the signal to propose its next entry the moment
// the disk is free, with every command that queued during the write,
// instead of handing Raft an entry that then waits a whole write for its
// turn.
type writeSignal struct {
	raft.LogStore
	wrote chan struct{} // holds a token after a write, until taken
}

func newWriteSignal(logs raft.LogStore) *writeSignal {
	return &writeSignal{LogStore: logs, wrote: make(chan struct{}, 1)}
}

// StoreLog implements raft.LogStore.
func (w *writeSignal) StoreLog(l *raft.Log) error {
	defer w.signal()
	return w.LogStore.StoreLog(l)
}

// StoreLogs implements raft.LogStore.
func (w *writeSignal) StoreLogs(logs []*raft.Log) error {
	defer w.signal()
	return w.LogStore.StoreLogs(logs)
}

// IsMonotonic implements raft.MonotonicLogStore as the wrapped store does:
// Raft resets a monotonic log after restoring a snapshot instead of
// leaving a gap in it.
func (w *writeSignal) IsMonotonic() bool {
	m, ok := w.LogStore.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

func (w *writeSignal) signal() {
	select {
	case w.wrote <- struct{}{}:
	default:
	}
}
