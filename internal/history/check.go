package history

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// LinResult is the result of the linearizability check of one room.
type LinResult string

// The results of a room's linearizability check.
const (
	// LinOK means the room's history is linearizable.
	LinOK LinResult = "ok"
	// LinIllegal means it is not.
	LinIllegal LinResult = "illegal"
	// LinUnknown means the check ran out of time: not a pass.
	LinUnknown LinResult = "unknown"
)

// The checks, as Violation.Check names them.
const (
	// CheckLinearizable is check 1: each room's history is linearizable.
	CheckLinearizable = "linearizability"
	// CheckBackwards is check 2: no caller sees a room's version go down.
	CheckBackwards = "backwards"
	// CheckConflict is check 3: no version or request answered two ways.
	CheckConflict = "conflict"
	// CheckGap is check 4: watch streams deliver every version, in order.
	CheckGap = "gap"
	// CheckLost is check 5: the final read holds every acknowledged write.
	CheckLost = "lost"
)

// Violation is one problem a check found.
type Violation struct {
	// Check is the check that found it: CheckBackwards, CheckConflict...
	Check string
	// Room is the room concerned.
	Room string
	// Client is the caller concerned, if one is.
	Client string
	// Saw is the version seen first (the highest one a caller had seen;
	// an acknowledged write's version), where that means something.
	Saw uint64
	// Got is the version seen next (the older one; the final read's).
	Got uint64
	// At is when the offending reply or event arrived.
	At time.Time
	// Detail says what happened, in words.
	Detail string
}

// String describes the violation on one line.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: room %s", v.Check, v.Room)
	if v.Client != "" {
		fmt.Fprintf(&b, " client %s", v.Client)
	}
	switch {
	case v.Saw != v.Got:
		fmt.Fprintf(&b, " saw v%d then v%d", v.Saw, v.Got)
	case v.Saw != 0:
		fmt.Fprintf(&b, " at v%d", v.Saw)
	}
	if v.Detail != "" {
		b.WriteString(": ")
		b.WriteString(v.Detail)
	}
	return b.String()
}

// Report is what Check found.
type Report struct {
	// Ops and Events count what was checked.
	Ops, Events int
	// Rooms counts the rooms that operations or events name.
	Rooms int
	// Linearizable holds each room's linearizability result (rooms that
	// only events name are not in it).
	Linearizable map[string]LinResult
	// NotLinearizable counts rooms whose history is not linearizable.
	NotLinearizable int
	// TimedOut counts rooms whose linearizability check ran out of time.
	TimedOut int
	// Backwards counts replies and events older than what their caller
	// had already seen of the room.
	Backwards int
	// Conflicts counts versions or requests answered in two ways.
	Conflicts int
	// Gaps counts watch events that skip or repeat versions, or go back
	// across resubscribes.
	Gaps int
	// Lost counts acknowledged writes that the room's final read lacks.
	Lost int
	// Unchecked counts rooms the lost-write check could not check: they
	// have no read that began after every acknowledged operation
	// returned. It is not a violation, but a test that makes final reads
	// should require it to be 0.
	Unchecked int
	// UncheckedRooms says, for each unchecked room, why.
	UncheckedRooms map[string]string
	// Violations lists every problem found, check by check.
	Violations []Violation
	// Elapsed is how long the checks took.
	Elapsed time.Duration

	ops    []Op
	events []Event
	infos  map[string]porcupine.LinearizationInfo // rooms not shown linearizable
}

// OK reports whether every room is linearizable (a timed-out check is not
// a pass) and no other check found a violation. Unchecked rooms do not
// make it false.
func (r Report) OK() bool {
	return r.NotLinearizable == 0 && r.TimedOut == 0 && r.Backwards == 0 &&
		r.Conflicts == 0 && r.Gaps == 0 && r.Lost == 0
}

