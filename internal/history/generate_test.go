package history

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// This file simulates rooms played by concurrent clients, some of whose
// operations time out, and records a history that is correct by
// construction: every operation takes effect at one instant between its
// call and its return (an Unknown one at any instant after its call, or
// never), and the room's rules are applied in that order by simRoom, an
// implementation of the rules separate from the checker's model.

type genConfig struct {
	rooms, clients, opsPerClient int
	unknown                      float64 // share of operations that time out
	giveUp                       float64 // share of timed-out sends not sent again
	// Every outageEvery, for outageLen, the room has no leader: every
	// operation times out, and takes effect when the outage ends, or never.
	outageEvery, outageLen time.Duration
	seed                   uint64
}

var words = []string{"gallows", "raft", "quorum", "leader", "follower", "snapshot", "gossip", "replica", "term", "vote"}

const maxMisses = 6

// simRoom is a room with its secret word: the rules as the game runs them.
type simRoom struct {
	code    string
	word    string
	state   State
	misses  int
	start   State
	last    map[string]simRequest
	host    string
	watch   *simWatch
	rng     *rand.Rand
	history map[uint64]State // every version's state
}

type simRequest struct {
	id    string
	reply State
	hit   bool
}

func (r *simRoom) snapshot() State {
	s := r.state
	s.Guessed = slices.Clone(s.Guessed)
	return s
}

// do applies op at this instant; changed reports a new version.
func (r *simRoom) do(op *Op) (outcome Outcome, code string, reply State, hit, changed bool) {
	switch op.Kind {
	case Get:
		return OK, "", r.snapshot(), false, false
	case Guess:
		if l, ok := r.last[op.Player]; ok && op.RequestID != "" && l.id == op.RequestID {
			return OK, "", l.reply, l.hit, false
		}
		letter := strings.ToLower(strings.TrimSpace(op.Letter))
		switch {
		case len(letter) != 1 || letter[0] < 'a' || letter[0] > 'z':
			return Fail, "invalid_letter", State{}, false, false
		case op.Round > r.state.Round:
			return Fail, "bad_request", State{}, false, false
		case op.Round != 0 && op.Round < r.state.Round, r.state.Status != StatusPlaying:
			return Fail, "round_over", State{}, false, false
		case slices.Contains(r.state.Guessed, letter):
			return Fail, "already_guessed", State{}, false, false
		}
		r.state.Version++
		r.state.Guessed = append(slices.Clone(r.state.Guessed), letter)
		hit = strings.Contains(r.word, letter)
		if !hit {
			r.misses++
		}
		solved := true
		for _, c := range r.word {
			solved = solved && slices.Contains(r.state.Guessed, string(c))
		}
		switch {
		case solved:
			r.state.Status = StatusWon
		case r.misses >= maxMisses:
			r.state.Status = StatusLost
		}
		reply = r.snapshot()
		if op.RequestID != "" {
			r.last[op.Player] = simRequest{op.RequestID, reply, hit}
		}
		return OK, "", reply, hit, true
	case NextRound:
		round := op.Round
		if round == 0 {
			round = r.state.Round
		}
		switch {
		case op.Player != r.host:
			return Fail, "forbidden", State{}, false, false
		case round > r.state.Round:
			return Fail, "bad_request", State{}, false, false
		case round == r.state.Round-1:
			return OK, "", r.start, false, false
		case round < r.state.Round:
			return Fail, "round_over", State{}, false, false
		}
		r.state = State{Version: r.state.Version + 1, Round: r.state.Round + 1, Status: StatusPlaying}
		r.word = words[r.rng.IntN(len(words))]
		r.misses = 0
		r.start = r.snapshot()
		return OK, "", r.snapshot(), false, true
	}
	panic("unknown kind " + op.Kind)
}

// simWatch is one watcher of a room: it hears every version, and now and
// then resubscribes, losing a few versions before the new stream starts.
type simWatch struct {
	client  string
	stream  int
	skip    int
	delay   time.Duration
	journal *[]Event
}

func (w *simWatch) deliver(room string, at time.Time, s State, rng *rand.Rand) {
	if w.skip > 0 {
		w.skip--
		return
	}
	if rng.IntN(100) == 0 {
		w.stream++
		w.skip = rng.IntN(3)
		if w.skip > 0 {
			w.skip--
			return
		}
	}
	*w.journal = append(*w.journal, Event{Client: w.client, Stream: fmt.Sprintf("%s-%d", w.client, w.stream), Room: room, At: at.Add(w.delay), State: s})
}

type simClient struct {
	name   string
	room   *simRoom
	left   int
	seq    int
	view   State
	stale  bool // a refusal said the view is old: read the room
	resend *Op  // the last op, if it timed out and is to be sent again
	chain  *simChain
	sent   int // sends so far
	took   int // the latest send that took effect
}

// simChain is one request and its resends. The request takes effect at
// most once: a send that times out and arrives after another send of the
// request was applied, or after a later send of its client took effect,
// is dropped (as Raft drops the entries of a deposed leader), while a send
// still awaited is answered by the game's record of the player's last
// request.
type simChain struct {
	applied bool
}

