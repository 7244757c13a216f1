package game_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gallows-game/gallows/backend/game"
)

// FuzzApplyGuess applies one arbitrary Guess to the fixture: Validate and
// Apply agree, a refused or repeated guess changes nothing, and an applied
// one changes the room and ends its log.
func FuzzApplyGuess(f *testing.F) {
	for _, seed := range []struct{ room, player, letter, id string }{
		{"ABCDE", "amy", "e", "r1"},
		{"ABCDE", "amy", "h", "r1"},
		{"abcde", "bob", "H", ""},
		{"FGHJK", "amy", "b", "x"},
		{"MNPQR", "newbie", "e", ""},
		{"MNPQR", "p1", "z", "id"},
		{"RSTUV", "  ", "\u212a", "k"},
		{"", "amy", "ab", "\xff"},
	} {
		f.Add(seed.room, seed.player, seed.letter, seed.id)
	}
	base := snapshot(f, fixture(f))
	f.Fuzz(func(t *testing.T, code, player, letter, id string) {
		s := game.NewState()
		if err := s.Restore(bytes.NewReader(base)); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, s)
		g := game.Guess{Room: code, Player: player, PlayerID: pid(player), Letter: letter, RequestID: id, At: t0 + 100}
		verr := s.Validate(g)
		res, err := s.Apply(g)
		if (verr == nil) != (err == nil) || (err != nil && verr.Error() != err.Error()) {
			t.Fatalf("Validate = %v, Apply = %v", verr, err)
		}
		after := snapshot(t, s)
		if err != nil || res.Duplicate {
			if !bytes.Equal(before, after) || res.Changed {
				t.Fatalf("Apply(%+v) = %+v, %v changed the state", g, res, err)
			}
			return
		}
		r := res.Room
		if !res.Changed || bytes.Equal(before, after) {
			t.Fatalf("Apply(%+v) succeeded without a change", g)
		}
		if utf8.RuneCountInString(r.Masked()) != utf8.RuneCountInString(r.Word) {
			t.Fatalf("Masked() = %q for word %q", r.Masked(), r.Word)
		}
		if n := len(r.Log); n == 0 || r.Log[n-1].Version != r.Version || r.Log[n-1].Hit != res.Hit {
			t.Fatalf("log %+v does not end with this guess (version %d)", r.Log, r.Version)
		}
		if _, ok := r.Player(player); !ok {
			t.Fatalf("guesser %q is not a player of record", player)
		}
	})
}

