package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
)

// ErrBehind means this node has not applied what a read needs yet (a
// read index or a version the caller has seen) and the read's deadline
// came first: retry, here or on another node.
var ErrBehind = errors.New("this node has not caught up with the read yet")

// ReadIndex is the leader's half of a linearizable read (Raft thesis
// §6.4). It takes this node's commit index, then confirms with a heartbeat
// round that it still leads, and returns that index: a state that has
// applied it reflects every write acknowledged before the call began, and
// every write any node had applied by then. The caller waits until its
// state has applied the index (WaitApplied), here or on a follower.
//
// Why this is enough: the node checks that it leads in a term whose
// barrier it has applied, so its commit index covers every entry committed
// in earlier terms; entries committed since were committed by this node,
// so its commit index covers them too. Every write acknowledged, and
// every entry applied anywhere, before the call was committed before it,
// so its index is at most the commit index taken. The quorum's answer then
// shows that no other leader can have committed anything newer meanwhile:
// that quorum still followed this node. A leader frozen and deposed
// meanwhile fails the confirmation (ErrNotLeader or ErrLeadershipLost)
// instead of answering from its old state. The applied index is not
// enough: a follower may apply an entry before the leader's own state
// machine does, and a read there must not be followed by an older one
// here.
//
// A leader stopped (SIGSTOP, docker pause) past an election and then
// resumed could pass the confirmation with answers its followers sent
// before the stop (see pauseWatch). While such a stop may be recent, the
// confirmation is repeated until those answers are spent: each follower
// has at most two in flight (its heartbeat and its replication), each
// counts for the checks waiting when it arrives, then no more.
func (s *Store) ReadIndex() (uint64, error) {
	term := s.raft.CurrentTerm()
	if s.raft.State() != raft.Leader || s.readyTerm.Load() != term {
		return 0, ErrNotLeader
	}
	index := s.raft.CommitIndex()
	if err := s.VerifyLeader(); err != nil {
		return 0, err
	}
	if s.pauses.recent() {
		voters, err := s.Voters()
		if err != nil {
			return 0, err
		}
		for range 2 * len(voters) {
			if err := s.VerifyLeader(); err != nil {
				return 0, err
			}
		}
	}
	if s.raft.CurrentTerm() != term {
		return 0, fmt.Errorf("%w: the term changed during the read", ErrLeadershipLost)
	}
	return index, nil
}

// WaitApplied waits until this node's state reflects every entry of the
// log up to index (a read index from the leader), or ctx ends (ErrBehind).
//
// The state machine sees only the game's commands: a leader's no-op or a
// configuration change never moves its applied index. So once Raft has
// handed every entry up to index to the state machine, the wait also ends
// if no command lies between what the state machine applied and index.
func (s *Store) WaitApplied(ctx context.Context, index uint64) error {
	for {
		next := s.fsm.nextApply()
		applied := s.fsm.applied.Load()
		if applied >= index {
			return nil
		}
		if s.raft.AppliedIndex() >= index && s.raft.CommitIndex() >= index && !s.commandsBetween(applied, index) {
			return nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return fmt.Errorf("%w: applied %d of read index %d: %w", ErrBehind, applied, index, ctx.Err())
		case <-s.closing:
			return ErrClosed
		}
	}
}

// commandsBetween reports whether the log holds a game command at an index
// in (from, to]. It reads from to downwards: the entries a state machine
// has yet to apply end with commands, unless a leader's no-ops and
// barriers or configuration changes are all that is left, which are few.
// An entry it cannot read counts as a command.
func (s *Store) commandsBetween(from, to uint64) bool {
	var l raft.Log
	for i := to; i > from; i-- {
		if err := s.entries.GetLog(i, &l); err != nil || l.Type == raft.LogCommand {
			return true
		}
	}
	return false
}

// WaitRoomVersion waits until this node has applied room code at version
// min or later, or ctx ends (ErrBehind). A caller that has seen a version
// passes it, so that no node answers it with an older one. A room this
// node does not know yet counts as version 0.
func (s *Store) WaitRoomVersion(ctx context.Context, code string, min uint64) error {
	if min == 0 {
		return nil
	}
	for {
		next := s.fsm.nextApply()
		s.fsm.mu.RLock()
		v, _ := s.fsm.state.Version(code)
		s.fsm.mu.RUnlock()
		if v >= min {
			return nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return fmt.Errorf("%w: room %s at version %d, the caller has seen %d: %w", ErrBehind, code, v, min, ctx.Err())
		case <-s.closing:
			return ErrClosed
		}
	}
}

// StateHash returns the SHA-256 of this node's whole game state (its
// snapshot encoding) and the index of the last entry it reflects. Nodes
// that have applied the same log have equal hashes.
func (s *Store) StateHash() (uint64, [sha256.Size]byte, error) {
	h := sha256.New()
	s.fsm.mu.RLock()
	defer s.fsm.mu.RUnlock()
	if err := s.fsm.state.Snapshot(h); err != nil {
		return 0, [sha256.Size]byte{}, fmt.Errorf("store: hash state: %w", err)
	}
	return s.fsm.applied.Load(), [sha256.Size]byte(h.Sum(nil)), nil
}