// String sums the report up on one line, for a table of results.
func (r Report) String() string {
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	lin := len(r.Linearizable) - r.NotLinearizable - r.TimedOut
	return fmt.Sprintf("%s ops=%d events=%d rooms=%d linearizable=%d/%d illegal=%d timeout=%d backwards=%d conflicts=%d gaps=%d lost=%d unchecked=%d took=%s",
		verdict, r.Ops, r.Events, r.Rooms, lin, len(r.Linearizable), r.NotLinearizable, r.TimedOut,
		r.Backwards, r.Conflicts, r.Gaps, r.Lost, r.Unchecked, r.Elapsed.Round(time.Millisecond))
}

// detailsPerCheck is how many violations of each check Details lists.
const detailsPerCheck = 5

// Details lists the first few violations of each kind, and the unchecked
// rooms, one per line.
func (r Report) Details() string {
	var b strings.Builder
	b.WriteString(r.String())
	b.WriteString("\n")
	for _, check := range []string{CheckLinearizable, CheckBackwards, CheckConflict, CheckGap, CheckLost} {
		n := 0
		for _, v := range r.Violations {
			if v.Check != check {
				continue
			}
			if n < detailsPerCheck {
				b.WriteString("  ")
				b.WriteString(v.String())
				b.WriteString("\n")
			}
			n++
		}
		if n > detailsPerCheck {
			fmt.Fprintf(&b, "  %s: ... %d more\n", check, n-detailsPerCheck)
		}
	}
	rooms := sortedKeys(r.UncheckedRooms)
	for i, room := range rooms {
		if i == detailsPerCheck {
			fmt.Fprintf(&b, "  unchecked: ... %d more\n", len(rooms)-detailsPerCheck)
			break
		}
		fmt.Fprintf(&b, "  unchecked: room %s: %s\n", room, r.UncheckedRooms[room])
	}
	return b.String()
}

// WriteFailure writes, into dir (created if needed), porcupine's HTML
// visualization of each room that is not shown linearizable, and, if the
// report is not OK, the whole history as JSON (for ReadJSON). It returns
// the paths written; nothing is written for a report that is OK and whose
// rooms are all linearizable.
func (r Report) WriteFailure(dir string) ([]string, error) {
	if r.OK() && len(r.infos) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write failure: %w", err)
	}
	var paths []string
	model := newModel()
	used := map[string]bool{}
	for _, room := range sortedKeys(r.infos) {
		name := "room-" + fileSafe(room)
		for i := 2; used[name]; i++ {
			name = fmt.Sprintf("room-%s-%d", fileSafe(room), i)
		}
		used[name] = true
		path := filepath.Join(dir, name+".html")
		if err := porcupine.VisualizePath(model, r.infos[room], path); err != nil {
			return paths, fmt.Errorf("visualize room %s: %w", room, err)
		}
		paths = append(paths, path)
	}
	path := filepath.Join(dir, "history.json")
	if err := writeJSON(path, r.ops, r.events); err != nil {
		return paths, fmt.Errorf("write failure: %w", err)
	}
	return append(paths, path), nil
}

// Check runs every check on a history. timeout bounds the linearizability
// check of all rooms together (rooms are checked in parallel); a room not
// decided in time is LinUnknown, which is not a pass. A timeout of 0 or
// less means no limit.
//
// Times are compared as wall-clock instants (UnixNano), so a history saved
// with WriteJSON checks the same after ReadJSON; record all of them on one
// machine's clock.
func Check(ops []Op, events []Event, timeout time.Duration) Report {
	start := time.Now()
	ops = append([]Op(nil), ops...)
	events = append([]Event(nil), events...)
	// Stable orders: operations by return, events by arrival.
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Return.Before(ops[j].Return) })
	sort.SliceStable(events, func(i, j int) bool { return events[i].At.Before(events[j].At) })

	r := Report{
		Ops:            len(ops),
		Events:         len(events),
		Linearizable:   map[string]LinResult{},
		UncheckedRooms: map[string]string{},
		ops:            ops,
		events:         events,
	}
	rooms := map[string]bool{}
	for i := range ops {
		rooms[ops[i].Room] = true
	}
	for i := range events {
		rooms[events[i].Room] = true
	}
	r.Rooms = len(rooms)

	r.checkLinearizable(timeout)
	r.checkBackwards()
	r.checkConflicts()
	r.checkGaps()
	r.checkLost()
	r.Elapsed = time.Since(start)
	return r
}