// FuzzApplySequence applies a sequence of commands, decoded from the fuzz
// bytes by decodeScript, to an empty state and checks after every command
// what replication relies on: Validate and Apply agree, a refused command
// changes nothing, a change touches one room and raises its version by
// exactly one, and every room keeps the rules' invariants (checkRoomRules).
// At the end the state must survive Snapshot → Restore byte for byte, a
// second state fed the same commands must end byte-identical, and a state
// restored from a snapshot taken halfway must end identical after the
// rest of the commands: that is what a follower installing a snapshot and
// then replaying the log does.
func FuzzApplySequence(f *testing.F) {
	// Layouts (see scriptReader.command): create is kind, code, host,
	// custom (0 = yes), word, category, difficulty, lives, request id;
	// guess is kind, code, player, letter, request id, round; next round
	// is kind, code, player, word, from round; join and leave are kind,
	// code, player.
	full := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0} // ABCDE, then 64 joins and one too many
	for i := range game.MaxPlayersPerRoom {
		full = append(full, 5, 0, byte(128+i))
	}
	full = append(full, 1, 0, 200, 4, 0, 0)
	// The full room, IdleAfter later: a newcomer takes the idlest seat.
	idle := append(slices.Clone(full), 5|32, 0, 201, 1, 0, 201, 7, 0, 0)
	for _, seed := range [][]byte{
		{},
		// Custom room ABCDE with "hello"; amy guesses h, e, l, o: won.
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 7, 0, 0, 1, 0, 1, 4, 0, 0, 1, 0, 1, 11, 0, 0, 1, 0, 1, 14, 0, 0},
		// Custom room with "aa" and one life; bob misses: lost. The
		// host starts round 2 with "banana"; bob guesses for round 1.
		{0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 2, 25, 0, 0, 4, 0, 0, 9, 1, 1, 0, 2, 0, 0, 1},
		// Room FGHJK from a category with a request id; bob joins,
		// guesses with a request id twice (a duplicate), leaves, and
		// guesses the same letter again.
		{0, 1, 1, 1, 0, 1, 1, 0, 1, 5, 1, 2, 1, 1, 2, 11, 2, 1, 1, 1, 2, 11, 2, 1, 6, 1, 2, 1, 1, 2, 11, 2, 1},
		// Refused: a bad code, an empty host, a bad letter in an unknown
		// room, a nil *NextRound and a nil command.
		{0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 1, 5, 1, 220, 0, 0, 7, 2, 7, 3},
		// The host repeats a create's request id under another code (a
		// duplicate); another host's same request id makes a room.
		{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 5, 1, 0, 0, 0, 0, 0, 1},
		// Six misses by amy lose a room with the default lives.
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 16, 0, 0, 1, 0, 1, 17, 0, 0, 1, 0, 1, 18, 0, 0, 1, 0, 1, 19, 0, 0, 1, 0, 1, 20, 0, 0, 1, 0, 1, 21, 0, 0},
		full,
		idle,
		// Custom room ABCDE; amy guesses h; an impostor under amy's name
		// guesses, joins and leaves (refused, refused, no change); a
		// player without an id joins (refused); the host leaves and amy
		// hosts: she starts round 2, the old host may not.
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 7, 0, 0, 1 | 8, 0, 1, 4, 0, 0, 5 | 8, 0, 1, 6 | 8, 0, 1, 5 | 16, 0, 2,
			6, 0, 0, 4, 0, 1, 9, 1, 4, 0, 0, 9, 2},
		// A one-round match with a 10 s countdown, custom word "aa": the
		// host may not guess; amy wins, which ends the match; the host's
		// next round is refused, amy's rematch too, the host's applies
		// (and again, a duplicate); a turn expires 10 minutes later, and
		// one for an old version is refused.
		{0 | 64, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0,
			4, 0, 0, 9, 0, 4 | 64, 0, 1, 9, 1, 4 | 64, 0, 0, 9, 1, 4 | 64, 0, 0, 9, 1,
			1 | 64 | 32, 0, 3, 0, 1 | 64, 0, 3, 0},
		// An endless private room with a 15 s countdown from a category:
		// two turns run out, the second one late; bob guesses meanwhile.
		{0 | 64, 1, 0, 1, 0, 0, 1, 0, 0, 0, 2, 1, 2 | 64 | 32, 1, 1, 0, 1, 1, 2, 1, 0, 0, 3 | 64 | 32, 1, 3, 7},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cmds := decodeScript(data)
		s := game.NewState()
		half := len(cmds) / 2
		var mid []byte
		for i, cmd := range cmds {
			if i == half {
				mid = snapshot(t, s)
			}
			applyChecked(t, s, cmd)
		}
		if mid == nil {
			mid = snapshot(t, s)
		}
		final := snapshot(t, s)

		// Refusals are expected among random commands and were checked
		// above; what a replica must agree on is the state they leave.
		twin := game.NewState()
		for _, cmd := range cmds {
			_, _ = twin.Apply(cmd)
		}
		if got := snapshot(t, twin); !bytes.Equal(got, final) {
			t.Fatalf("two states fed the same commands differ:\n%s\n%s", final, got)
		}

		restored := game.NewState()
		if err := restored.Restore(bytes.NewReader(final)); err != nil {
			t.Fatalf("Restore of a snapshot: %v\n%s", err, final)
		}
		if got := snapshot(t, restored); !bytes.Equal(got, final) {
			t.Fatalf("Snapshot → Restore → Snapshot differs:\n%s\n%s", final, got)
		}

		follower := game.NewState()
		if err := follower.Restore(bytes.NewReader(mid)); err != nil {
			t.Fatalf("Restore of the halfway snapshot: %v\n%s", err, mid)
		}
		for _, cmd := range cmds[half:] {
			_, _ = follower.Apply(cmd)
		}
		if got := snapshot(t, follower); !bytes.Equal(got, final) {
			t.Fatalf("halfway snapshot plus the rest of the commands differs:\n%s\n%s", final, got)
		}
	})
}

