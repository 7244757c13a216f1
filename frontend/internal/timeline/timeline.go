// Package timeline records a frontend's view of the cluster's failovers
// for the cluster panel: when the leader was lost, when and in which term
// another was elected, which backends went down and came back, the faults
// the panel's buttons injected, and how long after a leader was lost the
// first guess was acknowledged again.
//
// A Recorder is fed three kinds of observations: the cluster status the
// frontend watches (Observe), the fault actions of the panel (Fault) and
// every acknowledged guess (Acked). It keeps the last Size events in a
// ring; Events returns them newest first. It is safe for concurrent use,
// and its methods do nothing on a nil Recorder.
package timeline

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Size is how many events a Recorder keeps.
const Size = 50

// Kind says what an Event is.
type Kind string

// The kinds of events.
const (
	// LeaderLost: the leader the frontend knew is gone (down, or no
	// leader is named).
	LeaderLost Kind = "leader-lost"
	// LeaderElected: a leader is known again, or for the first time.
	LeaderElected Kind = "leader-elected"
	// NodeDown and NodeUp: a backend stopped answering, or answers again.
	NodeDown Kind = "node-down"
	NodeUp   Kind = "node-up"
	// TermChanged: the highest term of the backends changed with no
	// election seen.
	TermChanged Kind = "term"
	// Fault: the panel injected a fault (kill -9, restart, freeze, cut).
	Fault Kind = "fault"
	// FirstAck: the first guess acknowledged after the leader was lost.
	FirstAck Kind = "first-ack"
)

// Event is one line of the timeline.
type Event struct {
	// At is when the frontend saw it happen.
	At time.Time
	// Kind says what happened; Node is the backend concerned (empty for
	// FirstAck); Term is the term of a LeaderElected or TermChanged.
	Kind Kind
	Node string
	Term uint64
	// SinceLoss is, for LeaderElected and FirstAck after a leader was
	// lost, how long after the loss it came; 0 otherwise.
	SinceLoss time.Duration
	// Text says it in words, e.g. "b2 elected leader in term 5, 310 ms
	// after the leader was lost".
	Text string
}

// Node is one backend in a Status.
type Node struct {
	ID string
	// Up is false for a backend that does not answer.
	Up bool
	// Term is its current term (meaningful when Up).
	Term uint64
}

// Status is the cluster as one status report shows it.
type Status struct {
	// Leader is the id of the leader the reporting backend names; empty
	// while there is none.
	Leader string
	Nodes  []Node
}

// Recorder keeps the timeline. The zero value is not usable: use New.
type Recorder struct {
	mu     sync.Mutex
	events []Event // oldest first, at most Size
	seen   bool    // a status has been observed
	leader string  // the leader known, "" while there is none
	term   uint64  // the highest term of the backends up
	up     map[string]bool
	// out is the leader's loss being measured, if any.
	out outage
	// waiting is set while out waits for its first acknowledged guess,
	// so that Acked, called for every guess, takes no lock otherwise.
	waiting atomic.Bool
	// changed is closed, and replaced, at every new event.
	changed chan struct{}
}

// outage is a loss of the leader, from the moment it was lost until both
// another leader is seen and a guess is acknowledged again.
type outage struct {
	leader string    // who was lost; "" when no loss is being measured
	at     time.Time // when
	// seen: a status has shown the loss. A fault the panel injected into
	// the leader starts the outage before any status shows it.
	seen    bool
	elected bool // a leader was seen since
	acked   bool // a guess was acknowledged since
}

// New returns an empty Recorder.
func New() *Recorder {
	return &Recorder{up: map[string]bool{}, changed: make(chan struct{})}
}

// Events returns the events kept, newest first.
func (r *Recorder) Events() []Event {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.events)
	slices.Reverse(out)
	return out
}

