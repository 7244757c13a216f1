package history

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The error reasons the model knows. A Fail with any other code is not
// plausible and makes the history not linearizable: record timeouts,
// "unavailable" and "no_quorum" as Unknown, not as Fail.
const (
	codeAlreadyGuessed = "already_guessed"
	codeRoundOver      = "round_over"
	codeForbidden      = "forbidden"
	codeNotFound       = "not_found"
	codeInvalidLetter  = "invalid_letter"
	codeBadRequest     = "bad_request"
)

// call is one operation as porcupine sees it: its Input and its Output.
type call struct {
	op    *Op
	sends int // how many sends of one request it stands for (resends)
}

// hitness is what the model knows of a recorded guess's Hit.
type hitness uint8

const (
	hitUnknown hitness = iota // applied by an Unknown op: nobody saw the reply
	hitNo
	hitYes
)

func hitOf(b bool) hitness {
	if b {
		return hitYes
	}
	return hitNo
}

// lastRequest is a player's last applied request in a room and its
// reply: a guess (id), or a next round that named the round it ended
// (round), as the game keeps one per player.
type lastRequest struct {
	player string
	id     string
	round  int64
	reply  State
	hit    hitness
}

// roomState is one state of the model of one room. It is never modified
// after it is built: porcupine keeps states and compares them.
type roomState struct {
	cur      State         // the room
	start    uint64        // the version at which the current round started
	observed bool          // an OK reply was linearized: the room exists
	last     []lastRequest // sorted by player
	hash     uint64
}

func initialState() *roomState {
	s := &roomState{cur: State{Version: 1, Round: 1, Status: StatusPlaying}, start: 1}
	s.rehash()
	return s
}

// FNV-1a, 64 bits.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return (h ^ 0xff) * fnvPrime // a separator
}

func hashUint(h, v uint64) uint64 {
	for range 8 {
		h = (h ^ (v & 0xff)) * fnvPrime
		v >>= 8
	}
	return h
}

func (s *roomState) rehash() {
	h := hashUint(fnvOffset, s.cur.Version)
	h = hashUint(h, uint64(s.cur.Round))
	h = hashString(h, s.cur.Status)
	for _, g := range s.cur.Guessed {
		h = hashString(h, g)
	}
	h = hashUint(h, s.start)
	if s.observed {
		h = hashUint(h, 1)
	}
	for _, l := range s.last {
		h = hashString(h, l.player)
		h = hashString(h, l.id)
		h = hashUint(h, uint64(l.round))
		h = hashUint(h, l.reply.Version)
		h = hashString(h, l.reply.Status)
		h = hashUint(h, uint64(l.hit))
	}
	s.hash = h
}

func (s *roomState) equal(o *roomState) bool {
	if s == o {
		return true
	}
	if s.hash != o.hash || s.start != o.start || s.observed != o.observed || !s.cur.Equal(o.cur) ||
		len(s.last) != len(o.last) {
		return false
	}
	for i := range s.last {
		a, b := s.last[i], o.last[i]
		if a.player != b.player || a.id != b.id || a.round != b.round || a.hit != b.hit || !a.reply.Equal(b.reply) {
			return false
		}
	}
	return true
}

// roundStart is the room as it was right after the current round started.
func (s *roomState) roundStart() State {
	return State{Version: s.start, Round: s.cur.Round, Status: StatusPlaying}
}

func (s *roomState) lastOf(player string) (lastRequest, bool) {
	i := sort.Search(len(s.last), func(i int) bool { return s.last[i].player >= player })
	if i < len(s.last) && s.last[i].player == player {
		return s.last[i], true
	}
	return lastRequest{}, false
}

// observe returns s marked observed: an OK reply showed the room.
func (s *roomState) observe() *roomState {
	if s.observed {
		return s
	}
	n := *s
	n.observed = true
	n.rehash()
	return &n
}

// with returns a copy of s, marked observed if observed is set, and, if lr
// is not nil, with the player's last request replaced by *lr. The caller
// changes what else it needs and then calls rehash.
func (s *roomState) with(observed bool, lr *lastRequest) *roomState {
	n := *s
	n.observed = s.observed || observed
	if lr != nil {
		n.last = make([]lastRequest, 0, len(s.last)+1)
		done := false
		for _, l := range s.last {
			switch {
			case l.player == lr.player:
				n.last = append(n.last, *lr)
				done = true
			case !done && l.player > lr.player:
				n.last = append(n.last, *lr, l)
				done = true
			default:
				n.last = append(n.last, l)
			}
		}
		if !done {
			n.last = append(n.last, *lr)
		}
	}
	return &n
}