// sentinels are every error the package documents. Each error of Apply
// wraps one of them: callers (the rpc layer) map them to status codes.
var sentinels = []error{
	game.ErrInvalidLetter, game.ErrAlreadyGuessed, game.ErrRoundOver, game.ErrUnknownRoom,
	game.ErrRoomExists, game.ErrInvalidWord, game.ErrUnknownCategory, game.ErrUnknownDifficulty,
	game.ErrForbidden, game.ErrNameTaken, game.ErrInvalidPlayer, game.ErrRoomFull, game.ErrInvalidCommand,
	game.ErrHostWatches, game.ErrMatchOver, game.ErrMatchNotOver, game.ErrLastRound, game.ErrTurnNotOver,
	game.ErrInvalidSettings,
}

// applyChecked applies cmd to s and fails t unless the outcome keeps the
// invariants of one step: see FuzzApplySequence.
func applyChecked(t *testing.T, s *game.State, cmd game.Command) {
	t.Helper()
	verr := s.Validate(cmd)
	before := snapshot(t, s)
	old := roomsByCode(s)
	res, err := s.Apply(cmd)
	after := snapshot(t, s)

	if !sameError(verr, err) {
		t.Fatalf("%#v: Validate = %v, Apply = %v", cmd, verr, err)
	}
	if err != nil {
		if !slices.ContainsFunc(sentinels, func(target error) bool { return errors.Is(err, target) }) {
			t.Fatalf("%#v: error %v wraps none of the package's sentinel errors", cmd, err)
		}
		if res.Changed || !bytes.Equal(before, after) {
			t.Fatalf("%#v: failed with %v but changed the state (Changed=%v)", cmd, err, res.Changed)
		}
		return
	}
	now := roomsByCode(s)
	var changed []string
	for code, r := range now {
		if !reflect.DeepEqual(old[code], r) {
			changed = append(changed, code)
		}
	}
	if len(now) < len(old) {
		t.Fatalf("%#v: rooms went from %d to %d", cmd, len(old), len(now))
	}
	if res.Duplicate {
		// A request applied before is answered with the room as its first
		// application left it: a past state of a stored room.
		if res.Room == nil || now[res.Room.Code] == nil || res.Room.Version > now[res.Room.Code].Version {
			t.Fatalf("%#v: a Duplicate answered with room %+v, not a past state of a stored room", cmd, res.Room)
		}
	}
	if !res.Changed {
		if len(changed) > 0 || !bytes.Equal(before, after) {
			t.Fatalf("%#v: Changed=false, yet rooms %v changed", cmd, changed)
		}
		return
	}
	if res.Duplicate {
		t.Fatalf("%#v: a Duplicate result reports a change", cmd)
	}
	if len(changed) != 1 || res.Room == nil || changed[0] != res.Room.Code {
		t.Fatalf("%#v: Changed=true for room %v, but rooms %v changed", cmd, res.Room, changed)
	}
	code := changed[0]
	var want uint64 = 1 // a new room starts at version 1
	if prev, ok := old[code]; ok {
		want = prev.Version + 1
	}
	if r := now[code]; r.Version != want {
		t.Fatalf("%#v: room %s went from version %d to %d, want %d", cmd, code, want-1, r.Version, want)
	}
	if !reflect.DeepEqual(res.Room, now[code]) {
		t.Fatalf("%#v: Result.Room %+v is not the stored room %+v", cmd, res.Room, now[code])
	}
	checkRoomRules(t, now[code])
}

// sameError reports whether a and b are the same error as far as a caller
// can tell: both nil, or both with the same message.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}

// roomsByCode returns copies of every room of s, by code.
func roomsByCode(s *game.State) map[string]*game.Room {
	m := make(map[string]*game.Room, s.Len())
	for _, r := range s.Rooms() {
		m[r.Code] = r
	}
	return m
}

