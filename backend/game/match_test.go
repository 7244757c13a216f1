package game_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
)

// match returns a command creating a custom-word room hosted by "host"
// that plays matches of rounds rounds, with turns of turnSeconds.
func match(code, word string, rounds, turnSeconds int) game.CreateRoom {
	c := custom(code, word)
	c.Rounds, c.TurnSeconds = rounds, turnSeconds
	return c
}

func TestCreateRoomMatchSettings(t *testing.T) {
	tests := []struct {
		name        string
		rounds      int
		turnSeconds int
		private     bool
		wantErr     error
	}{
		{"endless, no countdown", 0, 0, false, nil},
		{"one round", 1, 0, false, nil},
		{"longest match, private", game.MaxRounds, 0, true, nil},
		{"shortest turn", 3, game.MinTurnSeconds, false, nil},
		{"longest turn", 3, game.MaxTurnSeconds, false, nil},
		{"negative rounds", -1, 0, false, game.ErrInvalidSettings},
		{"too many rounds", game.MaxRounds + 1, 0, false, game.ErrInvalidSettings},
		{"turn too short", 3, game.MinTurnSeconds - 1, false, game.ErrInvalidSettings},
		{"turn too long", 3, game.MaxTurnSeconds + 1, false, game.ErrInvalidSettings},
		{"negative turn", 0, -10, false, game.ErrInvalidSettings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := match("ABCDE", "hello", tt.rounds, tt.turnSeconds)
			c.Private = tt.private
			s := game.NewState()
			res, err := s.Apply(c)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Apply = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if s.Len() != 0 {
					t.Error("a refused create made a room")
				}
				return
			}
			r := res.Room
			if r.Rounds != tt.rounds || r.TurnSeconds != tt.turnSeconds || r.Private != tt.private || r.Match != 1 || r.Round != 1 {
				t.Errorf("room: rounds %d, turn %d s, private %v, match %d, round %d; want %d, %d s, %v, match 1, round 1",
					r.Rounds, r.TurnSeconds, r.Private, r.Match, r.Round, tt.rounds, tt.turnSeconds, tt.private)
			}
			wantDeadline := int64(0)
			if tt.turnSeconds > 0 {
				wantDeadline = t0 + int64(tt.turnSeconds)*1000
			}
			if r.TurnDeadline() != wantDeadline || r.MatchOver() {
				t.Errorf("deadline %d, match over %v; want %d, false", r.TurnDeadline(), r.MatchOver(), wantDeadline)
			}
		})
	}
}

// TestHostWatches: in a custom-word room the host chose the word, so the
// host's guesses are refused and change nothing; everyone else guesses,
// and in a room with a word from a category the host guesses too.
func TestHostWatches(t *testing.T) {
	category := game.CreateRoom{Code: "FGHJK", Host: "host", HostID: pid("host"), Category: "animals", Word: "hello", At: t0}
	tests := []struct {
		name    string
		room    string
		player  string
		id      string
		wantErr error
	}{
		{"host of a custom room", "ABCDE", "host", pid("host"), game.ErrHostWatches},
		{"host of a custom room, with a request id", "ABCDE", " host ", pid("host"), game.ErrHostWatches},
		{"another player", "ABCDE", "amy", pid("amy"), nil},
		{"a newcomer", "ABCDE", "zed", pid("zed"), nil},
		{"host of a category room", "FGHJK", "host", pid("host"), nil},
		{"the host's name under another id", "ABCDE", "host", "impostor", game.ErrNameTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, custom("ABCDE", "hello"), category,
				game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), At: t0})
			before := snapshot(t, s)
			g := game.Guess{Room: tt.room, Player: tt.player, PlayerID: tt.id, Letter: "e", RequestID: "r-1", At: t0 + 1}
			if err := s.Validate(g); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Validate = %v, want %v", err, tt.wantErr)
			}
			res, err := s.Apply(g)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Apply = %v, want %v", err, tt.wantErr)
			}
			if err != nil && (res.Changed || !bytes.Equal(before, snapshot(t, s))) {
				t.Error("a refused guess changed the state")
			}
		})
	}

	// When the host leaves, the next host watches in their place.
	s := newState(t, custom("ABCDE", "hello"),
		game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "e", At: t0 + 1},
		game.Leave{Room: "ABCDE", PlayerID: pid("host"), At: t0 + 2})
	if _, err := s.Apply(game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "h", At: t0 + 3}); !errors.Is(err, game.ErrHostWatches) {
		t.Errorf("guess by amy, host once the host left: %v, want ErrHostWatches", err)
	}
}