// normalizeLetter folds a guess as the game does: trimmed, lower case by
// ASCII rules only. ok reports a letter a–z.
func normalizeLetter(s string) (string, bool) {
	l := strings.TrimSpace(s)
	if len(l) == 1 && l[0] >= 'A' && l[0] <= 'Z' {
		l = string(l[0] + 'a' - 'A')
	}
	return l, len(l) == 1 && l[0] >= 'a' && l[0] <= 'z'
}

// verdict is what the room's rules make of a request in a state.
type verdict struct {
	code  string // a refusal: nothing changes
	dup   bool   // a repeated request: nothing changes, reply (and hit) given
	reply State
	hit   hitness
	apply bool // applied
}

func evalGuess(s *roomState, op *Op) verdict {
	if op.RequestID != "" {
		if l, ok := s.lastOf(op.Player); ok && l.id == op.RequestID && l.round == 0 {
			return verdict{dup: true, reply: l.reply, hit: l.hit}
		}
	}
	letter, ok := normalizeLetter(op.Letter)
	switch {
	case !ok:
		return verdict{code: codeInvalidLetter}
	case op.Round > s.cur.Round || op.Round < 0:
		return verdict{code: codeBadRequest}
	case op.Round != 0 && op.Round < s.cur.Round:
		return verdict{code: codeRoundOver}
	case s.cur.Status != StatusPlaying:
		return verdict{code: codeRoundOver}
	}
	for _, g := range s.cur.Guessed {
		if g == letter {
			return verdict{code: codeAlreadyGuessed}
		}
	}
	return verdict{apply: true}
}

// applyGuess returns s after op's letter was guessed, with the given status.
func applyGuess(s *roomState, op *Op, status string, hit hitness, observed bool) *roomState {
	letter, _ := normalizeLetter(op.Letter)
	next := State{
		Version: s.cur.Version + 1,
		Round:   s.cur.Round,
		Status:  status,
		Guessed: append(append(make([]string, 0, len(s.cur.Guessed)+1), s.cur.Guessed...), letter),
	}
	var lr *lastRequest
	if op.RequestID != "" {
		lr = &lastRequest{player: op.Player, id: op.RequestID, reply: next, hit: hit}
	}
	n := s.with(observed, lr)
	n.cur = next
	n.rehash()
	return n
}

func stepGuess(s *roomState, op *Op) []*roomState {
	v := evalGuess(s, op)
	switch op.Outcome {
	case OK:
		switch {
		case v.dup:
			if !v.reply.Equal(op.Reply) || (v.hit != hitUnknown && v.hit != hitOf(op.Hit)) {
				return nil
			}
			if v.hit == hitUnknown { // now we know what the first reply said
				l, _ := s.lastOf(op.Player)
				l.hit = hitOf(op.Hit)
				n := s.with(true, &l)
				n.rehash()
				return []*roomState{n}
			}
			return []*roomState{s.observe()}
		case v.apply:
			if !validStatus(op.Reply.Status) {
				return nil
			}
			n := applyGuess(s, op, op.Reply.Status, hitOf(op.Hit), true)
			if !n.cur.Equal(op.Reply) {
				return nil
			}
			return []*roomState{n}
		}
	case Fail:
		if plausibleFail(s, op, v) {
			return []*roomState{s}
		}
	}
	return nil
}

func validStatus(s string) bool {
	return s == StatusPlaying || s == StatusWon || s == StatusLost
}

// plausibleFail reports whether a refusal with op.Code fits verdict v.
func plausibleFail(s *roomState, op *Op, v verdict) bool {
	switch {
	case op.Code == codeNotFound && !s.observed:
		return true
	case v.code == "":
		return false
	case op.Code == v.code:
		return true
	case v.code == codeInvalidLetter:
		return op.Code == codeBadRequest
	}
	return false
}

