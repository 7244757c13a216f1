package store

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/gallows-game/gallows/backend/game"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// applied is the outcome of one command of a batch.
type applied struct {
	res game.Result
	err error
}

// fsm adapts game.State to raft.FSM and publishes every change to
// subscribers. Apply never blocks on a subscriber.
type fsm struct {
	mu    sync.RWMutex
	state *game.State
	subs  subscribers

	applied atomic.Uint64 // index of the last applied log entry
	opened  atomic.Uint64 // index of the last snapshot opened (see indexedSnapshots)

	appliedMu sync.Mutex
	appliedCh chan struct{} // closed and replaced after every applied entry

	// onChange, if set, sees every room a command changed and every room a
	// snapshot restored, from Apply: it must not block.
	onChange func(*game.Room)
}

func newFSM() *fsm {
	return &fsm{
		state:     game.NewState(),
		subs:      subscribers{byRoom: map[string]map[*Subscription]struct{}{}},
		appliedCh: make(chan struct{}),
	}
}

// Apply implements raft.FSM. It returns []applied, one per command of the batch.
func (f *fsm) Apply(l *raft.Log) any {
	defer f.markApplied(l.Index)
	if isPlaceholder(l.Data) {
		// The leader fills an entry in as Raft writes it (see entries). An
		// entry that reached the FSM unfilled means the Raft in use copies
		// logs where this store relies on it not to: the nodes' states
		// could differ, and applying anything more would hide it.
		panic(fmt.Sprintf("store: log entry %d reached the state machine unfilled", l.Index))
	}
	var b pb.Batch
	if err := proto.Unmarshal(l.Data, &b); err != nil {
		// Every node decodes the same bytes, so every node fails alike.
		return fmt.Errorf("decode log entry %d: %w", l.Index, err)
	}
	out := make([]applied, len(b.Commands))
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, pc := range b.Commands {
		cmd, err := fromProto(pc)
		if err != nil {
			out[i].err = err
			continue
		}
		res, err := f.state.Apply(cmd)
		out[i] = applied{res: res, err: err}
		if err == nil && res.Changed {
			f.subs.publish(Change{Room: res.Room, Index: l.Index})
			if f.onChange != nil {
				f.onChange(res.Room)
			}
		}
	}
	return out
}

func (f *fsm) markApplied(index uint64) {
	f.applied.Store(index)
	f.appliedMu.Lock()
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	f.appliedMu.Unlock()
}

// nextApply returns a channel closed after the next applied entry.
func (f *fsm) nextApply() <-chan struct{} {
	f.appliedMu.Lock()
	defer f.appliedMu.Unlock()
	return f.appliedCh
}

// Snapshot implements raft.FSM. It runs on the apply goroutine, so the state
// is encoded here and written out later without holding anything.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var buf bytes.Buffer
	if err := f.state.Snapshot(&buf); err != nil {
		return nil, fmt.Errorf("snapshot game state: %w", err)
	}
	return snapshot(buf.Bytes()), nil
}

// indexedSnapshots is a snapshot store that tells the FSM the index of
// the last entry of each snapshot opened: Raft opens a snapshot right
// before it restores it (at start, or when the leader sends one), and
// hands Restore only the data. A leader also opens snapshots to send
// them, but never restores one.
type indexedSnapshots struct {
	raft.SnapshotStore
	fsm *fsm
}

// Open implements raft.SnapshotStore.
func (s indexedSnapshots) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	meta, rc, err := s.SnapshotStore.Open(id)
	if err == nil {
		s.fsm.opened.Store(meta.Index)
	}
	return meta, rc, err
}

// Restore implements raft.FSM: it replaces the state and tells every
// subscriber the restored state of its room. The applied index becomes
// the snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	next := game.NewState()
	if err := next.Restore(rc); err != nil {
		return fmt.Errorf("restore game state: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied.Store(f.opened.Load())
	f.state = next
	for _, r := range next.Rooms() {
		f.subs.publish(Change{Room: r})
		if f.onChange != nil {
			f.onChange(r)
		}
	}
	f.appliedMu.Lock()
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	f.appliedMu.Unlock()
	return nil
}

type snapshot []byte

// Persist implements raft.FSMSnapshot: it writes the encoded state.
func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("close snapshot: %w", err)
	}
	return nil
}

// Release implements raft.FSMSnapshot; there is nothing to release.
func (s snapshot) Release() {}