// playMatch returns a state with room ABCDE, a custom-word match of
// rounds rounds on "ab" in which amy and bo win every round (amy scores
// a, bo b) and the host starts each next one; the last round is won too
// if finish.
func playMatch(t *testing.T, rounds int, finish bool) *game.State {
	t.Helper()
	s := newState(t, match("ABCDE", "ab", rounds, 0))
	at := t0
	for round := 1; round <= rounds; round++ {
		if round > 1 {
			at++
			mustApply(t, s, game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "ab", FromRound: round - 1, At: at})
		}
		if round == rounds && !finish {
			break
		}
		at++
		mustApply(t, s, game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "a", At: at})
		at++
		mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "b", At: at})
	}
	return s
}

// TestMatchEnds: a room of a match length plays that many rounds; its
// last round is played out, not skipped; once it is over the match is
// over and no next round starts.
func TestMatchEnds(t *testing.T) {
	tests := []struct {
		name          string
		rounds        int
		finish        bool
		wantMatchOver bool
		wantNext      error
	}{
		{"one round, played", 1, false, false, game.ErrLastRound},
		{"one round, over", 1, true, true, game.ErrMatchOver},
		{"last of three, played", 3, false, false, game.ErrLastRound},
		{"last of three, over", 3, true, true, game.ErrMatchOver},
		{"endless", 0, true, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := playMatch(t, max(tt.rounds, 1), tt.finish)
			if tt.rounds == 0 {
				s = newState(t, custom("ABCDE", "ab"),
					game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "a", At: t0 + 1},
					game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "b", At: t0 + 2})
			}
			r := room(t, s, "ABCDE")
			if r.MatchOver() != tt.wantMatchOver {
				t.Errorf("MatchOver() = %v in round %d of %d (%v), want %v", r.MatchOver(), r.Round, r.Rounds, r.Status, tt.wantMatchOver)
			}
			before := snapshot(t, s)
			next := game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "cd", FromRound: r.Round, At: t0 + 100}
			_, err := s.Apply(next)
			if !errors.Is(err, tt.wantNext) || (tt.wantNext == nil && err != nil) {
				t.Fatalf("NextRound = %v, want %v", err, tt.wantNext)
			}
			if err != nil && !bytes.Equal(before, snapshot(t, s)) {
				t.Error("a refused NextRound changed the state")
			}
		})
	}
}

// TestRematch: once a match is over its host starts the next one: the
// same players, their match points back to 0 (their points in the room
// kept), round 1 of match 2 with the new word. Anyone else, or a rematch
// before the match is over, is refused.
func TestRematch(t *testing.T) {
	tests := []struct {
		name    string
		rounds  int
		finish  bool
		player  string
		from    int
		wantErr error
	}{
		{"host once the match is over", 2, true, "host", 1, nil},
		{"host, the match now", 2, true, "host", 0, nil},
		{"another player", 2, true, "amy", 1, game.ErrForbidden},
		{"a newcomer", 2, true, "zed", 1, game.ErrForbidden},
		{"last round still played", 2, false, "host", 1, game.ErrMatchNotOver},
		{"a match to come", 2, true, "host", 2, game.ErrInvalidCommand},
		{"an endless room", 0, true, "host", 1, game.ErrMatchNotOver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *game.State
			if tt.rounds > 0 {
				s = playMatch(t, tt.rounds, tt.finish)
			} else {
				s = newState(t, custom("ABCDE", "ab"),
					game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "a", At: t0 + 1},
					game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "b", At: t0 + 2})
			}
			before := room(t, s, "ABCDE")
			beforeSnap := snapshot(t, s)
			res, err := s.Apply(game.Rematch{Room: "abcde", Player: tt.player, PlayerID: pid(tt.player), Word: " Hip-Hop ", FromMatch: tt.from, At: t0 + 100})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Apply = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if res.Changed || !bytes.Equal(beforeSnap, snapshot(t, s)) {
					t.Error("a refused rematch changed the state")
				}
				return
			}
			r := res.Room
			if !res.Changed || res.Duplicate || r.Match != 2 || r.Round != 1 || r.Word != "hip-hop" || r.Status != game.Playing ||
				r.LivesLeft != r.MaxLives || len(r.Guessed)+len(r.Wrong)+len(r.Log) != 0 || r.Version != before.Version+1 || r.MatchOver() {
				t.Errorf("after the rematch: %+v", r)
			}
			if len(r.Players) != len(before.Players) {
				t.Fatalf("players %+v, want those of the match before %+v", r.Players, before.Players)
			}
			for i, p := range r.Players {
				if p.Name != before.Players[i].Name || p.MatchPoints != 0 || p.Points != before.Players[i].Points {
					t.Errorf("player %d = %+v, want %s with no match points and the %d points of the room", i, p, before.Players[i].Name, before.Players[i].Points)
				}
			}
			if !reflect.DeepEqual(r.RoundStart, shown(r)) {
				t.Errorf("RoundStart = %+v, want the room as the match began", r.RoundStart)
			}
		})
	}
}