func (r *Report) add(v Violation) {
	r.Violations = append(r.Violations, v)
	switch v.Check {
	case CheckBackwards:
		r.Backwards++
	case CheckConflict:
		r.Conflicts++
	case CheckGap:
		r.Gaps++
	case CheckLost:
		r.Lost++
	}
}

// checkLinearizable is check 1: each room's operations, with porcupine,
// rooms in parallel. An Unknown operation returns after every other
// operation (or when a reply showed that the round it names was over), so
// it may take effect at any time after its call; an Unknown Get says
// nothing and is left out. An Unknown operation that its client sent again
// (Resend) until it was answered is checked as one request, sent at the
// first call and answered by the last reply: it takes effect at most once
// (promise 2), and the search need not place each send on its own.
func (r *Report) checkLinearizable(timeout time.Duration) {
	byRoom := linearizationOps(r.ops)

	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	type result struct {
		room string
		res  porcupine.CheckResult
		info porcupine.LinearizationInfo
	}
	rooms := sortedKeys(byRoom)
	work := make(chan string)
	results := make(chan result, len(rooms))
	var wg sync.WaitGroup
	model := newModel()
	for range min(runtime.GOMAXPROCS(0), len(rooms)) {
		wg.Go(func() {
			for room := range work {
				var left time.Duration
				if !deadline.IsZero() {
					left = time.Until(deadline)
					if left <= 0 {
						results <- result{room: room, res: porcupine.Unknown}
						continue
					}
				}
				res, info := porcupine.CheckOperationsVerbose(model, byRoom[room], left)
				results <- result{room: room, res: res, info: info}
			}
		})
	}
	for _, room := range rooms {
		work <- room
	}
	close(work)
	wg.Wait()
	close(results)

	r.infos = map[string]porcupine.LinearizationInfo{}
	for res := range results {
		n := len(byRoom[res.room])
		switch res.res {
		case porcupine.Ok:
			r.Linearizable[res.room] = LinOK
			continue
		case porcupine.Illegal:
			r.Linearizable[res.room] = LinIllegal
			r.NotLinearizable++
			longest := 0
			for _, p := range res.info.PartialLinearizations() {
				for _, l := range p {
					longest = max(longest, len(l))
				}
			}
			r.Violations = append(r.Violations, Violation{Check: CheckLinearizable, Room: res.room,
				Detail: fmt.Sprintf("not linearizable: the longest linearizable prefix holds %d of %d operations (WriteFailure draws it)", longest, n)})
		default:
			r.Linearizable[res.room] = LinUnknown
			r.TimedOut++
			r.Violations = append(r.Violations, Violation{Check: CheckLinearizable, Room: res.room,
				Detail: fmt.Sprintf("linearizability undecided: the check of %d operations ran out of time", n)})
		}
		if res.info.PartialLinearizations() != nil { // nil if the check never started
			r.infos[res.room] = res.info
		}
	}
	sort.SliceStable(r.Violations, func(i, j int) bool { return r.Violations[i].Room < r.Violations[j].Room })
}

