// Package scores keeps the players' scores and who is online, on every
// backend, with no quorum: a state-based CRDT replica that accepts writes
// locally and converges by gossip (see Replica).
//
// Merges are deterministic and immune to clock skew. A set score is a
// last-writer-wins register ordered by hybrid logical clocks (HLC), so a
// write made after seeing a value always beats it, whatever the wall
// clocks say. Increments are per-node counters, so concurrent increments
// on different nodes all count. Game points are keyed by room and Raft
// version, so the same points reported by every node that applies them,
// or by every retry, count once.
package scores

import (
	"cmp"
	"fmt"
	"sync"
	"time"
)

// Timestamp is a hybrid logical clock reading: physical milliseconds, a
// logical counter for events within one millisecond (or while the wall
// clock lags a time already seen), and the node, which breaks ties.
type Timestamp struct {
	Wall    int64  `json:"w"`
	Logical uint32 `json:"l,omitempty"`
	Node    string `json:"n,omitempty"`
}

// Compare orders timestamps: by wall time, then logical counter, then node.
func (t Timestamp) Compare(u Timestamp) int {
	if c := cmp.Compare(t.Wall, u.Wall); c != 0 {
		return c
	}
	if c := cmp.Compare(t.Logical, u.Logical); c != 0 {
		return c
	}
	return cmp.Compare(t.Node, u.Node)
}

// IsZero reports whether t was never set.
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

func (t Timestamp) String() string { return fmt.Sprintf("%d.%d@%s", t.Wall, t.Logical, t.Node) }

// Clock is a hybrid logical clock (Kulkarni et al., 2014): its readings
// never go back, exceed every reading it has observed, and stay close to
// the wall clock.
type Clock struct {
	node string
	wall func() time.Time

	mu   sync.Mutex
	last Timestamp
}

// NewClock returns the clock of node; wall reads physical time (nil:
// time.Now). Tests give a node a skewed wall clock here.
func NewClock(node string, wall func() time.Time) *Clock {
	if wall == nil {
		wall = time.Now
	}
	return &Clock{node: node, wall: wall}
}

// Now returns a new reading, later than every earlier reading and every
// observed one.
func (c *Clock) Now() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.wall().UnixMilli()
	if pt > c.last.Wall {
		c.last = Timestamp{Wall: pt, Node: c.node}
	} else {
		c.last = Timestamp{Wall: c.last.Wall, Logical: c.last.Logical + 1, Node: c.node}
	}
	return c.last
}

// Observe moves the clock past t, a reading seen in a message, so that
// every later Now is after it.
func (c *Clock) Observe(t Timestamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Wall > c.last.Wall || t.Wall == c.last.Wall && t.Logical > c.last.Logical {
		c.last = Timestamp{Wall: t.Wall, Logical: t.Logical, Node: c.node}
	}
}