// Changed returns a channel that is closed at the next event.
func (r *Recorder) Changed() <-chan struct{} {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// add appends an event; under r.mu.
func (r *Recorder) add(e Event) {
	r.events = append(r.events, e)
	if len(r.events) > Size {
		r.events = slices.Delete(r.events, 0, len(r.events)-Size)
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// Observe records what changed from the last status to st, seen at at.
func (r *Recorder) Observe(at time.Time, st Status) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	up := map[string]bool{}
	var term uint64
	for _, n := range st.Nodes {
		up[n.ID] = n.Up
		if n.Up {
			term = max(term, n.Term)
		}
	}
	// A leader that does not answer is no leader: right after a kill the
	// others still name it until their heartbeats time out.
	leader := st.Leader
	if leader != "" && !up[leader] {
		leader = ""
	}
	first := !r.seen
	r.seen = true

	for _, n := range st.Nodes {
		was, known := r.up[n.ID]
		switch {
		case !n.Up && (was || first && !known):
			r.add(Event{At: at, Kind: NodeDown, Node: n.ID, Text: n.ID + " down"})
		case n.Up && known && !was:
			r.add(Event{At: at, Kind: NodeUp, Node: n.ID, Text: n.ID + " up again"})
		}
	}
	r.up = up

	if leader != r.leader {
		if r.leader != "" {
			if r.out.leader != r.leader || r.out.seen {
				r.out = outage{leader: r.leader, at: at}
				r.waiting.Store(true)
			}
			r.out.seen = true
			r.add(Event{At: at, Kind: LeaderLost, Node: r.leader, Text: "leader " + r.leader + " lost"})
		}
		if leader != "" {
			e := Event{At: at, Kind: LeaderElected, Node: leader, Term: term}
			if first {
				e.Text = fmt.Sprintf("%s leads in term %d", leader, term)
			} else {
				e.Text = fmt.Sprintf("%s elected leader in term %d", leader, term)
			}
			if r.out.leader != "" && r.out.seen {
				e.SinceLoss = at.Sub(r.out.at)
				e.Text += ", " + Duration(e.SinceLoss) + " after " + r.out.leader + " was lost"
				r.out.elected = true
				if r.out.acked {
					r.out = outage{}
				}
			}
			r.add(e)
		}
		r.leader = leader
	} else if term != r.term && r.term != 0 && term != 0 && !first {
		r.add(Event{At: at, Kind: TermChanged, Term: term, Text: fmt.Sprintf("term %d → %d", r.term, term)})
	}
	if term != 0 {
		r.term = term
	}
}

// Fault records a fault the panel injected into backend node: action is
// "kill", "restart", "freeze" or "cut", d how long a freeze or cut lasts.
// A kill, freeze or cut of the leader counts as its loss from now: the
// status that shows it comes a moment later.
func (r *Recorder) Fault(at time.Time, action, node string, d time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var text string
	switch action {
	case "kill":
		text = node + " killed (kill -9)"
	case "restart":
		text = node + " restarted"
	case "freeze":
		text = node + " frozen for " + seconds(d)
	case "cut":
		text = node + " cut off for " + seconds(d)
	default:
		text = node + ": " + action
	}
	if action != "restart" && node == r.leader && r.leader != "" {
		r.out = outage{leader: node, at: at}
		r.waiting.Store(true)
		text += " while leading"
	}
	r.add(Event{At: at, Kind: Fault, Node: node, Text: text})
}

// Acked records a guess acknowledged at at: the first one after a leader
// was lost is an event, which says how long after the loss it came.
func (r *Recorder) Acked(at time.Time) {
	if r == nil || !r.waiting.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.out.leader == "" || r.out.acked || at.Before(r.out.at) {
		return
	}
	gap := at.Sub(r.out.at)
	r.add(Event{At: at, Kind: FirstAck, SinceLoss: gap,
		Text: "first guess acknowledged " + Duration(gap) + " after " + r.out.leader + " was lost"})
	r.out.acked = true
	r.waiting.Store(false)
	if r.out.elected {
		r.out = outage{}
	}
}

// seconds formats how long a fault lasts: "5 s", "0.5 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%g s", d.Seconds())
}

// Duration formats a measured time for the timeline: "450 ms" below
// 10 s, else seconds with one decimal ("12.5 s").
func Duration(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
