package backend

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/gallows-game/gallows/backend/internal/membership"
)

// Raft logs what it cannot reach as warnings and errors. Most of those
// lines matter: a peer that should answer does not. Some are what this
// node expects, and those are logged lower (raftLogLevel), so that a
// cluster started and stopped in order logs no warning:
//
//   - a new node's elections before it is bootstrapped ("no known peers"),
//     and the first election of a cluster (no leader was ever known);
//   - failures to reach a peer that left gracefully (serf says it left, or
//     is leaving: it stops, and its Raft with it);
//   - elections, and a leader stepping down, once so many backends have
//     left that no majority is left: the cluster is being stopped;
//   - anything about peers and elections once this node is stopping.

// raftPeerLines are Raft's lines about a peer it cannot reach, or a
// connection that ended.
var raftPeerLines = map[string]bool{
	"failed to appendEntries to":                true,
	"failed to heartbeat to":                    true,
	"failed to make requestVote RPC":            true,
	"failed to contact":                         true,
	"failed to start pipeline replication to":   true,
	"failed to pipeline appendEntries":          true,
	"failed to send snapshot to":                true,
	"peer has newer term, stopping replication": true,
	"failed to decode incoming command":         true,
	"failed to accept connection":               true,
	"failed to flush response":                  true,
}

// raftElectionLines are Raft's lines about elections and leadership.
var raftElectionLines = map[string]bool{
	"heartbeat timeout reached, starting election":      true,
	"Election timeout reached, restarting election":     true,
	"failed to contact quorum of nodes, stepping down":  true,
	"rejecting vote request since we have a leader":     true,
	"rejecting pre-vote request since we have a leader": true,
}

// quietRaft decides the level of Raft's lines for one node: see above.
type quietRaft struct {
	id       string
	members  *atomic.Pointer[membership.Membership]
	stopping *atomic.Bool
}

// level implements slogbridge.Level.
func (q quietRaft) level(level slog.Level, msg string, fields map[string]any) slog.Level {
	if level < slog.LevelWarn {
		return level
	}
	switch {
	case msg == "no known peers, aborting election":
		// A new node without a configuration: it waits to be
		// bootstrapped (bootstrap-expect) or added by the leader.
		return slog.LevelDebug
	case msg == "heartbeat timeout reached, starting election" && fmt.Sprint(fields["last-leader-id"]) == "":
		// No leader was ever known here: the first election of a new
		// cluster, or of one started again.
		return slog.LevelInfo
	}
	peer, election := raftPeerLines[msg], raftElectionLines[msg]
	if !peer && !election {
		return level
	}
	expected := slog.LevelDebug
	if election {
		expected = slog.LevelInfo
	}
	if q.stopping.Load() {
		return expected
	}
	m := q.members.Load()
	if m == nil {
		return level
	}
	members := m.Members()
	left := map[string]bool{} // ids and Raft addresses of the backends that left
	others, gone := 0, 0
	for _, mem := range members {
		if mem.ID == q.id {
			continue
		}
		others++
		if mem.Status == "left" || mem.Status == "leaving" {
			gone++
			left[mem.ID] = true
			if mem.RaftAddr != "" {
				left[mem.RaftAddr] = true
			}
		}
	}
	for _, k := range []string{"peer", "target", "server-id", "last-leader-id", "last-leader-addr"} {
		for _, name := range peerNames(fields[k]) {
			if left[name] {
				return expected
			}
		}
	}
	// Without a majority of the backends (this one included) still in
	// the cluster, no leader can be elected: they are being stopped.
	if election && gone > 0 && others+1-gone < (others+1)/2+1 {
		return expected
	}
	return level
}

// peerNames are the ids and addresses a field of a Raft line names: a
// string (an id or an address), or a raft.Server as hclog's JSON gives
// it ({"ID","Address","Suffrage"}).
func peerNames(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case map[string]any:
		var out []string
		for _, k := range []string{"ID", "Address"} {
			if s, ok := v[k].(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