// TestRematchIsAppliedOnce: a Rematch sent again for the same match gets
// its first answer, as a Duplicate, even after the new match was played
// on; a rematch of two matches ago is refused.
func TestRematchIsAppliedOnce(t *testing.T) {
	s := playMatch(t, 1, true)
	rematch := game.Rematch{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "cd", FromMatch: 1, At: t0 + 10}
	first := mustApply(t, s, rematch)
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "c", At: t0 + 11})
	before := snapshot(t, s)
	for i := range 2 {
		again := mustApply(t, s, rematch)
		if again.Changed || !again.Duplicate || !reflect.DeepEqual(shown(again.Room), shown(first.Room)) {
			t.Errorf("retry %d: changed=%v duplicate=%v room %+v; want the first answer %+v", i, again.Changed, again.Duplicate, again.Room, shown(first.Room))
		}
	}
	// The host's other tab, which saw match 1 end, also gets the first answer.
	other := rematch
	other.Word = "ef"
	if again := mustApply(t, s, other); !again.Duplicate || again.Room.Word != "cd" {
		t.Errorf("a second rematch of match 1: duplicate %v, word %q; want the first answer", again.Duplicate, again.Room.Word)
	}
	if !bytes.Equal(before, snapshot(t, s)) {
		t.Error("a retried rematch changed the state")
	}
	// Match 2 ends, match 3 begins: a rematch of match 1 is too old.
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "d", At: t0 + 12})
	mustApply(t, s, game.Rematch{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "gh", FromMatch: 2, At: t0 + 13})
	if _, err := s.Apply(rematch); !errors.Is(err, game.ErrMatchOver) {
		t.Errorf("rematch of match 1 in match 3: %v, want ErrMatchOver", err)
	}
}