// checkRoomRules fails t unless r keeps the invariants of a round that the
// rules promise, whatever commands made it.
func checkRoomRules(t *testing.T, r *game.Room) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("room %s (%+v): %s", r.Code, r, fmt.Sprintf(format, args...))
	}
	if r.MaxLives < 1 || r.MaxLives > game.MaxLivesLimit {
		fail("max lives %d", r.MaxLives)
	}
	// Each timeout of the log cost a life, as each wrong letter did.
	timeouts := 0
	for _, e := range r.Log {
		if e.Timeout {
			timeouts++
		}
	}
	if r.LivesLeft != r.MaxLives-len(r.Wrong)-timeouts {
		fail("lives left %d, want max lives %d - %d wrong - %d timeouts", r.LivesLeft, r.MaxLives, len(r.Wrong), timeouts)
	}
	seen := map[string]bool{}
	for _, g := range r.Guessed {
		if len(g) != 1 || g[0] < 'a' || g[0] > 'z' {
			fail("guessed %q is not one letter a-z", g)
		}
		if seen[g] {
			fail("%q guessed twice", g)
		}
		seen[g] = true
	}
	// Wrong is exactly the guessed letters the word lacks, in guess order.
	var wrong []string
	for _, g := range r.Guessed {
		if !strings.Contains(r.Word, g) {
			wrong = append(wrong, g)
		}
	}
	if !slices.Equal(wrong, r.Wrong) {
		fail("wrong %q, want the misses among guessed %q", r.Wrong, wrong)
	}
	all := true
	for _, c := range r.Word {
		if c >= 'a' && c <= 'z' && !seen[string(c)] {
			all = false
		}
	}
	switch {
	case (r.Status == game.Won) != all:
		fail("status %v, every letter guessed: %v", r.Status, all)
	case (r.Status == game.Lost) != (r.LivesLeft == 0):
		fail("status %v with %d lives left", r.Status, r.LivesLeft)
	case strings.Contains(r.Masked(), "_") == all:
		fail("masked %q, every letter guessed: %v", r.Masked(), all)
	}
	// The log is the guesses, in order, and the timeouts between them.
	if len(r.Log) != len(r.Guessed)+timeouts {
		fail("%d log entries for %d guesses and %d timeouts", len(r.Log), len(r.Guessed), timeouts)
	}
	guess := 0
	for i, e := range r.Log {
		if e.Version > r.Version || (i > 0 && e.Version <= r.Log[i-1].Version) {
			fail("log entry %d %+v", i, e)
		}
		if e.Timeout {
			if e.Player != "" || e.Letter != "" || e.Hit {
				fail("timeout %d %+v names a guess", i, e)
			}
			continue
		}
		if e.Letter != r.Guessed[guess] || e.Hit == slices.Contains(r.Wrong, e.Letter) {
			fail("log entry %d %+v", i, e)
		}
		guess++
	}
	// Matches: a room of a match length never passes its last round.
	switch {
	case r.Match < 1:
		fail("match %d", r.Match)
	case r.Rounds < 0 || r.Rounds > game.MaxRounds || (r.Rounds > 0 && r.Round > r.Rounds):
		fail("round %d of %d", r.Round, r.Rounds)
	case r.TurnSeconds != 0 && (r.TurnSeconds < game.MinTurnSeconds || r.TurnSeconds > game.MaxTurnSeconds):
		fail("turn of %d seconds", r.TurnSeconds)
	case (r.TurnDeadline() != 0) != (r.TurnSeconds > 0 && r.Status == game.Playing):
		fail("turn deadline %d with %d s turns, %v", r.TurnDeadline(), r.TurnSeconds, r.Status)
	case r.MatchOver() != (r.Rounds > 0 && r.Round == r.Rounds && r.Status != game.Playing):
		fail("match over %v in round %d of %d, %v", r.MatchOver(), r.Round, r.Rounds, r.Status)
	}
	for _, p := range r.Players {
		if p.MatchPoints < 0 || p.MatchPoints > p.Points {
			fail("player %q has %d match points of %d", p.Name, p.MatchPoints, p.Points)
		}
	}
	names, ids := map[string]bool{}, map[string]bool{}
	for _, p := range r.Players {
		if names[p.Name] || ids[p.ID] || p.ID == "" {
			fail("player %q (id %q) twice, or without an id", p.Name, p.ID)
		}
		names[p.Name], ids[p.ID] = true, true
	}
	if len(r.Players) > 0 && !ids[r.HostID] {
		fail("host %q (id %q) is not a player of record", r.Host, r.HostID)
	}
	if len(r.Players) > game.MaxPlayersPerRoom {
		fail("%d players", len(r.Players))
	}
}