// linearizationOps makes porcupine's operations of each room out of ops.
func linearizationOps(ops []Op) map[string][]porcupine.Operation {
	// Unknown operations return after every other call and return, or,
	// if they name a round, when a reply first showed a later round: past
	// their round they can no longer take effect.
	var endAt int64
	for i := range ops {
		endAt = max(endAt, ops[i].Call.UnixNano(), ops[i].Return.UnixNano())
	}
	endAt++
	roundSeen := map[string]map[int64]int64{} // room → round → first return showing it
	for i := range ops {
		op := &ops[i]
		if op.Outcome != OK {
			continue
		}
		m := roundSeen[op.Room]
		if m == nil {
			m = map[int64]int64{}
			roundSeen[op.Room] = m
		}
		if t, ok := m[op.Reply.Round]; !ok || op.Return.UnixNano() < t {
			m[op.Reply.Round] = op.Return.UnixNano()
		}
	}
	roundOver := func(room string, round int64) int64 {
		end := endAt
		for r, t := range roundSeen[room] {
			if r > round {
				end = min(end, t)
			}
		}
		return end
	}
	byRoom := map[string][]porcupine.Operation{}
	clients := map[string]map[string]int{}
	emit := func(chain []*Op) {
		first, last := chain[0], chain[len(chain)-1]
		if last.Outcome == Unknown && last.Kind == Get {
			return
		}
		op := last
		if len(chain) > 1 {
			merged := *last
			merged.Call = first.Call
			op = &merged
		}
		ids := clients[op.Room]
		if ids == nil {
			ids = map[string]int{}
			clients[op.Room] = ids
		}
		id, ok := ids[op.Client]
		if !ok {
			id = len(ids)
			ids[op.Client] = id
		}
		c := &call{op: op, sends: len(chain)}
		call, ret := op.Call.UnixNano(), op.Return.UnixNano()
		meta := fmt.Sprintf("client %s, %s, called %s, returned %s", op.Client, op.Outcome,
			op.Call.Format(time.RFC3339Nano), op.Return.Format(time.RFC3339Nano))
		if len(chain) > 1 {
			meta += fmt.Sprintf(", sent %d times", len(chain))
		}
		if op.Outcome == Unknown {
			ret = endAt
			meta += " (unknown: may take effect any time after its call, or never)"
			if op.Round > 0 && (op.Kind == Guess || op.Kind == NextRound) {
				ret = roundOver(op.Room, op.Round)
				meta = strings.Replace(meta, "any time after its call", fmt.Sprintf("after its call while round %d lasts", op.Round), 1)
			}
		}
		byRoom[op.Room] = append(byRoom[op.Room], porcupine.Operation{
			ClientId: id, Input: c, Call: call, Output: c, Return: max(ret, call), Metadata: meta,
		})
	}
	flush := func(chain []*Op) {
		if len(chain) > 1 && chain[len(chain)-1].Outcome == Fail {
			emit(chain[:len(chain)-1])
			chain = chain[len(chain)-1:]
		}
		emit(chain)
	}
	// Each client's operations on each room, in call order.
	perClient := map[clientRoom][]*Op{}
	var keys []clientRoom
	for i := range ops {
		k := clientRoom{ops[i].Client, ops[i].Room}
		if _, ok := perClient[k]; !ok {
			keys = append(keys, k)
		}
		perClient[k] = append(perClient[k], &ops[i])
	}
	for _, k := range keys {
		list := perClient[k]
		sort.SliceStable(list, func(i, j int) bool { return list[i].Call.Before(list[j].Call) })
		var chain []*Op
		for _, op := range list {
			if n := len(chain); n > 0 && op.Resend && chain[n-1].Outcome == Unknown && sameRequest(chain[0], op) {
				chain = append(chain, op)
				continue
			}
			if len(chain) > 0 {
				flush(chain)
			}
			chain = []*Op{op}
		}
		if len(chain) > 0 {
			flush(chain)
		}
	}
	return byRoom
}

// sameRequest reports whether b asks for what a asked for.
func sameRequest(a, b *Op) bool {
	if a.Kind != b.Kind || a.Room != b.Room || a.Player != b.Player || a.Round != b.Round || a.Host != b.Host {
		return false
	}
	switch a.Kind {
	case Guess:
		la, _ := normalizeLetter(a.Letter)
		lb, _ := normalizeLetter(b.Letter)
		return a.RequestID != "" && a.RequestID == b.RequestID && la == lb
	case NextRound:
		return true
	}
	return false
}

// observation is one state a caller saw: an OK reply or a watch event.
type observation struct {
	at      time.Time
	state   State
	op      *Op    // nil for an event
	stream  string // for an event
	checked bool   // must not be older than what the caller saw before
}

func (o observation) what() string {
	if o.op == nil {
		return "event on stream " + o.stream
	}
	return describeOp(o.op)
}

type clientRoom struct{ client, room string }

