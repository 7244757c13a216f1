package game_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
)

func TestGuessRounds(t *testing.T) {
	type move struct {
		player, letter string
		hit            bool
		masked         string
		lives          int
		status         game.Status
	}
	tests := []struct {
		name   string
		word   string
		lives  int
		moves  []move
		points map[string]int
	}{
		{
			name:  "win with solve bonus",
			word:  "banana",
			lives: 3,
			moves: []move{
				{"amy", "a", true, "_a_a_a", 3, game.Playing},
				{"bob", "x", false, "_a_a_a", 2, game.Playing},
				{"bob", "N", true, "_anana", 2, game.Playing},
				{"amy", "b", true, "banana", 2, game.Won},
			},
			points: map[string]int{"host": 0, "amy": 30 + 10 + 50, "bob": 20},
		},
		{
			name:  "lose when lives run out",
			word:  "kiwi",
			lives: 2,
			moves: []move{
				{"amy", "i", true, "_i_i", 2, game.Playing},
				{"amy", "e", false, "_i_i", 1, game.Playing},
				{"bob", "z", false, "_i_i", 0, game.Lost},
			},
			points: map[string]int{"host": 0, "amy": 20, "bob": 0},
		},
		{
			name:  "separators are shown and not needed",
			word:  "hip-hop's up",
			lives: 6,
			moves: []move{
				{"amy", "p", true, "__p-__p'_ _p", 6, game.Playing},
				{"amy", "h", true, "h_p-h_p'_ _p", 6, game.Playing},
				{"amy", "i", true, "hip-h_p'_ _p", 6, game.Playing},
				{"amy", "o", true, "hip-hop'_ _p", 6, game.Playing},
				{"amy", "s", true, "hip-hop's _p", 6, game.Playing},
				{"amy", "u", true, "hip-hop's up", 6, game.Won},
			},
			points: map[string]int{"host": 0, "amy": 30 + 20 + 10 + 10 + 10 + 10 + 50},
		},
		{
			name:  "default lives",
			word:  "ox",
			lives: 0,
			moves: []move{
				{"amy", "a", false, "__", 5, game.Playing},
			},
			points: map[string]int{"host": 0, "amy": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create := custom("ABCDE", tt.word)
			create.MaxLives = tt.lives
			s := newState(t, create)
			for i, m := range tt.moves {
				at := t0 + int64(i) + 1
				res := mustApply(t, s, game.Guess{Room: "ABCDE", Player: m.player, PlayerID: pid(m.player), Letter: m.letter, At: at})
				r := res.Room
				if res.Hit != m.hit || !res.Changed || res.Duplicate {
					t.Errorf("move %d: Hit=%v Changed=%v Duplicate=%v; want Hit=%v Changed=true Duplicate=false", i, res.Hit, res.Changed, res.Duplicate, m.hit)
				}
				if got := r.Masked(); got != m.masked {
					t.Errorf("move %d: Masked() = %q, want %q", i, got, m.masked)
				}
				if r.LivesLeft != m.lives || r.Status != m.status {
					t.Errorf("move %d: lives %d, status %v; want %d, %v", i, r.LivesLeft, r.Status, m.lives, m.status)
				}
				if r.Version != uint64(i)+2 || r.UpdatedAt != at || r.CreatedAt != t0 {
					t.Errorf("move %d: Version=%d UpdatedAt=%d CreatedAt=%d; want %d, %d, %d", i, r.Version, r.UpdatedAt, r.CreatedAt, i+2, at, t0)
				}
				if !reflect.DeepEqual(r, room(t, s, "ABCDE")) {
					t.Errorf("move %d: result room differs from stored room", i)
				}
			}
			r := room(t, s, "ABCDE")
			got := make(map[string]int)
			for _, p := range r.Players {
				got[p.Name] = p.Points
			}
			if !reflect.DeepEqual(got, tt.points) {
				t.Errorf("points = %v, want %v", got, tt.points)
			}
			if len(r.Log) != len(tt.moves) {
				t.Fatalf("log has %d entries, want %d", len(r.Log), len(tt.moves))
			}
			var wrong []string
			for i, m := range tt.moves {
				e := r.Log[i]
				want := game.LogEntry{Player: m.player, Letter: r.Guessed[i], Hit: m.hit, Version: uint64(i) + 2}
				if e != want {
					t.Errorf("log[%d] = %+v, want %+v", i, e, want)
				}
				if !m.hit {
					wrong = append(wrong, e.Letter)
				}
			}
			if !slices.Equal(r.Wrong, wrong) {
				t.Errorf("Wrong = %v, want %v", r.Wrong, wrong)
			}
		})
	}
}

