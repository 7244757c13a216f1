package timeline

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// t0 is the start of every sequence; ms(n) is n milliseconds after it.
var t0 = time.Date(2026, 1, 2, 12, 3, 4, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// obs is one observation of a sequence: a status, a fault or an ack.
type obs struct {
	at     time.Time
	status *Status
	action string // a fault: "kill", "restart", "freeze" or "cut"
	node   string
	d      time.Duration
	ack    bool
}

func status(at time.Time, leader string, nodes ...Node) obs {
	return obs{at: at, status: &Status{Leader: leader, Nodes: nodes}}
}

func up(id string, term uint64) Node { return Node{ID: id, Up: true, Term: term} }
func down(id string) Node            { return Node{ID: id} }

func fault(at time.Time, action, node string, d time.Duration) obs {
	return obs{at: at, action: action, node: node, d: d}
}

func ack(at time.Time) obs { return obs{at: at, ack: true} }

// want is an expected event, oldest first: its kind, node, term, gap and
// text.
type want struct {
	kind  Kind
	node  string
	term  uint64
	since time.Duration
	text  string
}

func TestRecorderSequences(t *testing.T) {
	for _, tc := range []struct {
		name string
		seq  []obs
		want []want
	}{
		{
			name: "first status names the leader and nodes already down",
			seq:  []obs{status(ms(0), "b1", up("b1", 2), up("b2", 2), down("b3"))},
			want: []want{
				{NodeDown, "b3", 0, 0, "b3 down"},
				{LeaderElected, "b1", 2, 0, "b1 leads in term 2"},
			},
		},
		{
			name: "leader killed outside the panel: loss seen, election, first ack",
			seq: []obs{
				status(ms(0), "b1", up("b1", 2), up("b2", 2), up("b3", 2)),
				ack(ms(100)), // before any loss: no event
				// The others still name b1, which no longer answers.
				status(ms(1000), "b1", down("b1"), up("b2", 2), up("b3", 2)),
				status(ms(1300), "b2", down("b1"), up("b2", 3), up("b3", 3)),
				ack(ms(1450)),
				ack(ms(1500)), // only the first counts
			},
			want: []want{
				{LeaderElected, "b1", 2, 0, "b1 leads in term 2"},
				{NodeDown, "b1", 0, 0, "b1 down"},
				{LeaderLost, "b1", 0, 0, "leader b1 lost"},
				{LeaderElected, "b2", 3, 300 * time.Millisecond, "b2 elected leader in term 3, 300 ms after b1 was lost"},
				{FirstAck, "", 0, 450 * time.Millisecond, "first guess acknowledged 450 ms after b1 was lost"},
			},
		},
		{
			name: "kill -9 from the panel times the loss from the click",
			seq: []obs{
				status(ms(0), "b1", up("b1", 2), up("b2", 2), up("b3", 2)),
				fault(ms(500), "kill", "b1", 0),
				// The next status shows b1 down and b2 elected at once.
				status(ms(900), "b2", down("b1"), up("b2", 3), up("b3", 3)),
				ack(ms(1000)),
				fault(ms(5000), "restart", "b1", 0),
				status(ms(6000), "b2", up("b1", 3), up("b2", 3), up("b3", 3)),
			},
			want: []want{
				{LeaderElected, "b1", 2, 0, "b1 leads in term 2"},
				{Fault, "b1", 0, 0, "b1 killed (kill -9) while leading"},
				{NodeDown, "b1", 0, 0, "b1 down"},
				{LeaderLost, "b1", 0, 0, "leader b1 lost"},
				{LeaderElected, "b2", 3, 400 * time.Millisecond, "b2 elected leader in term 3, 400 ms after b1 was lost"},
				{FirstAck, "", 0, 500 * time.Millisecond, "first guess acknowledged 500 ms after b1 was lost"},
				{Fault, "b1", 0, 0, "b1 restarted"},
				{NodeUp, "b1", 0, 0, "b1 up again"},
			},
		},
		{
			name: "an ack can come before the status shows the new leader",
			seq: []obs{
				status(ms(0), "b2", up("b1", 4), up("b2", 4), up("b3", 4)),
				fault(ms(0), "freeze", "b2", 5*time.Second),
				ack(ms(700)),
				status(ms(800), "", up("b1", 4), down("b2"), up("b3", 4)),
				status(ms(1000), "b3", up("b1", 5), down("b2"), up("b3", 5)),
				ack(ms(1100)),
			},
			want: []want{
				{LeaderElected, "b2", 4, 0, "b2 leads in term 4"},
				{Fault, "b2", 0, 0, "b2 frozen for 5 s while leading"},
				{FirstAck, "", 0, 700 * time.Millisecond, "first guess acknowledged 700 ms after b2 was lost"},
				{NodeDown, "b2", 0, 0, "b2 down"},
				{LeaderLost, "b2", 0, 0, "leader b2 lost"},
				{LeaderElected, "b3", 5, time.Second, "b3 elected leader in term 5, 1000 ms after b2 was lost"},
			},
		},
		{
			name: "a fault on a follower is no loss",
			seq: []obs{
				status(ms(0), "b1", up("b1", 2), up("b2", 2), up("b3", 2)),
				fault(ms(10), "cut", "b3", 10*time.Second),
				status(ms(600), "b1", up("b1", 2), up("b2", 2), down("b3")),
				ack(ms(700)),
			},
			want: []want{
				{LeaderElected, "b1", 2, 0, "b1 leads in term 2"},
				{Fault, "b3", 0, 0, "b3 cut off for 10 s"},
				{NodeDown, "b3", 0, 0, "b3 down"},
			},
		},
		{
			name: "a term change without an election seen",
			seq: []obs{
				status(ms(0), "b1", up("b1", 2), up("b2", 2)),
				status(ms(100), "b1", up("b1", 3), up("b2", 3)),
				status(ms(200), "b1", up("b1", 3), up("b2", 3)), // nothing new
			},
			want: []want{
				{LeaderElected, "b1", 2, 0, "b1 leads in term 2"},
				{TermChanged, "", 3, 0, "term 2 → 3"},
			},
		},
		{
			name: "a handover to another leader with no gap seen",
			seq: []obs{
				status(ms(0), "b1", up("b1", 2), up("b2", 2), up("b3", 2)),
				status(ms(250), "b2", up("b1", 3), up("b2", 3), up("b3", 3)),
			},
			want: []want{
				{LeaderElected, "b1", 2, 0, "b1 leads in term 2"},
				{LeaderLost, "b1", 0, 0, "leader b1 lost"},
				{LeaderElected, "b2", 3, 0, "b2 elected leader in term 3, 0 ms after b1 was lost"},
			},
		},
		{
			name: "no leader at first, then one",
			seq: []obs{
				status(ms(0), "", up("b1", 1), up("b2", 1)),
				status(ms(300), "b2", up("b1", 2), up("b2", 2)),
				ack(ms(400)),
			},
			want: []want{
				{LeaderElected, "b2", 2, 0, "b2 elected leader in term 2"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New()
			for _, o := range tc.seq {
				switch {
				case o.status != nil:
					r.Observe(o.at, *o.status)
				case o.ack:
					r.Acked(o.at)
				default:
					r.Fault(o.at, o.action, o.node, o.d)
				}
			}
			got := r.Events()
			slices.Reverse(got) // oldest first, as the cases list them
			var gotW []want
			for _, e := range got {
				gotW = append(gotW, want{e.Kind, e.Node, e.Term, e.SinceLoss, e.Text})
			}
			if !slices.Equal(gotW, tc.want) {
				t.Errorf("events:\n%s\nwant:\n%s", lines(gotW), lines(tc.want))
			}
		})
	}
}

func lines(ws []want) string {
	s := ""
	for _, w := range ws {
		s += fmt.Sprintf("  %+v\n", w)
	}
	return s
}

// The ring keeps the last Size events, newest first.
func TestRecorderKeepsTheLastEvents(t *testing.T) {
	r := New()
	for i := range Size + 7 {
		r.Fault(ms(i), "restart", fmt.Sprintf("b%d", i), 0)
	}
	got := r.Events()
	if len(got) != Size {
		t.Fatalf("%d events kept, want %d", len(got), Size)
	}
	if got[0].Node != fmt.Sprintf("b%d", Size+6) || got[Size-1].Node != "b7" {
		t.Errorf("kept %s to %s, want b%d (newest) to b7", got[0].Node, got[Size-1].Node, Size+6)
	}
}

// Changed is closed at the next event, not at an observation that adds
// none; a nil Recorder does nothing.
func TestRecorderChangedAndNil(t *testing.T) {
	r := New()
	st := Status{Leader: "b1", Nodes: []Node{up("b1", 1)}}
	r.Observe(ms(0), st)
	ch := r.Changed()
	r.Observe(ms(1), st)
	r.Acked(ms(2))
	select {
	case <-ch:
		t.Fatal("Changed closed without a new event")
	default:
	}
	r.Fault(ms(3), "kill", "b1", 0)
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed at a new event")
	}

	var none *Recorder
	none.Observe(ms(0), st)
	none.Fault(ms(0), "kill", "b1", 0)
	none.Acked(ms(0))
	if none.Events() != nil || none.Changed() != nil {
		t.Error("a nil Recorder has events")
	}
}

// Observations, faults and acks from many goroutines (run with -race).
func TestRecorderConcurrent(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				leader := fmt.Sprintf("b%d", (i+j)%3+1)
				r.Observe(ms(j), Status{Leader: leader, Nodes: []Node{up("b1", 1), up("b2", 1), up("b3", 1)}})
				r.Acked(ms(j))
				if j%50 == 0 {
					r.Fault(ms(j), "freeze", leader, time.Second)
				}
				_ = r.Events()
			}
		})
	}
	wg.Wait()
	if n := len(r.Events()); n != Size {
		t.Errorf("%d events, want the ring full (%d)", n, Size)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		450 * time.Millisecond:   "450 ms",
		5 * time.Second:          "5000 ms",
		1234 * time.Millisecond:  "1234 ms",
		12500 * time.Millisecond: "12.5 s",
		0:                        "0 ms",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