func evalNextRound(s *roomState, op *Op) verdict {
	// The player's own next round for this round, applied before: its
	// first answer, however many rounds have passed since.
	if l, ok := s.lastOf(op.Player); ok && op.Round != 0 && l.round == op.Round {
		return verdict{dup: true, reply: l.reply}
	}
	// Only the host starts a round, at any time.
	if !op.Host {
		return verdict{code: codeForbidden}
	}
	r := op.Round
	if r == 0 {
		r = s.cur.Round
	}
	switch {
	case r < 0 || r > s.cur.Round:
		return verdict{code: codeBadRequest}
	case r == s.cur.Round:
		return verdict{apply: true}
	case r == s.cur.Round-1:
		return verdict{dup: true, reply: s.roundStart()}
	}
	return verdict{code: codeRoundOver}
}

// applyNextRound returns s after op started the next round; a request
// that named its round becomes the player's last request.
func applyNextRound(s *roomState, op *Op, observed bool) *roomState {
	cur := State{Version: s.cur.Version + 1, Round: s.cur.Round + 1, Status: StatusPlaying}
	var lr *lastRequest
	if op.Round != 0 {
		lr = &lastRequest{player: op.Player, round: op.Round, reply: cur}
	}
	n := s.with(observed, lr)
	n.cur = cur
	n.start = n.cur.Version
	n.rehash()
	return n
}

func stepNextRound(s *roomState, op *Op) []*roomState {
	v := evalNextRound(s, op)
	switch op.Outcome {
	case OK:
		switch {
		case v.dup:
			if !v.reply.Equal(op.Reply) {
				return nil
			}
			return []*roomState{s.observe()}
		case v.apply:
			n := applyNextRound(s, op, true)
			if !n.cur.Equal(op.Reply) {
				return nil
			}
			return []*roomState{n}
		}
	case Fail:
		if plausibleFail(s, op, v) {
			return []*roomState{s}
		}
	}
	return nil
}

func stepGet(s *roomState, op *Op) []*roomState {
	switch op.Outcome {
	case OK:
		if s.cur.Equal(op.Reply) {
			return []*roomState{s.observe()}
		}
	case Fail:
		if op.Code == codeNotFound && !s.observed {
			return []*roomState{s}
		}
	}
	return nil
}

// stepOp applies an answered operation in s.
func stepOp(s *roomState, op *Op) []*roomState {
	switch op.Kind {
	case Guess:
		return stepGuess(s, op)
	case NextRound:
		return stepNextRound(s, op)
	case Get:
		return stepGet(s, op)
	}
	return nil
}

// stepUnknown returns the states after op, whose outcome is Unknown, was
// placed in s: unchanged (it never took effect, or the rules refuse it
// here), or changed as the rules say, with each status for a guess.
func stepUnknown(s *roomState, op *Op) []*roomState {
	switch op.Kind {
	case Guess:
		if evalGuess(s, op).apply {
			return []*roomState{
				s,
				applyGuess(s, op, StatusPlaying, hitUnknown, false),
				applyGuess(s, op, StatusWon, hitUnknown, false),
				applyGuess(s, op, StatusLost, hitUnknown, false),
			}
		}
	case NextRound:
		if evalNextRound(s, op).apply {
			return []*roomState{s, applyNextRound(s, op, false)}
		}
	}
	return []*roomState{s}
}

// step applies an operation in s. An Unknown one gets a return after every
// other operation, so porcupine may place it anywhere after its call;
// wherever it is placed, it may take effect there or leave the room as it
// is (it took effect elsewhere, or never).
func step(s *roomState, c *call) []*roomState {
	if c.op.Outcome == Unknown {
		return stepUnknown(s, c.op)
	}
	return stepOp(s, c.op)
}

// partitionOps splits a history into rooms.
func partitionOps(history []porcupine.Operation) [][]porcupine.Operation {
	return byRoom(history, func(o porcupine.Operation) string { return o.Input.(*call).op.Room })
}

// partitionEvents splits a history of call and return events into rooms.
func partitionEvents(history []porcupine.Event) [][]porcupine.Event {
	return byRoom(history, func(e porcupine.Event) string { return e.Value.(*call).op.Room })
}

// byRoom splits xs by room, keeping their order, rooms in order of first
// appearance.
func byRoom[T any](xs []T, room func(T) string) [][]T {
	index := map[string]int{}
	var out [][]T
	for _, x := range xs {
		r := room(x)
		i, ok := index[r]
		if !ok {
			i = len(out)
			index[r] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], x)
	}
	return out
}