// Operand pools of decodeScript. They mix valid values with ones each
// check must refuse; the few valid codes and names make random bytes meet
// the same rooms and players again and again.
var (
	scriptCodes        = []string{"ABCDE", "FGHJK", " abcde ", "", "ABCD0", "QRSTU"}
	scriptNames        = []string{"host", "amy", "bob", " amy ", "Zoë", "", "a\x00b", strings.Repeat("n", game.MaxNameLen+1)}
	scriptBadLetters   = []string{"", "ab", " E ", "é", "1", "\u212a"}
	scriptWords        = []string{"hello", "aa", "rock and roll", "it's", "HeLLo", "x", "", "abc--d", "zyxwvutsrqponmlkjihgfedcba", "banana"}
	scriptCategories   = []string{"animals", "food", " FOOD ", "", "nope"}
	scriptDifficulties = []game.Difficulty{"", game.Easy, "HARD", "x"}
	scriptRequestIDs   = []string{"", "r1", "r2", "r3", strings.Repeat("r", game.MaxRequestIDLen+1), "\xff"}
	scriptRounds       = []int{0, 1, 2, game.MaxRounds, game.MaxRounds + 1, -1}
	scriptTurnSeconds  = []int{0, game.MinTurnSeconds, 15, game.MaxTurnSeconds, game.MinTurnSeconds - 1, game.MaxTurnSeconds + 1}
)

// decodeScript turns fuzz bytes into commands. Each command is a kind byte
// (mod 8: create, guess ×3 so that rounds get played, next round, join,
// leave, and a pointer or nil command) followed by a few operand bytes that
// index the pools above; missing bytes read as 0. The kind byte's higher
// bits say who gives the command: bit 3 makes its player an impostor,
// whose id is not the one the name's owner has (see scriptReader.id), and
// bit 4 a player of no id at all. Commands carry increasing times; bit 5
// of the kind byte makes a command come IdleAfter later than the one
// before, so that idle players give up their seats. Bit 6 turns a create
// into one with match settings (rounds, turn seconds, private), a guess
// into an ExpireTurn and a next round into a Rematch.
func decodeScript(data []byte) []game.Command {
	r := scriptReader{data: data}
	var cmds []game.Command
	for at := t0; len(r.data) > 0; at++ {
		if len(r.data) > 0 && r.data[0]&32 != 0 {
			at += game.IdleAfter.Milliseconds()
		}
		cmds = append(cmds, r.command(at))
	}
	return cmds
}

// scriptReader reads decodeScript's operands.
type scriptReader struct {
	data []byte
	who  byte // the kind byte of the command being read
}

// id returns the player id of the command being read for the player
// named name: pid(name), the name's owner, unless the kind byte says
// otherwise.
func (r *scriptReader) id(name string) string {
	switch {
	case r.who&16 != 0:
		return ""
	case r.who&8 != 0:
		return "impostor-" + name
	}
	return pid(name)
}