func TestGuessCaseFolding(t *testing.T) {
	s := newState(t, custom("ABCDE", "Hello"))
	if r := room(t, s, "ABCDE"); r.Word != "hello" {
		t.Fatalf("Word = %q, want it folded to %q", r.Word, "hello")
	}
	res := mustApply(t, s, game.Guess{Room: "abcde", Player: "amy", PlayerID: pid("amy"), Letter: " L ", At: t0 + 1})
	if !res.Hit || !slices.Equal(res.Room.Guessed, []string{"l"}) || res.Room.Masked() != "__ll_" {
		t.Errorf("guess L: Hit=%v Guessed=%v Masked=%q", res.Hit, res.Room.Guessed, res.Room.Masked())
	}
	if _, err := s.Apply(game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "l", At: t0 + 2}); !errors.Is(err, game.ErrAlreadyGuessed) {
		t.Errorf("guess l after L: err = %v, want ErrAlreadyGuessed", err)
	}
}

func TestGuessAddsPlayer(t *testing.T) {
	s := newState(t, custom("ABCDE", "hello"))
	res := mustApply(t, s, game.Guess{Room: "ABCDE", Player: "  newbie ", PlayerID: pid("  newbie "), Letter: "h", At: t0 + 1})
	want := []game.Player{{Name: "host", ID: pid("host"), LastActive: t0}, {Name: "newbie", ID: pid("newbie"), Points: 10, MatchPoints: 10, LastActive: t0 + 1}}
	if !slices.Equal(res.Room.Players, want) {
		t.Errorf("Players = %v, want %v", res.Room.Players, want)
	}
	if res.Room.Version != 2 {
		t.Errorf("Version = %d, want 2: joining by guessing is one change", res.Room.Version)
	}
}

func TestGuessIdempotent(t *testing.T) {
	tests := []struct {
		name    string
		word    string
		letter  string
		wantHit bool
		status  game.Status
	}{
		{"hit", "hello", "e", true, game.Playing},
		{"miss", "hello", "z", false, game.Playing},
		{"winning guess", "aa", "a", true, game.Won},
		{"losing guess", "hello", "q", false, game.Lost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create := custom("ABCDE", tt.word)
			if tt.status == game.Lost {
				create.MaxLives = 1
			}
			s := newState(t, create)
			g := game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: tt.letter, RequestID: "req-1", At: t0 + 1}
			first := mustApply(t, s, g)
			if first.Hit != tt.wantHit || first.Duplicate || !first.Changed || first.Room.Status != tt.status {
				t.Fatalf("first: %+v", first)
			}
			wantRec := game.RequestRecord{ID: "req-1", Letter: tt.letter, Hit: tt.wantHit, Version: 2}
			amy, _ := first.Room.Player("amy")
			if rec := amy.LastRequest; rec.ID != wantRec.ID || rec.Letter != wantRec.Letter || rec.Hit != wantRec.Hit || rec.Version != wantRec.Version {
				t.Errorf("amy's LastRequest = %+v, want %+v", amy.LastRequest, wantRec)
			}
			if !reflect.DeepEqual(amy.LastRequest.Reply, shown(first.Room)) {
				t.Errorf("amy's remembered reply = %+v, want the first reply %+v", amy.LastRequest.Reply, shown(first.Room))
			}
			before := snapshot(t, s)
			for i := range 2 {
				g.At += 100
				g.Player = " amy "
				if err := s.Validate(g); err != nil {
					t.Errorf("retry %d: Validate = %v", i, err)
				}
				res := mustApply(t, s, g)
				if res.Hit != tt.wantHit || !res.Duplicate || res.Changed {
					t.Errorf("retry %d: Hit=%v Duplicate=%v Changed=%v; want %v, true, false", i, res.Hit, res.Duplicate, res.Changed, tt.wantHit)
				}
				if !reflect.DeepEqual(shown(res.Room), shown(first.Room)) {
					t.Errorf("retry %d: room differs from the first result", i)
				}
			}
			if after := snapshot(t, s); string(after) != string(before) {
				t.Error("retries changed the state")
			}

			// A new request id is a new guess, and the same id from someone
			// else is not a retry.
			for _, other := range []game.Guess{
				{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: tt.letter, RequestID: "req-2", At: t0 + 5},
				{Room: "ABCDE", Player: "bob", PlayerID: pid("bob"), Letter: tt.letter, RequestID: "req-1", At: t0 + 5},
			} {
				want := game.ErrAlreadyGuessed
				if tt.status != game.Playing {
					want = game.ErrRoundOver
				}
				if _, err := s.Apply(other); !errors.Is(err, want) {
					t.Errorf("Apply(%+v) = %v, want %v", other, err, want)
				}
			}
		})
	}
}

func TestGuessEmptyRequestIDIsNotRecorded(t *testing.T) {
	s := newState(t, custom("ABCDE", "hello"))
	res := mustApply(t, s, game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "h", At: t0 + 1})
	if amy, _ := res.Room.Player("amy"); amy.LastRequest != (game.RequestRecord{}) {
		t.Errorf("amy's LastRequest = %+v, want none", amy.LastRequest)
	}
	if _, err := s.Apply(game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "h", At: t0 + 2}); !errors.Is(err, game.ErrAlreadyGuessed) {
		t.Errorf("second guess without request id: %v, want ErrAlreadyGuessed", err)
	}
}