// describeOp makes an operation readable: "ana guess e rid=3 → v5 r1 [a e]
// playing hit".
func describeOp(op *Op) string {
	var b strings.Builder
	who := op.Player
	if who == "" {
		who = op.Client
	}
	b.WriteString(who)
	b.WriteString(" ")
	b.WriteString(string(op.Kind))
	switch op.Kind {
	case Guess:
		fmt.Fprintf(&b, " %s rid=%s", op.Letter, op.RequestID)
		if op.Round != 0 {
			fmt.Fprintf(&b, " round=%d", op.Round)
		}
	case NextRound:
		fmt.Fprintf(&b, " %d", op.Round)
		if op.Host {
			b.WriteString(" (host)")
		}
	}
	if op.Resend {
		b.WriteString(" resend")
	}
	b.WriteString(" → ")
	switch op.Outcome {
	case OK:
		b.WriteString(op.Reply.String())
		if op.Kind == Guess {
			if op.Hit {
				b.WriteString(" hit")
			} else {
				b.WriteString(" miss")
			}
		}
	case Fail:
		b.WriteString("fail " + op.Code)
	default:
		b.WriteString(string(op.Outcome))
	}
	return b.String()
}

func describeCall(input, _ interface{}) string {
	c := input.(*call)
	s := describeOp(c.op)
	if c.sends > 1 {
		s += fmt.Sprintf(" (sent %d times)", c.sends)
	}
	return s
}

func describeState(state interface{}) string {
	set := state.(*stateSet)
	if len(set.states) == 1 {
		return set.states[0].cur.String()
	}
	rooms := make([]string, len(set.states))
	for i, r := range set.states {
		rooms[i] = r.cur.String()
	}
	return "one of {" + strings.Join(rooms, ", ") + "}"
}

func describeMetadata(info interface{}) string {
	if info == nil {
		return ""
	}
	return fmt.Sprint(info)
}

// stateSet is a state of the porcupine model: the set of rooms the
// operations placed so far may have left (an Unknown guess may not have
// taken effect, or have left the round playing, won or lost). It is what
// porcupine's NondeterministicModel.ToModel builds, with sets kept by
// hash, so that large sets merge in linear time, and with a step that
// stops when the check's time is up.
type stateSet struct {
	states []*roomState
	hash   uint64 // of the set: the XOR of the rooms' hashes
}

func (s *stateSet) equal(o *stateSet) bool {
	if s.hash != o.hash || len(s.states) != len(o.states) {
		return false
	}
	if len(s.states) == 1 {
		return s.states[0].equal(o.states[0])
	}
	byHash := make(map[uint64][]*roomState, len(o.states))
	for _, r := range o.states {
		byHash[r.hash] = append(byHash[r.hash], r)
	}
	for _, r := range s.states {
		found := false
		for _, q := range byHash[r.hash] {
			if q.equal(r) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// stepSet steps every room of the set and merges the results.
func stepSet(ctx context.Context, set *stateSet, c *call) (bool, *stateSet) {
	out := &stateSet{}
	seen := map[uint64][]*roomState{}
	for _, r := range set.states {
		if ctx.Err() != nil {
			return false, nil
		}
	next:
		for _, n := range step(r, c) {
			for _, o := range seen[n.hash] {
				if o.equal(n) {
					continue next
				}
			}
			seen[n.hash] = append(seen[n.hash], n)
			out.states = append(out.states, n)
			out.hash ^= n.hash
		}
	}
	return len(out.states) > 0, out
}

// newModel is the model of rooms for porcupine: each room is a partition,
// and a state is a set of possible rooms.
func newModel() porcupine.Model {
	stepContext := func(ctx context.Context, state, input, _ interface{}) (bool, interface{}) {
		ok, next := stepSet(ctx, state.(*stateSet), input.(*call))
		if !ok {
			return false, nil
		}
		return true, next
	}
	return porcupine.Model{
		Partition:      partitionOps,
		PartitionEvent: partitionEvents,
		Init: func() interface{} {
			r := initialState()
			return &stateSet{states: []*roomState{r}, hash: r.hash}
		},
		Step: func(state, input, output interface{}) (bool, interface{}) {
			return stepContext(context.Background(), state, input, output)
		},
		StepContext: stepContext,
		Equal: func(a, b interface{}) bool {
			return a.(*stateSet).equal(b.(*stateSet))
		},
		Hash:                      func(s interface{}) uint64 { return s.(*stateSet).hash },
		DescribeOperation:         describeCall,
		DescribeState:             describeState,
		DescribeOperationMetadata: describeMetadata,
	}
}
