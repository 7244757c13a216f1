package game_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
)

// t0 is the time, in unix milliseconds, test rooms are created at.
const t0 int64 = 1_700_000_000_000

// custom returns a command creating a custom-word room hosted by "host".
func custom(code, word string) game.CreateRoom {
	return game.CreateRoom{Code: code, Host: "host", HostID: pid("host"), Custom: true, Word: word, At: t0}
}

// pid is the player id the tests give the player named name: "id-" and
// the name, trimmed, so that " amy " is amy.
func pid(name string) string { return "id-" + strings.TrimSpace(name) }

// newState returns a state with the given commands applied.
func newState(t testing.TB, cmds ...game.Command) *game.State {
	t.Helper()
	s := game.NewState()
	for _, c := range cmds {
		mustApply(t, s, c)
	}
	return s
}

// mustApply applies cmd and fails the test on error.
func mustApply(t testing.TB, s *game.State, cmd game.Command) game.Result {
	t.Helper()
	res, err := s.Apply(cmd)
	if err != nil {
		t.Fatalf("Apply(%#v): %v", cmd, err)
	}
	return res
}

// snapshot returns the snapshot bytes of s.
func snapshot(t testing.TB, s *game.State) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.Snapshot(&b); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return b.Bytes()
}

// room returns a copy of the room with the given code, failing if missing.
func room(t testing.TB, s *game.State, code string) *game.Room {
	t.Helper()
	r, ok := s.Room(code)
	if !ok {
		t.Fatalf("room %s missing", code)
	}
	return r
}

func TestStatusString(t *testing.T) {
	tests := []struct {
		s    game.Status
		want string
	}{
		{game.Playing, "playing"},
		{game.Won, "won"},
		{game.Lost, "lost"},
		{0, "Status(0)"},
		{9, "Status(9)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Status(%d).String() = %q, want %q", int8(tt.s), got, tt.want)
		}
	}
}

func TestParseDifficulty(t *testing.T) {
	tests := []struct {
		in      string
		want    game.Difficulty
		wantErr error
	}{
		{"", game.Medium, nil},
		{"easy", game.Easy, nil},
		{"MEDIUM", game.Medium, nil},
		{" Hard ", game.Hard, nil},
		{"insane", "", game.ErrUnknownDifficulty},
		{"easy-ish", "", game.ErrUnknownDifficulty},
	}
	for _, tt := range tests {
		got, err := game.ParseDifficulty(tt.in)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("ParseDifficulty(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"alice", "alice", true},
		{"  Bob Smith \t", "Bob Smith", true},
		{"Zoë", "Zoë", true},
		{"123456789012345678901234", "123456789012345678901234", true},
		{"ÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅ", "ÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅ", true},
		{"1234567890123456789012345", "", false},
		{"", "", false},
		{"   ", "", false},
		{"a\x00b", "", false},
		{"a\nb", "", false},
		{"bad\xff", "", false},
	}
	for _, tt := range tests {
		got, err := game.NormalizeName(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, game.ErrInvalidPlayer) {
			t.Errorf("NormalizeName(%q) error %v does not wrap ErrInvalidPlayer", tt.in, err)
		}
	}
}

func TestNormalizeLetter(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"e", "e", true},
		{"E", "e", true},
		{" z\n", "z", true},
		{"", "", false},
		{" ", "", false},
		{"ab", "", false},
		{"1", "", false},
		{"é", "", false},
		{"É", "", false},
		{"-", "", false},
		{"'", "", false},
		{"_", "", false},
	}
	for _, tt := range tests {
		got, err := game.NormalizeLetter(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("NormalizeLetter(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, game.ErrInvalidLetter) {
			t.Errorf("NormalizeLetter(%q) error %v does not wrap ErrInvalidLetter", tt.in, err)
		}
	}
}

// shown is what a reply shows of r: r with players of a name and points
// only (no id, activity or request record) and without its round start,
// which no reply carries.
func shown(r *game.Room) *game.Room {
	if r == nil {
		return nil
	}
	c := r.Clone()
	for i, p := range c.Players {
		c.Players[i] = game.Player{Name: p.Name, Points: p.Points, MatchPoints: p.MatchPoints}
	}
	c.RoundStart = nil
	return c
}