// TestExpireTurn: a turn whose countdown ran out costs a life, once per
// turn whoever sends it; before the deadline, for another version, in a
// round that is over or in a room without a countdown it is refused.
func TestExpireTurn(t *testing.T) {
	const turn = 30
	deadline := t0 + turn*1000
	tests := []struct {
		name       string
		create     game.CreateRoom
		before     []game.Command
		version    uint64
		at         int64
		wantErr    error
		wantLives  int
		wantStatus game.Status
	}{
		{"at the deadline", match("ABCDE", "hello", 0, turn), nil, 1, deadline, nil, 5, game.Playing},
		{"well after the deadline", match("ABCDE", "hello", 0, turn), nil, 1, deadline + 3_600_000, nil, 5, game.Playing},
		{"the last life", func() game.CreateRoom { c := match("ABCDE", "hello", 0, turn); c.MaxLives = 1; return c }(), nil, 1, deadline, nil, 0, game.Lost},
		{"a moment early", match("ABCDE", "hello", 0, turn), nil, 1, deadline - 1, game.ErrTurnNotOver, 6, game.Playing},
		{"an old version", match("ABCDE", "hello", 0, turn), []game.Command{
			game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), At: t0 + 1},
		}, 1, deadline, game.ErrTurnNotOver, 6, game.Playing},
		{"a join does not restart the turn", match("ABCDE", "hello", 0, turn), []game.Command{
			game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), At: t0 + 1},
		}, 2, deadline, nil, 5, game.Playing},
		{"a guess restarts the turn", match("ABCDE", "hello", 0, turn), []game.Command{
			game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "h", At: t0 + 5_000},
		}, 2, deadline, game.ErrTurnNotOver, 6, game.Playing},
		{"after the guess's turn", match("ABCDE", "hello", 0, turn), []game.Command{
			game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "h", At: t0 + 5_000},
		}, 2, deadline + 5_000, nil, 5, game.Playing},
		{"no countdown", custom("ABCDE", "hello"), nil, 1, deadline, game.ErrTurnNotOver, 6, game.Playing},
		{"round over", match("ABCDE", "ab", 0, turn), []game.Command{
			game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "a", At: t0 + 1},
			game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "b", At: t0 + 2},
		}, 3, deadline + 10_000, game.ErrTurnNotOver, 6, game.Won},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, append([]game.Command{tt.create}, tt.before...)...)
			before := room(t, s, "ABCDE")
			beforeSnap := snapshot(t, s)
			e := game.ExpireTurn{Room: "abcde", Version: tt.version, At: tt.at}
			if err := s.Validate(e); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Validate = %v, want %v", err, tt.wantErr)
			}
			res, err := s.Apply(e)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Apply = %v, want %v", err, tt.wantErr)
			}
			r := room(t, s, "ABCDE")
			if r.LivesLeft != tt.wantLives || r.Status != tt.wantStatus {
				t.Errorf("lives %d, %v; want %d, %v", r.LivesLeft, r.Status, tt.wantLives, tt.wantStatus)
			}
			if err != nil {
				if res.Changed || !bytes.Equal(beforeSnap, snapshot(t, s)) {
					t.Error("a refused expiry changed the state")
				}
				return
			}
			last := r.Log[len(r.Log)-1]
			if !res.Changed || r.Version != before.Version+1 || last != (game.LogEntry{Timeout: true, Version: r.Version}) {
				t.Errorf("after the expiry: changed %v, version %d, last log entry %+v", res.Changed, r.Version, last)
			}
			if r.Over() {
				if r.TurnDeadline() != 0 {
					t.Errorf("a lost round has deadline %d", r.TurnDeadline())
				}
			} else if want := tt.at + turn*1000; r.TurnDeadline() != want {
				t.Errorf("next deadline %d, want %d: the next turn starts at the expiry", r.TurnDeadline(), want)
			}
			// Every other tab sends the same expiry: none applies.
			if _, err := s.Apply(e); !errors.Is(err, game.ErrTurnNotOver) {
				t.Errorf("the same expiry again: %v, want ErrTurnNotOver", err)
			}
		})
	}
	if _, err := game.NewState().Apply(game.ExpireTurn{Room: "ZZZZZ", Version: 1, At: t0}); !errors.Is(err, game.ErrUnknownRoom) {
		t.Errorf("expiry in an unknown room: %v, want ErrUnknownRoom", err)
	}
}

// format5 is a snapshot as format 5 wrote it, before matches: room ABCDE,
// where amy scored 10, with a round start and a remembered reply.
const format5 = `{"format":5,"rooms":[{"Code":"ABCDE","Host":"ana","HostID":"i-ana","CreatorID":"i-ana","Category":"custom","Difficulty":"","Custom":true,"Round":2,` +
	`"Word":"hello","Guessed":["e"],"Wrong":null,"MaxLives":6,"LivesLeft":6,"Status":1,"Players":[{"Name":"ana","ID":"i-ana","Points":0,"LastActive":1,` +
	`"LastRequest":{"ID":"","EndedRound":1,"Letter":"","Hit":false,"Version":3,"Reply":{"Code":"ABCDE","Host":"ana","HostID":"i-ana","CreatorID":"i-ana","Category":"custom","Difficulty":"","Custom":true,"Round":2,"Word":"hello","Guessed":null,"Wrong":null,"MaxLives":6,"LivesLeft":6,"Status":1,"Players":[{"Name":"ana","ID":"","Points":0,"LastRequest":{"ID":"","Letter":"","Hit":false,"Version":0}},{"Name":"amy","ID":"","Points":0,"LastRequest":{"ID":"","Letter":"","Hit":false,"Version":0}}],"Log":null,"Version":3,"CreatedAt":1,"UpdatedAt":3}}},` +
	`{"Name":"amy","ID":"i-amy","Points":10,"LastActive":4,"LastRequest":{"ID":"","Letter":"","Hit":false,"Version":0}}],` +
	`"Log":[{"Player":"amy","Letter":"e","Hit":true,"Version":4}],"Version":4,"CreatedAt":1,"UpdatedAt":4}]}`