// checkBackwards is check 2: per caller and room, in time order, every
// reply (but a resend's, which repeats its first answer) and every event
// shows a version at least as high as the highest one the caller saw.
// A NextRound reply that repeats the start of the round the caller is in
// (someone else started it) is not older news either.
func (r *Report) checkBackwards() {
	seen := map[clientRoom][]observation{}
	for i := range r.ops {
		op := &r.ops[i]
		if op.Outcome != OK {
			continue
		}
		k := clientRoom{op.Client, op.Room}
		seen[k] = append(seen[k], observation{at: op.Return, state: op.Reply, op: op, checked: !op.Resend})
	}
	for _, ev := range r.events {
		k := clientRoom{ev.Client, ev.Room}
		seen[k] = append(seen[k], observation{at: ev.At, state: ev.State, stream: ev.Stream, checked: true})
	}
	keys := make([]clientRoom, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].room != keys[j].room {
			return keys[i].room < keys[j].room
		}
		return keys[i].client < keys[j].client
	})
	for _, k := range keys {
		obs := seen[k]
		sort.SliceStable(obs, func(i, j int) bool { return obs[i].at.Before(obs[j].at) })
		var high State
		for _, o := range obs {
			v := o.state.Version
			roundStart := o.op != nil && o.op.Kind == NextRound && o.state.Round == high.Round
			if o.checked && !roundStart && v < high.Version {
				r.add(Violation{Check: CheckBackwards, Room: k.room, Client: k.client, Saw: high.Version, Got: v, At: o.at,
					Detail: fmt.Sprintf("after %s, %s", high, o.what())})
			}
			if v > high.Version {
				high = o.state
			}
		}
	}
}

type requestKey struct{ room, player, id string }

type versionKey struct {
	room    string
	version uint64
}

// checkConflicts is check 3: two requests acknowledged with one version,
// one request answered with two different replies, one version of a room
// seen as two different states.
func (r *Report) checkConflicts() {
	type answer struct {
		state State
		hit   bool
		op    *Op
	}
	answers := map[requestKey]answer{}
	owners := map[versionKey]*Op{}
	type sighting struct {
		state State
		what  string
	}
	sightings := map[versionKey]sighting{}
	look := func(room, client string, at time.Time, s State, what string) {
		k := versionKey{room, s.Version}
		first, ok := sightings[k]
		if !ok {
			sightings[k] = sighting{s, what}
			return
		}
		if !first.state.Equal(s) {
			r.add(Violation{Check: CheckConflict, Room: room, Client: client, Saw: s.Version, Got: s.Version, At: at,
				Detail: fmt.Sprintf("version seen as %s (%s) and as %s (%s)", first.state, first.what, s, what)})
		}
	}
	for i := range r.ops {
		op := &r.ops[i]
		if op.Outcome != OK {
			continue
		}
		look(op.Room, op.Client, op.Return, op.Reply, op.Client+": "+describeOp(op))
		if op.Kind != Guess {
			continue
		}
		if op.RequestID != "" {
			rk := requestKey{op.Room, op.Player, op.RequestID}
			first, ok := answers[rk]
			switch {
			case !ok:
				answers[rk] = answer{op.Reply, op.Hit, op}
			case !first.state.Equal(op.Reply) || first.hit != op.Hit:
				r.add(Violation{Check: CheckConflict, Room: op.Room, Client: op.Client, Saw: first.state.Version, Got: op.Reply.Version, At: op.Return,
					Detail: fmt.Sprintf("request %s of %s answered %q, then %q: a retry must get its first answer",
						op.RequestID, op.Player, describeOp(first.op), describeOp(op))})
			}
		}
		vk := versionKey{op.Room, op.Reply.Version}
		owner, ok := owners[vk]
		switch {
		case !ok:
			owners[vk] = op
		case owner.RequestID == "" || op.RequestID == "" || owner.Player != op.Player || owner.RequestID != op.RequestID:
			r.add(Violation{Check: CheckConflict, Room: op.Room, Client: op.Client, Saw: op.Reply.Version, Got: op.Reply.Version, At: op.Return,
				Detail: fmt.Sprintf("two guesses acknowledged as one version: %q and %q", describeOp(owner), describeOp(op))})
		}
	}
	for _, ev := range r.events {
		look(ev.Room, ev.Client, ev.At, ev.State, ev.Client+": event on stream "+ev.Stream)
	}
}

