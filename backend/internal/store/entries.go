package store

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// entries is the node's Raft log store and, on the leader, the place where
// log entries get their commands: at the moment Raft writes them.
//
// A leader's Raft writes new entries from its main loop, one write (and
// fsync) at a time, taking every entry proposed meanwhile into its next
// write. The store proposes an entry as soon as a command is queued and
// no entry is open, but with a placeholder for its data; when Raft's main
// loop writes the entry, StoreLogs fills in every command queued by then.
// So the commands that arrive during one write all go out in the next
// one, whose entry is already waiting to be taken by Raft's main loop:
// the disk never waits for the store, and no goroutine stands between the
// commands and the write.
//
// Raft hands StoreLogs the very raft.Log that the entry's future holds,
// and the leader applies that raft.Log to its FSM, while followers get
// the entry from the log store: both see the filled data. A placeholder
// is never written, and the FSM refuses to apply one, so a Raft that
// copied logs could not make the nodes diverge unnoticed.
type entries struct {
	raft.LogStore
	maxBatch int

	nOpen  atomic.Int64 // len(open): StoreLogs takes mu only when entries are open
	mu     sync.Mutex
	closed bool
	queued []*proposal  // waiting for an entry, in order
	open   []*openEntry // not written yet
	unsent []*openEntry // open, and not handed to Raft yet
	// wake holds a token while unsent entries wait for the store's
	// proposer, which hands them to Raft.
	wake chan struct{}
}

// openEntry is one log entry the store proposed: a placeholder until Raft
// writes it, then the commands it carries.
type openEntry struct {
	data    []byte      // the placeholder handed to raft.Apply
	written bool        // filled in by StoreLogs
	batch   []*proposal // the commands written in the entry
}

// placeholder is the data of an entry not filled in yet. It is never a
// valid encoded batch: a field number of 0 is invalid in protobuf.
const placeholder = 0x00

func newOpenEntry() *openEntry { return &openEntry{data: []byte{placeholder}} }

// isPlaceholder reports whether data is an entry's placeholder.
func isPlaceholder(data []byte) bool { return len(data) == 1 && data[0] == placeholder }

func newEntries(logs raft.LogStore, maxBatch int) *entries {
	return &entries{LogStore: logs, maxBatch: maxBatch, wake: make(chan struct{}, 1)}
}

// queue queues the proposals of one call, opening an entry for them if
// the open ones will not take them. It fails with ErrClosed once the
// store has closed.
func (e *entries) queue(ps []*proposal) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.queued = append(e.queued, ps...)
	// Under a burst, one open entry per MaxBatch queued commands.
	if len(e.open) == 0 || len(e.queued) > len(e.open)*e.maxBatch {
		e.openOne()
	}
	return nil
}

// openOne opens an entry and wakes the proposer. mu is held.
func (e *entries) openOne() {
	oe := newOpenEntry()
	e.open = append(e.open, oe)
	e.unsent = append(e.unsent, oe)
	e.nOpen.Store(int64(len(e.open)))
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// toPropose returns the open entries not handed to Raft yet.
func (e *entries) toPropose() []*openEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	oes := e.unsent
	e.unsent = nil
	return oes
}

// StoreLog implements raft.LogStore.
func (e *entries) StoreLog(l *raft.Log) error { return e.StoreLogs([]*raft.Log{l}) }

// StoreLogs implements raft.LogStore: it fills in the open entries among
// logs, then writes logs.
func (e *entries) StoreLogs(logs []*raft.Log) error {
	if e.nOpen.Load() > 0 {
		e.fill(logs)
	}
	for _, l := range logs {
		if l.Type == raft.LogCommand && isPlaceholder(l.Data) {
			return fmt.Errorf("store: log entry %d is a placeholder the store did not open: not written", l.Index)
		}
	}
	return e.LogStore.StoreLogs(logs)
}

// fill gives each open entry among logs the commands queued now, whole
// calls of at most MaxBatch commands in all (or one larger call).
func (e *entries) fill(logs []*raft.Log) {
	e.mu.Lock()
	for _, l := range logs {
		if l.Type != raft.LogCommand || !isPlaceholder(l.Data) {
			continue
		}
		i := slices.IndexFunc(e.open, func(oe *openEntry) bool { return &oe.data[0] == &l.Data[0] })
		if i < 0 {
			continue
		}
		oe := e.open[i]
		e.open = slices.Delete(e.open, i, i+1)
		oe.written, oe.batch = true, e.take()
		size := 0
		for _, p := range oe.batch {
			size += len(p.enc)
		}
		data := make([]byte, 0, size)
		for _, p := range oe.batch {
			data = append(data, p.enc...)
		}
		l.Data = data
	}
	e.nOpen.Store(int64(len(e.open)))
	if len(e.open) == 0 {
		// More was queued than these entries could take.
		for range (len(e.queued) + e.maxBatch - 1) / e.maxBatch {
			e.openOne()
		}
	}
	e.mu.Unlock()
}

// take removes the next entry's commands from the queue: whole calls,
// at most MaxBatch commands in all unless the first call alone has more.
func (e *entries) take() []*proposal {
	n := 0
	for n < len(e.queued) {
		c := e.queued[n].call
		end := n
		for end < len(e.queued) && e.queued[end].call == c {
			end++
		}
		if n > 0 && end > e.maxBatch {
			break
		}
		n = end
	}
	batch := e.queued[:n:n]
	e.queued = slices.Clone(e.queued[n:])
	return batch
}

// failed settles oe, which Raft gave up on, and returns the proposals
// that fail with it. If Raft had written oe, they are its commands, whose
// outcome is unknown. Otherwise they are the queued proposals that no
// open entry is left to take: they never reached the log.
func (e *entries) failed(oe *openEntry) []*proposal {
	e.mu.Lock()
	defer e.mu.Unlock()
	if oe.written {
		return oe.batch
	}
	if i := slices.Index(e.open, oe); i >= 0 {
		e.open = slices.Delete(e.open, i, i+1)
		e.nOpen.Store(int64(len(e.open)))
	}
	if len(e.open) > 0 {
		return nil // they go in one of those
	}
	left := e.queued
	e.queued = nil
	return left
}

// close refuses every later queue and returns what is still queued. The
// proposer must have stopped.
func (e *entries) close() []*proposal {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	left := e.queued
	e.queued = nil
	return left
}

// IsMonotonic implements raft.MonotonicLogStore as the wrapped store does:
// Raft resets a monotonic log after restoring a snapshot instead of
// leaving a gap in it.
func (e *entries) IsMonotonic() bool {
	m, ok := e.LogStore.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}