// TestRestoreFormat5 reads a snapshot of format 5, which had no matches:
// its rooms are endless, in their first match, without a countdown, and
// their players' match points are their points. Its own snapshot is of
// format 6 and round-trips. A format 5 snapshot with match fields, and a
// format 6 one with broken ones, are refused.
func TestRestoreFormat5(t *testing.T) {
	s := game.NewState()
	if err := s.Restore(strings.NewReader(format5)); err != nil {
		t.Fatalf("Restore of format 5: %v", err)
	}
	r := room(t, s, "ABCDE")
	if r.Match != 1 || r.Rounds != 0 || r.TurnSeconds != 0 || r.Private || r.TurnDeadline() != 0 {
		t.Errorf("restored room: match %d, rounds %d, turn %d s, private %v", r.Match, r.Rounds, r.TurnSeconds, r.Private)
	}
	if amy, _ := r.Player("amy"); amy.Points != 10 || amy.MatchPoints != 10 {
		t.Errorf("amy = %+v, want 10 points in the room and in the match", amy)
	}
	if ana, _ := r.Player("ana"); ana.LastRequest.Reply == nil || ana.LastRequest.Reply.Match != 1 {
		t.Errorf("ana's remembered reply = %+v, want one of match 1", ana.LastRequest.Reply)
	}
	data := snapshot(t, s)
	if !strings.HasPrefix(string(data), `{"format":6,`) {
		t.Errorf("snapshot after a format 5 restore: %.40s…, want format 6", data)
	}
	again := game.NewState()
	if err := again.Restore(bytes.NewReader(data)); err != nil || !bytes.Equal(snapshot(t, again), data) {
		t.Errorf("the new snapshot does not round-trip: %v", err)
	}

	room := `{"Code":"ABCDE","Host":"h","HostID":"i-h","CreatorID":"i-h","Category":"custom","Custom":true,"Round":1,"Rounds":3,"Match":1,"TurnSeconds":30,"Word":"hello","MaxLives":6,"LivesLeft":6,"Status":1,"Players":[{"Name":"h","ID":"i-h","Points":10,"MatchPoints":10}],"Version":1}`
	with := func(format int, old, new string) string {
		return `{"format":` + string(rune('0'+format)) + `,"rooms":[` + strings.Replace(room, old, new, 1) + `]}`
	}
	if err := game.NewState().Restore(strings.NewReader(with(6, "", ""))); err != nil {
		t.Fatalf("Restore of the good format 6 room: %v", err)
	}
	tests := []struct{ name, data string }{
		{"match fields in format 5", with(5, "", "")},
		{"match points in format 5", with(5, `"Rounds":3,"Match":1,"TurnSeconds":30,`, ``)},
		{"no match", with(6, `"Match":1,`, ``)},
		{"too many rounds", with(6, `"Rounds":3`, `"Rounds":21`)},
		{"past the last round", with(6, `"Round":1,"Rounds":3`, `"Round":4,"Rounds":3`)},
		{"turn too short", with(6, `"TurnSeconds":30`, `"TurnSeconds":9`)},
		{"more match points than points", with(6, `"MatchPoints":10`, `"MatchPoints":11`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := game.NewState().Restore(strings.NewReader(tt.data)); !errors.Is(err, game.ErrBadSnapshot) {
				t.Errorf("Restore = %v, want ErrBadSnapshot", err)
			}
		})
	}
}

// TestNextRoundOfAnEarlierMatch: rounds count from 1 again in every
// match, so a NextRound names its match too. One for round 1 of the match
// before, sent late (a retry, a form posted long after), ends nothing in
// round 1 of the rematch: refused with ErrRoundOver, nothing changed. One
// for the match now ends its round, once; one for a match to come is
// invalid.
func TestNextRoundOfAnEarlierMatch(t *testing.T) {
	tests := []struct {
		name      string
		fromMatch int
		wantErr   error
	}{
		{"the match before", 1, game.ErrRoundOver},
		{"the match now", 2, nil},
		{"any match (an older client)", 0, nil},
		{"a match to come", 3, game.ErrInvalidCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := playMatch(t, 2, true)
			mustApply(t, s, game.Rematch{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "cd", FromMatch: 1, At: t0 + 50})
			before := snapshot(t, s)
			next := game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "ef", FromRound: 1, FromMatch: tt.fromMatch, At: t0 + 60}
			res, err := s.Apply(next)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Apply = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if res.Changed || !bytes.Equal(before, snapshot(t, s)) {
					t.Error("a refused next round changed the state")
				}
				return
			}
			if r := res.Room; r.Match != 2 || r.Round != 2 || r.Word != "ef" {
				t.Errorf("after the next round: match %d, round %d, word %q; want match 2, round 2, ef", r.Match, r.Round, r.Word)
			}
			// Sent again: its first answer, not a third round.
			again, err := s.Apply(next)
			if err != nil || !again.Duplicate || again.Room.Round != 2 {
				t.Errorf("sent again: %v, duplicate %v, round %d; want the first answer", err, again.Duplicate, again.Room.Round)
			}
		})
	}
}