type simStep struct {
	at   int64 // ns since the start
	prio int   // at one instant: effects, then returns, then calls
	seq  int
	fn   func()
}

type simQueue []simStep

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	if q[i].prio != q[j].prio {
		return q[i].prio < q[j].prio
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simStep)) }
func (q *simQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// generate simulates cfg and returns its history and each room's states.
func generate(cfg genConfig) ([]Op, []Event, map[string]*simRoom) {
	rng := rand.New(rand.NewPCG(cfg.seed, 1))
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var ops []Op
	var events []Event
	var q simQueue
	seq := 0
	schedule := func(at int64, prio int, fn func()) {
		seq++
		heap.Push(&q, simStep{at, prio, seq, fn})
	}
	rooms := map[string]*simRoom{}
	var issue func(c *simClient, at int64)
	issue = func(c *simClient, at int64) {
		if c.left == 0 {
			return
		}
		c.left--
		r := c.room
		op := Op{Client: c.name, Room: r.code, Player: c.name, Call: start.Add(time.Duration(at))}
		resent := false
		switch {
		case c.resend != nil:
			op = *c.resend
			op.Call = start.Add(time.Duration(at))
			op.Resend = true
			c.resend = nil
			resent = true
		case c.stale || rng.IntN(10) == 0:
			op.Kind = Get
			c.stale = false
		case c.view.Status != StatusPlaying && c.view.Version > 0:
			op.Kind, op.Round = NextRound, c.view.Round
		case c.name == r.host && rng.IntN(40) == 0:
			op.Kind, op.Round, op.Host = NextRound, c.view.Round, true
		default:
			op.Kind = Guess
			c.seq++
			op.RequestID = fmt.Sprint(c.seq)
			op.Letter = string(rune('a' + rng.IntN(26)))
			for tries := 0; tries < 5 && slices.Contains(c.view.Guessed, op.Letter); tries++ {
				op.Letter = string(rune('a' + rng.IntN(26)))
			}
			if rng.IntN(4) > 0 {
				op.Round = c.view.Round
			}
			if rng.IntN(50) == 0 {
				op.Letter = "?"
			}
		}
		op.Host = op.Kind == NextRound && c.name == r.host
		if !resent {
			c.chain = &simChain{}
		}
		chain := c.chain
		c.sent++
		send := c.sent
		dur := int64(200*time.Microsecond) + rng.Int64N(int64(3*time.Millisecond))
		timedOut := rng.Float64() < cfg.unknown
		ret := at + dur
		effect := at + rng.Int64N(dur+1)
		if timedOut {
			ret = at + int64(5*time.Millisecond)
			effect = -1
			if rng.IntN(10) < 7 { // applied, maybe long after the caller gave up
				effect = at + rng.Int64N(int64(12*time.Millisecond))
			}
		}
		if every := int64(cfg.outageEvery); every > 0 && at%every < int64(cfg.outageLen) {
			timedOut = true
			ret = at + int64(5*time.Millisecond)
			effect = -1
			if rng.IntN(10) < 7 { // committed by the next leader
				effect = at - at%every + int64(cfg.outageLen) + rng.Int64N(int64(time.Millisecond))
			}
		}
		var done bool
		var outcome Outcome
		var code string
		var reply State
		var hitLetter bool
		if effect >= 0 {
			schedule(effect, 0, func() {
				if timedOut && (chain.applied || c.took > send) {
					return // a later send of the client took effect first
				}
				c.took = max(c.took, send)
				var changed bool
				outcome, code, reply, hitLetter, changed = r.do(&op)
				done = true
				chain.applied = chain.applied || changed
				if changed {
					r.history[reply.Version] = reply
					r.watch.deliver(r.code, start.Add(time.Duration(effect)), reply, rng)
				}
			})
		}
		schedule(ret, 1, func() {
			rec := op
			rec.Return = start.Add(time.Duration(ret))
			switch {
			case timedOut:
				rec.Outcome = Unknown
				if op.Kind != Get && rng.Float64() >= cfg.giveUp {
					c.resend = &op
				}
			case !done:
				panic("an operation returned before it took effect")
			default:
				rec.Outcome, rec.Code, rec.Reply, rec.Hit = outcome, code, reply, hitLetter
				if outcome == OK && reply.Version > c.view.Version {
					c.view = reply
				}
				c.stale = code == "round_over"
			}
			ops = append(ops, rec)
			next := ret + rng.Int64N(int64(time.Millisecond))
			schedule(next, 2, func() { issue(c, next) })
		})
	}
	for i := range cfg.rooms {
		r := &simRoom{
			code:    fmt.Sprintf("room%02d", i),
			word:    words[rng.IntN(len(words))],
			state:   State{Version: 1, Round: 1, Status: StatusPlaying},
			last:    map[string]simRequest{},
			rng:     rng,
			history: map[uint64]State{},
		}
		r.start = r.snapshot()
		r.history[1] = r.snapshot()
		r.host = r.code + "-c0"
		r.watch = &simWatch{client: r.code + "-watch", delay: 50 * time.Microsecond, journal: &events}
		rooms[r.code] = r
		for j := range cfg.clients {
			c := &simClient{name: fmt.Sprintf("%s-c%d", r.code, j), room: r, left: cfg.opsPerClient}
			first := rng.Int64N(int64(time.Millisecond))
			schedule(first, 2, func() { issue(c, first) })
		}
	}
	var end int64
	for q.Len() > 0 {
		s := heap.Pop(&q).(simStep)
		end = s.at
		s.fn()
	}
	// A final read of each room, after everything.
	end += int64(time.Millisecond)
	for _, code := range sortedKeys(rooms) {
		r := rooms[code]
		ops = append(ops, Op{Client: code + "-final", Room: code, Kind: Get, Call: start.Add(time.Duration(end)),
			Return: start.Add(time.Duration(end + int64(time.Millisecond))), Outcome: OK, Reply: r.snapshot()})
	}
	return ops, events, rooms
}

// large is the size the chaos tests reach: 15,000 operations over 20
// rooms, 5 players each, 2% of sends timing out, a tenth of those not sent
// again.
var large = genConfig{rooms: 20, clients: 5, opsPerClient: 150, unknown: 0.02, giveUp: 0.1, seed: 7}

// failover is large with 10 players a room and a 20 ms outage (no leader)
// every 100 ms, in which every send times out; a timed-out request is sent
// again until it is answered, as the frontends and the chaos workload do.
var failover = genConfig{rooms: 20, clients: 10, opsPerClient: 75, unknown: 0.01, seed: 2,
	outageEvery: 100 * time.Millisecond, outageLen: 20 * time.Millisecond}

func TestLargeValidHistoryPasses(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  genConfig
	}{{"large", large}, {"failover", failover}} {
		t.Run(tt.name, func(t *testing.T) {
			ops, events, _ := generate(tt.cfg)
			r := Check(ops, events, time.Minute)
			t.Log(r.String())
			if !r.OK() || r.Unchecked != 0 || r.Rooms != tt.cfg.rooms {
				t.Fatalf("a correct history fails:\n%s", r.Details())
			}
			unknowns, resends, fails := 0, 0, 0
			for _, op := range ops {
				switch {
				case op.Outcome == Unknown:
					unknowns++
				case op.Outcome == Fail:
					fails++
				}
				if op.Resend {
					resends++
				}
			}
			t.Logf("%d ops (%d unknown, %d resends, %d refused), %d events", len(ops), unknowns, resends, fails, len(events))
			if len(ops) < 15000 || unknowns == 0 || resends == 0 || fails == 0 || len(events) == 0 {
				t.Fatal("the generated history lacks some kind of operation")
			}
		})
	}
}

