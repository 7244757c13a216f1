package game_test

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/gallows-game/gallows/backend/game"
)

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
		g := game.Guess{Room: code, Player: player, Letter: letter, RequestID: id, At: t0 + 100}
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
