package game_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
)

func TestNewRoomCodeDeterministic(t *testing.T) {
	tests := []struct {
		name string
		intn func(int) int
		want string
	}{
		{"zeros", func(int) int { return 0 }, "AAAAA"},
		{"last", func(n int) int { return n - 1 }, "99999"},
		{"counting", counter(), "ABCDE"},
	}
	for _, tt := range tests {
		if got := game.NewRoomCode(tt.intn); got != tt.want {
			t.Errorf("%s: NewRoomCode = %q, want %q", tt.name, got, tt.want)
		}
	}
	a := game.NewRoomCode(rand.New(rand.NewPCG(1, 2)).IntN)
	b := game.NewRoomCode(rand.New(rand.NewPCG(1, 2)).IntN)
	if a != b {
		t.Errorf("same seed gave %q and %q", a, b)
	}
}

// counter returns an intn that yields 0, 1, 2, ...
func counter() func(int) int {
	i := -1
	return func(int) int { i++; return i }
}

func TestNewRoomCodeIsValid(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 1000 {
		code := game.NewRoomCode(r.IntN)
		if !game.ValidRoomCode(code) || len(code) != game.RoomCodeLen {
			t.Fatalf("NewRoomCode made invalid code %q", code)
		}
		if strings.ContainsAny(code, "0O1IL") {
			t.Fatalf("NewRoomCode made ambiguous code %q", code)
		}
	}
}

func TestValidRoomCode(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"ABCDE", true},
		{"abcde", true},
		{" xyz29 ", true},
		{"HJKMN", true},
		{"ABCD", false},
		{"ABCDEF", false},
		{"", false},
		{"ABCD0", false},
		{"ABCDO", false},
		{"ABCD1", false},
		{"ABCDI", false},
		{"abcdl", false},
		{"AB DE", false},
		{"ABCDÉ", false},
	}
	for _, tt := range tests {
		if got := game.ValidRoomCode(tt.code); got != tt.want {
			t.Errorf("ValidRoomCode(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestNormalizeRoomCode(t *testing.T) {
	for in, want := range map[string]string{"abcde": "ABCDE", " AbCdE\t": "ABCDE", "": ""} {
		if got := game.NormalizeRoomCode(in); got != want {
			t.Errorf("NormalizeRoomCode(%q) = %q, want %q", in, got, want)
		}
	}
}