func TestLargeHistoryWithAStaleReadFails(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  genConfig
	}{{"large", large}, {"failover", failover}} {
		t.Run(tt.name, func(t *testing.T) {
			ops, events, rooms := generate(tt.cfg)
			// Make one read stale: a read that began after a guess that
			// saw its version returned now shows the version before.
			for i := range ops {
				g := &ops[i]
				if g.Kind != Get || g.Outcome != OK || g.Reply.Version < 3 || strings.HasSuffix(g.Client, "-final") {
					continue
				}
				seen := false
				for _, o := range ops {
					if o.Room == g.Room && o.Outcome == OK && o.Kind == Guess && o.Reply.Version == g.Reply.Version && o.Return.Before(g.Call) {
						seen = true
						break
					}
				}
				if !seen {
					continue
				}
				g.Reply = rooms[g.Room].history[g.Reply.Version-1]
				r := Check(ops, events, time.Minute)
				t.Log(r.String())
				if r.OK() || r.NotLinearizable != 1 || r.Linearizable[g.Room] != LinIllegal {
					t.Fatalf("a stale read of %s is not found:\n%s", g.Room, r.Details())
				}
				return
			}
			t.Fatal("no read to make stale")
		})
	}
}

func TestGeneratedHistoriesPass(t *testing.T) {
	for seed := range uint64(40) {
		cfg := genConfig{rooms: 3, clients: 2 + int(seed%4), opsPerClient: 60, unknown: 0.02 * float64(seed%6), giveUp: 0.1, seed: seed}
		ops, events, _ := generate(cfg)
		r := Check(ops, events, time.Minute)
		if !r.OK() || r.Unchecked != 0 {
			t.Fatalf("seed %d: a correct history fails:\n%s", seed, r.Details())
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	for _, bb := range []struct {
		name string
		cfg  genConfig
	}{{"large", large}, {"failover", failover}} {
		b.Run(bb.name, func(b *testing.B) {
			ops, events, _ := generate(bb.cfg)
			b.ResetTimer()
			for range b.N {
				if r := Check(ops, events, time.Minute); !r.OK() {
					b.Fatal(r.Details())
				}
			}
		})
	}
}
