package game_test

import (
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/gallows-game/gallows/backend/game"
)

func TestMasked(t *testing.T) {
	tests := []struct {
		word    string
		guessed []string
		want    string
	}{
		{"banana", nil, "______"},
		{"banana", []string{"a"}, "_a_a_a"},
		{"banana", []string{"a", "b", "n"}, "banana"},
		{"ice cream", []string{"e"}, "__e __e__"},
		{"daddy-long-legs", nil, "_____-____-____"},
		{"daddy-long-legs", []string{"a", "o"}, "_a___-_o__-____"},
		{"shepherd's pie", []string{"s", "p"}, "s__p____'s p__"},
		{"a cappella", []string{"x"}, "_ ________"},
	}
	for _, tt := range tests {
		r := &game.Room{Word: tt.word, Guessed: tt.guessed}
		got := r.Masked()
		if got != tt.want {
			t.Errorf("Masked(%q, %v) = %q, want %q", tt.word, tt.guessed, got, tt.want)
		}
		if utf8.RuneCountInString(got) != utf8.RuneCountInString(tt.word) {
			t.Errorf("Masked(%q) has %d runes, want %d", tt.word, utf8.RuneCountInString(got), utf8.RuneCountInString(tt.word))
		}
	}
}

func TestOver(t *testing.T) {
	for _, tt := range []struct {
		s    game.Status
		want bool
	}{{game.Playing, false}, {game.Won, true}, {game.Lost, true}} {
		if got := (&game.Room{Status: tt.s}).Over(); got != tt.want {
			t.Errorf("Over() with status %v = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	s := newState(t, custom("ABCDE", "hello"),
		game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "h", RequestID: "r1", At: t0 + 1},
		game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "x", At: t0 + 2},
	)
	orig := room(t, s, "ABCDE")
	c := orig.Clone()
	if !reflect.DeepEqual(orig, c) {
		t.Fatalf("Clone differs from original:\n%+v\n%+v", orig, c)
	}
	c.Guessed[0] = "q"
	c.Wrong[0] = "q"
	c.Players[0].Points = 999
	c.Log[0].Letter = "q"
	c.Players[0].LastRequest = game.RequestRecord{ID: "changed"}
	if reflect.DeepEqual(orig, c) {
		t.Fatal("changing the clone changed the original")
	}
	if again := room(t, s, "ABCDE"); !reflect.DeepEqual(again, orig) {
		t.Fatal("changing a returned room changed the state")
	}
	if (*game.Room)(nil).Clone() != nil {
		t.Error("Clone of nil room is not nil")
	}
}

func TestRoomPlayer(t *testing.T) {
	s := newState(t, custom("ABCDE", "hello"), game.Join{Room: "abcde", Player: "bob", PlayerID: pid("bob"), At: t0 + 1})
	r := room(t, s, "ABCDE")
	tests := []struct {
		name string
		want game.Player
		ok   bool
	}{
		{"host", game.Player{Name: "host", ID: pid("host"), LastActive: t0}, true},
		{" bob ", game.Player{Name: "bob", ID: pid("bob"), LastActive: t0 + 1}, true},
		{"Bob", game.Player{}, false},
		{"carol", game.Player{}, false},
	}
	for _, tt := range tests {
		got, ok := r.Player(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Player(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
		if !tt.ok {
			continue
		}
		if byID, ok := r.PlayerByID(tt.want.ID); !ok || byID != tt.want {
			t.Errorf("PlayerByID(%q) = %v, %v; want %v", tt.want.ID, byID, ok, tt.want)
		}
	}
	if p, ok := r.PlayerByID(""); ok {
		t.Errorf("PlayerByID(\"\") = %v, true: no player has the empty id", p)
	}
}

func TestStateLookup(t *testing.T) {
	s := newState(t, custom("ZZZZZ", "hello"), custom("abcde", "world"), custom("MNPQR", "again"))
	if s.Len() != 3 {
		t.Errorf("Len() = %d, want 3", s.Len())
	}
	for _, code := range []string{"ABCDE", "abcde", " aBcDe "} {
		if r, ok := s.Room(code); !ok || r.Code != "ABCDE" {
			t.Errorf("Room(%q) = %v, %v; want room ABCDE", code, r, ok)
		}
	}
	if r, ok := s.Room("XXXXX"); ok || r != nil {
		t.Errorf("Room(XXXXX) = %v, %v; want nil, false", r, ok)
	}
	var codes []string
	for _, r := range s.Rooms() {
		codes = append(codes, r.Code)
	}
	if want := []string{"ABCDE", "MNPQR", "ZZZZZ"}; !slices.Equal(codes, want) {
		t.Errorf("Rooms() codes = %v, want %v", codes, want)
	}

	var zero game.State
	if zero.Len() != 0 || len(zero.Rooms()) != 0 {
		t.Error("zero State is not empty")
	}
	mustApply(t, &zero, custom("ABCDE", "hello"))
	if zero.Len() != 1 {
		t.Error("zero State did not accept a room")
	}
}
