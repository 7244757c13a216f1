package store

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
)

var (
	// ErrNotLeader means this node is not the Raft leader; send the write to the leader.
	ErrNotLeader = errors.New("not the raft leader")
	// ErrLeadershipLost means leadership was lost while the write was in
	// flight: it may or may not have been committed, so retry it with the same
	// request id.
	ErrLeadershipLost = errors.New("leadership lost while committing")
	// ErrTimeout means the write was not committed before its deadline.
	ErrTimeout = errors.New("timed out waiting for commit")
	// ErrClosed means the store is shut down.
	ErrClosed = errors.New("store closed")
	// ErrLagging means a subscriber fell too far behind and was dropped; it
	// should subscribe again and restart from the current state.
	ErrLagging = errors.New("subscriber fell behind")
)

// raftError translates hashicorp/raft's errors into this package's.
func raftError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader):
		return ErrNotLeader
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrAbortedByRestore):
		return fmt.Errorf("%w: %w", ErrLeadershipLost, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	default:
		return fmt.Errorf("raft: %w", err)
	}
}
