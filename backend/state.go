package backend

import (
	"crypto/sha256"

	"github.com/hashicorp/raft"

	"github.com/gallows-game/gallows/backend/game"
	"github.com/gallows-game/gallows/backend/internal/store"
)

// Stats is a node's Raft state at one moment.
type Stats struct {
	// State is Raft's role: Follower, Candidate, Leader or Shutdown.
	State string
	// Term is the current Raft term.
	Term uint64
	// LastIndex is the index of the last entry in the node's log.
	LastIndex uint64
	// CommitIndex is the index of the last entry the node knows committed.
	CommitIndex uint64
	// AppliedIndex is the index of the last game command the node's state
	// applied, or of the snapshot it restored since. Raft's own entries
	// (configuration changes, barriers, no-ops) do not move it, so it may
	// stay below CommitIndex until the next command.
	AppliedIndex uint64
	// LeaderID is the leader the node knows of, or "".
	LeaderID string
}

// Stats returns the node's Raft state now.
func (n *Node) Stats() Stats {
	st := n.store.Stats()
	return Stats{
		State: st.State, Term: st.Term, LastIndex: st.LastIndex, CommitIndex: st.CommitIndex,
		AppliedIndex: st.AppliedIndex, LeaderID: st.LeaderID,
	}
}

// IsLeader reports whether the node leads now and has applied every entry
// of earlier terms, so that its state is the latest committed one. A node
// that has just won an election is not IsLeader until then.
func (n *Node) IsLeader() bool { return n.store.IsLeader() }

// Room returns room code as this node has applied it: a local read, which
// may be stale on a follower. Clients read through gRPC, which is
// linearizable; tests compare what each node holds.
func (n *Node) Room(code string) (*game.Room, bool) { return n.store.Room(code) }

// Rooms returns every room as this node has applied them, sorted by code:
// a local read, like Room.
func (n *Node) Rooms() []*game.Room { return n.store.Rooms() }

// StateHash returns the SHA-256 of the node's whole game state and the
// index of the last entry it reflects. Nodes that have applied the same
// log have equal hashes.
func (n *Node) StateHash() (uint64, [sha256.Size]byte, error) { return n.store.StateHash() }

// Snapshot has the node take a Raft snapshot now, and compact its log.
func (n *Node) Snapshot() error { return n.store.Snapshot() }

// LastSnapshotIndex is the index of the last snapshot the node took or
// installed from the leader, 0 if none.
func (n *Node) LastSnapshotIndex() uint64 { return n.store.LastSnapshotIndex() }

// Voters lists the ids of the voters in the node's latest Raft
// configuration.
func (n *Node) Voters() ([]string, error) { return n.store.Voters() }

// RaftConfig is the Raft configuration of a node's store for id at
// TimeoutScale 1: its timeouts and batching. The benchmark's raw-Raft
// baseline runs with it, so that both sides of the comparison wait alike.
func RaftConfig(id string) *raft.Config { return store.RaftConfig(id, 1) }

// Score is a player's score in this node's scores replica.
func (n *Node) Score(player string) int64 { return n.scores.Replica().Score(player) }

// AddScore adds delta to a player's score on this node; gossip spreads it.
func (n *Node) AddScore(player string, delta int64) error {
	_, err := n.scores.Add(player, delta)
	return err
}

// ScoresTraffic is what this node has sent for scores: the bytes of the
// deltas it broadcast (each once, as written; serf retransmits them) and
// of its anti-entropy exchanges, and how many deltas it broadcast.
func (n *Node) ScoresTraffic() (deltaBytes, syncBytes, deltas int64) { return n.scores.Traffic() }