// TestEarlierRoomsStayAsTheyWere: a room returned by Apply is not changed
// by the guesses applied after it (successive rooms share arrays).
func TestEarlierRoomsStayAsTheyWere(t *testing.T) {
	s := newState(t, custom("ABCDE", "hello world"))
	var rooms []*game.Room
	var want [][]string
	var points []int
	for i, l := range []string{"h", "x", "e", "q", "l"} {
		rooms = append(rooms, mustApply(t, s, game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: l, RequestID: l, At: t0 + int64(i)}).Room)
		want = append(want, slices.Clone(rooms[i].Guessed))
		amy, _ := rooms[i].Player("amy")
		points = append(points, amy.Points)
	}
	for i, r := range rooms {
		if !slices.Equal(r.Guessed, want[i]) || len(r.Log) != i+1 || r.Log[i].Letter != want[i][i] {
			t.Errorf("room after guess %d: guessed %v, log %v; want guessed %v", i+1, r.Guessed, r.Log, want[i])
		}
		// Players are copied for every successor: points and the last
		// request of an earlier room stay as they were.
		if amy, _ := r.Player("amy"); amy.Points != points[i] || amy.LastRequest.ID != want[i][i] {
			t.Errorf("room after guess %d: amy has %d points, last request %q; want %d, %q",
				i+1, amy.Points, amy.LastRequest.ID, points[i], want[i][i])
		}
	}
	if wrong := rooms[len(rooms)-1].Wrong; !slices.Equal(wrong, []string{"x", "q"}) {
		t.Errorf("wrong = %v, want [x q]", wrong)
	}
}

// A guess made in one round is refused once the room is in another, so a
// guess sent again after the round changed is never applied to the next
// one; 0 means the round the room is in.
func TestGuessForARound(t *testing.T) {
	tests := []struct {
		name  string
		round int
		want  error // nil: applied
	}{
		{"the round now", 2, nil},
		{"no round given", 0, nil},
		{"a round that is over", 1, game.ErrRoundOver},
		{"a round not started", 3, game.ErrInvalidCommand},
		{"a negative round", -1, game.ErrInvalidCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, custom("ABCDE", "hello"))
			mustApply(t, s, game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "e", RequestID: "amy-1", Round: 1, At: t0 + 1})
			mustApply(t, s, game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "world", At: t0 + 2})
			before := snapshot(t, s)
			g := game.Guess{Room: "ABCDE", Player: "bob", PlayerID: pid("bob"), Letter: "o", RequestID: "bob-1", Round: tt.round, At: t0 + 3}
			valid := s.Validate(g)
			res, err := s.Apply(g)
			if (valid == nil) != (err == nil) {
				t.Errorf("Validate = %v, Apply = %v: they disagree", valid, err)
			}
			switch {
			case tt.want == nil && (err != nil || !res.Changed):
				t.Fatalf("Apply = %+v, %v; want applied", res, err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("Apply = %v, want %v", err, tt.want)
			case tt.want != nil && string(snapshot(t, s)) != string(before):
				t.Fatal("a refused guess changed the state")
			}
		})
	}
	// A retry of a guess applied in an earlier round is still answered
	// with its first outcome.
	s := newState(t, custom("ABCDE", "hello"))
	g := game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "e", RequestID: "amy-1", Round: 1, At: t0 + 1}
	mustApply(t, s, g)
	mustApply(t, s, game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "world", At: t0 + 2})
	if res := mustApply(t, s, g); !res.Duplicate || !res.Hit {
		t.Errorf("retry after the round changed: %+v, want the first outcome", res)
	}
}

// TestResendGetsFirstAnswer is the sequence of a resent guess that met
// another player's guess in between: the resend is answered with the room
// as the first application left it (version 2, only "a"), before and after
// a snapshot is restored.
func TestResendGetsFirstAnswer(t *testing.T) {
	s := newState(t, custom("ABCDE", "banana"))
	ana := game.Guess{Room: "ABCDE", Player: "ana", PlayerID: pid("ana"), Letter: "a", RequestID: "dup-1", At: t0 + 1}
	first := mustApply(t, s, ana)
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "z", RequestID: "bo-1", At: t0 + 2})
	restored := game.NewState()
	if err := restored.Restore(bytes.NewReader(snapshot(t, s))); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*game.State{"live": s, "restored": restored} {
		again := mustApply(t, st, ana)
		if !again.Duplicate || again.Changed || again.Room.Version != 2 || !slices.Equal(again.Room.Guessed, []string{"a"}) {
			t.Errorf("%s: resend answered version %d %v (duplicate %v), want version 2 [a]", name, again.Room.Version, again.Room.Guessed, again.Duplicate)
		}
		if !reflect.DeepEqual(shown(again.Room), shown(first.Room)) {
			t.Errorf("%s: resend answered %+v, want the first answer %+v", name, again.Room, first.Room)
		}
	}
}