// next returns the next byte, or 0 once the data is used up.
func (r *scriptReader) next() byte {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

// pick returns the element of pool the next byte selects.
func pick[T any](r *scriptReader, pool []T) T {
	return pool[int(r.next())%len(pool)]
}

// name returns a name from scriptNames or, for bytes from 128, one of 128
// distinct names "p0".."p127", enough to fill a room.
func (r *scriptReader) name() string {
	b := r.next()
	if b >= 128 {
		return fmt.Sprintf("p%d", b-128)
	}
	return scriptNames[int(b)%len(scriptNames)]
}

// letter returns a letter a–z, in lower or upper case, or for the top
// bytes an invalid one.
func (r *scriptReader) letter() string {
	b := r.next()
	switch {
	case b < 26*4:
		return string(rune('a' + b%26))
	case b < 26*8:
		return string(rune('A' + b%26))
	}
	return scriptBadLetters[int(b)%len(scriptBadLetters)]
}

// round returns a round number from -1 to 4: 0 (from byte 0) is "any
// round", -1 is invalid, the rest name current, past or future rounds.
func (r *scriptReader) round() int { return int((r.next()+1)%6) - 1 }

// lives returns a MaxLives from -3 to 28: 0 (from byte 0) is the default,
// the ends are invalid.
func (r *scriptReader) lives() int {
	l := int(r.next() % 32)
	if l > 28 {
		return 28 - l
	}
	return l
}

// command reads one command made at time at.
func (r *scriptReader) command(at int64) game.Command {
	r.who = r.next()
	matches := r.who&64 != 0
	switch kind := r.who % 8; {
	case kind == 0:
		c := game.CreateRoom{
			Code: pick(r, scriptCodes), Host: r.name(), Custom: r.next()%2 == 0, Word: pick(r, scriptWords),
			Category: pick(r, scriptCategories), Difficulty: pick(r, scriptDifficulties),
			MaxLives: r.lives(), RequestID: pick(r, scriptRequestIDs), At: at,
		}
		c.HostID = r.id(c.Host)
		if matches {
			c.Rounds, c.TurnSeconds, c.Private = pick(r, scriptRounds), pick(r, scriptTurnSeconds), r.next()%2 == 1
		}
		return c
	case matches && kind >= 1 && kind <= 3:
		// An expiry names a version from 0 to 15, and may be late: up to
		// 105 s after the command's time.
		e := game.ExpireTurn{Room: pick(r, scriptCodes), Version: uint64(r.next() % 16)}
		e.At = at + int64(r.next()%8)*15_000
		return e
	case matches && kind == 4:
		m := game.Rematch{Room: pick(r, scriptCodes), Player: r.name(), Word: pick(r, scriptWords), FromMatch: int(r.next() % 4), At: at}
		m.PlayerID = r.id(m.Player)
		return m
	}
	switch kind := r.who % 8; kind {
	case 1, 2, 3:
		g := game.Guess{Room: pick(r, scriptCodes), Player: r.name(), Letter: r.letter(), RequestID: pick(r, scriptRequestIDs), Round: r.round(), At: at}
		g.PlayerID = r.id(g.Player)
		return g
	case 4:
		n := game.NextRound{Room: pick(r, scriptCodes), Player: r.name(), Word: pick(r, scriptWords), FromRound: r.round(), At: at}
		n.PlayerID = r.id(n.Player)
		return n
	case 5:
		j := game.Join{Room: pick(r, scriptCodes), Player: r.name(), At: at}
		j.PlayerID = r.id(j.Player)
		return j
	case 6:
		room := pick(r, scriptCodes)
		return game.Leave{Room: room, PlayerID: r.id(r.name()), At: at}
	}
	// Commands by pointer are valid too; nil ones must be refused.
	switch r.next() % 4 {
	case 0:
		g := game.Guess{Room: pick(r, scriptCodes), Player: r.name(), Letter: r.letter(), At: at}
		g.PlayerID = r.id(g.Player)
		return &g
	case 1:
		j := game.Join{Room: pick(r, scriptCodes), Player: r.name(), At: at}
		j.PlayerID = r.id(j.Player)
		return &j
	case 2:
		return (*game.NextRound)(nil)
	}
	return nil
}

// FuzzRestore restores arbitrary bytes over a state with rooms. Restore
// must never panic; when it fails the error wraps ErrBadSnapshot and the
// state is as it was; when it succeeds, the state's own snapshot restores
// again, to identical bytes.
func FuzzRestore(f *testing.F) {
	base := snapshot(f, variedState(f))
	room := `{"Code":"ABCDE","Host":"h","Category":"custom","Difficulty":"","Custom":true,"Round":1,"Word":"hello","Guessed":["e"],"Wrong":null,"MaxLives":6,"LivesLeft":6,"Status":1,"Players":[{"Name":"h","Points":10}],"Log":null,"Version":2,"CreatedAt":0,"UpdatedAt":0}`
	for _, seed := range []string{
		string(base),
		string(snapshot(f, game.NewState())),
		`{"format":2,"rooms":[` + room + `]}`,
		`{"format":3,"rooms":[` + room + `,` + strings.Replace(room, "ABCDE", "FGHJK", 1) + `]}`,
		// As the previous release wrote it: a room just created with a
		// request id, in format 3, which keeps no first answers.
		`{"format":3,"rooms":[` + strings.Replace(room, `"Version":2`, `"Version":1,"CreateRequest":"c-1"`, 1) + `]}`,
		`{"format":3,"rooms":[` + room + `,` + room + `]}`,
		`{"format":3,"rooms":[null]}`,
		`{"format":3,"rooms":null}`,
		string(base[:len(base)/2]),
		string(base) + "{}",
		"",
		"null",
		`{"format":3,"rooms":[],"x":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := game.NewState()
		if err := s.Restore(bytes.NewReader(base)); err != nil {
			t.Fatal(err)
		}
		if err := s.Restore(bytes.NewReader(data)); err != nil {
			if !errors.Is(err, game.ErrBadSnapshot) {
				t.Fatalf("Restore = %v, want an ErrBadSnapshot", err)
			}
			if got := snapshot(t, s); !bytes.Equal(got, base) {
				t.Fatalf("failed Restore (%v) changed the state to\n%s", err, got)
			}
			return
		}
		got := snapshot(t, s)
		again := game.NewState()
		if err := again.Restore(bytes.NewReader(got)); err != nil {
			t.Fatalf("Restore of the restored state's snapshot: %v\n%s", err, got)
		}
		if b := snapshot(t, again); !bytes.Equal(b, got) {
			t.Fatalf("restored state's snapshot restores to other bytes:\n%s\n%s", got, b)
		}
	})
}

// FuzzRestoreThenApply restores arbitrary bytes and, if Restore accepts
// them, applies the commands decodeScript makes of script. Restore checks
// each room (checkRoom) for the invariants Apply relies on, so a state it
// accepts must keep working as one Snapshot wrote: no command panics,
// Validate and Apply agree, a refused command changes nothing, and after
// every command the snapshot restores again, to the same bytes. A node
// that installed a snapshot from its leader goes on applying entries and
// taking snapshots of its own, which it must be able to restore at its
// next start.
func FuzzRestoreThenApply(f *testing.F) {
	room := `{"Code":"ABCDE","Host":"host","Category":"custom","Custom":true,"Round":1,"Word":"hello","Guessed":["e"],"Wrong":null,"MaxLives":6,"LivesLeft":6,"Status":1,"Players":[{"Name":"host","Points":10}],"Version":2}`
	for _, seed := range []struct{ snap, script string }{
		// amy guesses h in ABCDE; the host starts the next round.
		{string(snapshot(f, variedState(f))), "\x01\x00\x01\x07\x00\x00\x04\x00\x00\x09\x00"},
		// amy guesses h, then q.
		{`{"format":3,"rooms":[` + room + `]}`, "\x01\x00\x01\x07\x00\x00\x01\x00\x01\x10\x00\x00"},
		// A room marked won: bob ends round 1 with "aa"; p0 joins.
		{`{"format":2,"rooms":[` + strings.Replace(room, `"Status":1`, `"Status":2`, 1) + `]}`, "\x04\x00\x02\x01\x01\x05\x00\x80"},
	} {
		f.Add([]byte(seed.snap), []byte(seed.script))
	}
	f.Fuzz(func(t *testing.T, snap, script []byte) {
		s := game.NewState()
		if s.Restore(bytes.NewReader(snap)) != nil {
			return // FuzzRestore covers refused snapshots
		}
		for _, cmd := range decodeScript(script) {
			verr := s.Validate(cmd)
			before := snapshot(t, s)
			res, err := s.Apply(cmd)
			after := snapshot(t, s)
			if !sameError(verr, err) {
				t.Fatalf("%#v: Validate = %v, Apply = %v", cmd, verr, err)
			}
			if (err != nil || !res.Changed) && !bytes.Equal(before, after) {
				t.Fatalf("%#v: changed the state without reporting a change (err %v)", cmd, err)
			}
			again := game.NewState()
			if err := again.Restore(bytes.NewReader(after)); err != nil {
				t.Fatalf("after %#v on the restored state\n%s\nits snapshot does not restore: %v\n%s", cmd, snap, err, after)
			}
			if b := snapshot(t, again); !bytes.Equal(b, after) {
				t.Fatalf("after %#v the snapshot restores to other bytes:\n%s\n%s", cmd, after, b)
			}
		}
	})
}