// checkGaps is check 4: within one stream each event is the version after
// the previous one; per watcher and room, no event is older than one an
// earlier stream delivered.
func (r *Report) checkGaps() {
	type streamKey struct{ client, room, stream string }
	last := map[streamKey]uint64{}
	perStream := map[clientRoom]map[string]uint64{} // highest version of each stream
	for _, ev := range r.events {
		sk := streamKey{ev.Client, ev.Room, ev.Stream}
		v := ev.State.Version
		if prev, ok := last[sk]; ok && v != prev+1 {
			what := "skipped"
			if v <= prev {
				what = "repeated or went back"
			}
			r.add(Violation{Check: CheckGap, Room: ev.Room, Client: ev.Client, Saw: prev, Got: v, At: ev.At,
				Detail: fmt.Sprintf("stream %s %s: v%d after v%d", ev.Stream, what, v, prev)})
		}
		last[sk] = v
		ck := clientRoom{ev.Client, ev.Room}
		streams := perStream[ck]
		if streams == nil {
			streams = map[string]uint64{}
			perStream[ck] = streams
		}
		var other uint64
		var from string
		for s, high := range streams {
			if s != ev.Stream && high > other {
				other, from = high, s
			}
		}
		if v < other {
			r.add(Violation{Check: CheckGap, Room: ev.Room, Client: ev.Client, Saw: other, Got: v, At: ev.At,
				Detail: fmt.Sprintf("stream %s delivered v%d after stream %s had delivered v%d", ev.Stream, v, from, other)})
		}
		streams[ev.Stream] = max(streams[ev.Stream], v)
	}
}

// checkLost is check 5: the last OK Get of each room, if it began after
// every acknowledged operation of the room returned, shows a version at
// least as high as every acknowledged write's, and, in the same round, the
// letters each acknowledged guess saw.
func (r *Report) checkLost() {
	byRoom := map[string][]*Op{}
	for i := range r.ops {
		op := &r.ops[i]
		if op.Outcome == OK {
			byRoom[op.Room] = append(byRoom[op.Room], op)
		}
	}
	for i := range r.ops {
		if _, ok := byRoom[r.ops[i].Room]; !ok {
			r.UncheckedRooms[r.ops[i].Room] = "no operation was acknowledged"
		}
	}
	for _, room := range sortedKeys(byRoom) {
		acked := byRoom[room]
		var final *Op
		for _, op := range acked { // in return order
			if op.Kind == Get {
				final = op
			}
		}
		if final == nil {
			r.UncheckedRooms[room] = "no read was acknowledged"
			continue
		}
		var lastReturn *Op
		for _, op := range acked {
			if op != final && (lastReturn == nil || op.Return.After(lastReturn.Return)) {
				lastReturn = op
			}
		}
		if lastReturn != nil && final.Call.Before(lastReturn.Return) {
			r.UncheckedRooms[room] = fmt.Sprintf("the last read (%s) began before %q returned", final.Reply, describeOp(lastReturn))
			continue
		}
		got := final.Reply
		for _, op := range acked {
			if op.Kind == Get {
				continue
			}
			w := op.Reply
			switch {
			case w.Version > got.Version:
				r.add(Violation{Check: CheckLost, Room: room, Client: op.Client, Saw: w.Version, Got: got.Version, At: op.Return,
					Detail: fmt.Sprintf("%q acknowledged, the final read shows %s", describeOp(op), got)})
			case w.Round == got.Round && !isPrefix(w.Guessed, got.Guessed):
				r.add(Violation{Check: CheckLost, Room: room, Client: op.Client, Saw: w.Version, Got: got.Version, At: op.Return,
					Detail: fmt.Sprintf("%q acknowledged, the final read of the same round shows %s", describeOp(op), got)})
			}
		}
	}
	r.Unchecked = len(r.UncheckedRooms)
}

func isPrefix(p, s []string) bool {
	if len(p) > len(s) {
		return false
	}
	for i := range p {
		if p[i] != s[i] {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fileSafe makes a room code usable in a file name.
func fileSafe(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			return c
		}
		return '_'
	}, s)
}
