package game_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
)

// fixture returns a state holding:
//
//	ABCDE: custom room "hello", playing, amy guessed "h" with request "r1"
//	FGHJK: custom room "aa", won by amy
//	MNPQR: playing room with 64 players, none of them its host
//	RSTUV: animals room, playing
func fixture(t testing.TB) *game.State {
	t.Helper()
	cmds := []game.Command{
		custom("ABCDE", "hello"),
		game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "h", RequestID: "r1", At: t0 + 1},
		custom("FGHJK", "aa"),
		game.Guess{Room: "FGHJK", Player: "amy", PlayerID: pid("amy"), Letter: "a", At: t0 + 1},
		custom("MNPQR", "hello"),
	}
	for i := 1; i < game.MaxPlayersPerRoom; i++ {
		cmds = append(cmds, game.Join{Room: "MNPQR", Player: fmt.Sprintf("p%d", i), PlayerID: pid(fmt.Sprintf("p%d", i)), At: t0 + 1})
	}
	cmds = append(cmds,
		game.Leave{Room: "MNPQR", PlayerID: pid("host"), At: t0 + 2},
		game.Join{Room: "MNPQR", Player: "last", PlayerID: pid("last"), At: t0 + 3},
		game.CreateRoom{Code: "RSTUV", Host: "host", HostID: pid("host"), Category: "animals", Difficulty: game.Easy, Word: "cat", At: t0},
	)
	return newState(t, cmds...)
}

func TestFixture(t *testing.T) {
	s := fixture(t)
	if r := room(t, s, "MNPQR"); len(r.Players) != game.MaxPlayersPerRoom {
		t.Errorf("MNPQR has %d players, want %d", len(r.Players), game.MaxPlayersPerRoom)
	}
	if r := room(t, s, "FGHJK"); r.Status != game.Won {
		t.Errorf("FGHJK status %v, want won", r.Status)
	}
}

func TestApplyErrorsChangeNothing(t *testing.T) {
	longID := strings.Repeat("x", game.MaxRequestIDLen+1)
	tests := []struct {
		name     string
		cmd      game.Command
		want     error
		wantRoom bool // Result.Room is the unchanged room
	}{
		{"nil command", nil, game.ErrInvalidCommand, false},
		{"nil pointer command", (*game.Guess)(nil), game.ErrInvalidCommand, false},

		{"create: missing code", game.CreateRoom{Host: "h", HostID: pid("h"), Custom: true, Word: "hello"}, game.ErrInvalidCommand, false},
		{"create: blank code", game.CreateRoom{Code: "  ", Host: "h", HostID: pid("h"), Custom: true, Word: "hello"}, game.ErrInvalidCommand, false},
		{"create: short code", game.CreateRoom{Code: "ABCD", Host: "h", HostID: pid("h"), Custom: true, Word: "hello"}, game.ErrInvalidCommand, false},
		{"create: ambiguous code", game.CreateRoom{Code: "ABCD0", Host: "h", HostID: pid("h"), Custom: true, Word: "hello"}, game.ErrInvalidCommand, false},
		{"create: existing code", game.CreateRoom{Code: "abcde", Host: "h", HostID: pid("h"), Custom: true, Word: "hello"}, game.ErrRoomExists, true},
		{"create: bad host", game.CreateRoom{Code: "WXYZ2", Host: " ", HostID: pid(" "), Custom: true, Word: "hello"}, game.ErrInvalidPlayer, false},
		{"create: negative lives", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Custom: true, Word: "hello", MaxLives: -1}, game.ErrInvalidSettings, false},
		{"create: too many lives", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Custom: true, Word: "hello", MaxLives: 27}, game.ErrInvalidSettings, false},
		{"create: unknown category", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Category: "cars", Word: "hello"}, game.ErrUnknownCategory, false},
		{"create: custom is no list", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Category: "custom", Word: "hello"}, game.ErrUnknownCategory, false},
		{"create: unknown difficulty", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Category: "food", Difficulty: "expert", Word: "hello"}, game.ErrUnknownDifficulty, false},
		{"create: custom unknown difficulty", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Custom: true, Difficulty: "x", Word: "hello"}, game.ErrUnknownDifficulty, false},
		{"create: custom empty word", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Custom: true}, game.ErrInvalidWord, false},
		{"create: custom one letter", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Custom: true, Word: "a"}, game.ErrInvalidWord, false},
		{"create: custom double separator", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Custom: true, Word: "ab--cd"}, game.ErrInvalidWord, false},
		{"create: list word with digit", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Category: "food", Word: "7up"}, game.ErrInvalidWord, false},
		{"create: request id too long", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Custom: true, Word: "hello", RequestID: longID}, game.ErrInvalidCommand, false},
		{"create: request id not UTF-8", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Custom: true, Word: "hello", RequestID: "\xff"}, game.ErrInvalidCommand, false},

		{"guess: missing room", game.Guess{Player: "amy", PlayerID: pid("amy"), Letter: "e"}, game.ErrInvalidCommand, false},
		{"guess: unknown room", game.Guess{Room: "WXYZ2", Player: "amy", PlayerID: pid("amy"), Letter: "e"}, game.ErrUnknownRoom, false},
		{"guess: bad player", game.Guess{Room: "ABCDE", Player: "", PlayerID: pid(""), Letter: "e"}, game.ErrInvalidPlayer, true},
		{"guess: request id too long", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "e", RequestID: longID}, game.ErrInvalidCommand, true},
		{"guess: request id not UTF-8", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "e", RequestID: "\xff"}, game.ErrInvalidCommand, true},
		{"guess: empty letter", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: ""}, game.ErrInvalidLetter, true},
		{"guess: space", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: " "}, game.ErrInvalidLetter, true},
		{"guess: two letters", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "ab"}, game.ErrInvalidLetter, true},
		{"guess: digit", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "1"}, game.ErrInvalidLetter, true},
		{"guess: accented", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "é"}, game.ErrInvalidLetter, true},
		{"guess: hyphen", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "-"}, game.ErrInvalidLetter, true},
		{"guess: already guessed", game.Guess{Room: "ABCDE", Player: "bob", PlayerID: pid("bob"), Letter: "H"}, game.ErrAlreadyGuessed, true},
		{"guess: round over", game.Guess{Room: "FGHJK", Player: "amy", PlayerID: pid("amy"), Letter: "b"}, game.ErrRoundOver, true},
		{"guess: round over before already guessed", game.Guess{Room: "FGHJK", Player: "amy", PlayerID: pid("amy"), Letter: "a"}, game.ErrRoundOver, true},
		{"guess: room full", game.Guess{Room: "MNPQR", Player: "newbie", PlayerID: pid("newbie"), Letter: "e"}, game.ErrRoomFull, true},

		{"next round: unknown room", game.NextRound{Room: "WXYZ2", Player: "host", PlayerID: pid("host"), Word: "word"}, game.ErrUnknownRoom, false},
		{"next round: bad player", game.NextRound{Room: "FGHJK", Player: "a\tb", PlayerID: pid("a\tb"), Word: "word"}, game.ErrInvalidPlayer, true},
		{"next round: not over, not host", game.NextRound{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Word: "word"}, game.ErrForbidden, true},
		{"next round: over, not host", game.NextRound{Room: "FGHJK", Player: "amy", PlayerID: pid("amy"), Word: "word"}, game.ErrForbidden, true},
		{"next round: the host left", game.NextRound{Room: "MNPQR", Player: "host", PlayerID: pid("host"), Word: "word"}, game.ErrForbidden, true},
		{"next round: bad word", game.NextRound{Room: "FGHJK", Player: "host", PlayerID: pid("host"), Word: "x"}, game.ErrInvalidWord, true},

		{"join: missing room", game.Join{Player: "amy", PlayerID: pid("amy")}, game.ErrInvalidCommand, false},
		{"join: unknown room", game.Join{Room: "WXYZ2", Player: "amy", PlayerID: pid("amy")}, game.ErrUnknownRoom, false},
		{"join: bad player", game.Join{Room: "ABCDE", Player: strings.Repeat("n", game.MaxNameLen+1), PlayerID: pid(strings.Repeat("n", game.MaxNameLen+1))}, game.ErrInvalidPlayer, true},
		{"join: room full", game.Join{Room: "MNPQR", Player: "newbie", PlayerID: pid("newbie")}, game.ErrRoomFull, true},

		{"leave: unknown room", game.Leave{Room: "WXYZ2", PlayerID: pid("amy")}, game.ErrUnknownRoom, false},
		{"leave: no player id", game.Leave{Room: "ABCDE"}, game.ErrInvalidCommand, true},

		// Every command says which player gives it, and a name in a room
		// is its owner's.
		{"create: no host id", game.CreateRoom{Code: "WXYZ2", Host: "h", Custom: true, Word: "hello"}, game.ErrInvalidCommand, false},
		{"create: host id not UTF-8", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: "\xff", Custom: true, Word: "hello"}, game.ErrInvalidCommand, false},
		{"create: host id too long", game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: strings.Repeat("i", game.MaxPlayerIDLen+1), Custom: true, Word: "hello"}, game.ErrInvalidCommand, false},
		{"guess: no player id", game.Guess{Room: "ABCDE", Player: "amy", Letter: "e"}, game.ErrInvalidCommand, true},
		{"guess: another's name", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: "mallory", Letter: "e"}, game.ErrNameTaken, true},
		{"guess: another name of the id", game.Guess{Room: "ABCDE", Player: "amelia", PlayerID: pid("amy"), Letter: "e"}, game.ErrNameTaken, true},
		{"guess: another's name, a letter guessed", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: "mallory", Letter: "h"}, game.ErrNameTaken, true},
		{"guess: another's request id", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: "mallory", Letter: "h", RequestID: "r1"}, game.ErrNameTaken, true},
		{"next round: no player id", game.NextRound{Room: "ABCDE", Player: "host", Word: "word"}, game.ErrInvalidCommand, true},
		{"next round: the host's name", game.NextRound{Room: "ABCDE", Player: "host", PlayerID: "mallory", Word: "word"}, game.ErrNameTaken, true},
		{"next round: a newcomer", game.NextRound{Room: "FGHJK", Player: "zed", PlayerID: pid("zed"), Word: "word"}, game.ErrForbidden, true},
		{"join: no player id", game.Join{Room: "ABCDE", Player: "amy"}, game.ErrInvalidCommand, true},
		{"join: another's name", game.Join{Room: "ABCDE", Player: "amy", PlayerID: "mallory"}, game.ErrNameTaken, true},
		{"join: another name of the id", game.Join{Room: "ABCDE", Player: "amelia", PlayerID: pid("amy")}, game.ErrNameTaken, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixture(t)
			before := snapshot(t, s)
			verr := s.Validate(tt.cmd)
			res, err := s.Apply(tt.cmd)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Apply error = %v, want %v", err, tt.want)
			}
			if verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate error = %v, Apply error = %v", verr, err)
			}
			if res.Changed || res.Hit || res.Duplicate {
				t.Errorf("failed Apply reported %+v", res)
			}
			if (res.Room != nil) != tt.wantRoom {
				t.Errorf("Result.Room = %v, want a room: %v", res.Room, tt.wantRoom)
			}
			if after := snapshot(t, s); !bytes.Equal(before, after) {
				t.Errorf("failed command changed the state:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestValidateAgreesOnSuccess(t *testing.T) {
	tests := []struct {
		name    string
		cmd     game.Command
		changed bool
	}{
		{"create custom", custom("WXYZ2", "word"), true},
		{"create from list", game.CreateRoom{Code: "wxyz2", Host: "h", HostID: pid("h"), Category: " Animals ", Difficulty: "HARD", Word: "Polar Bear"}, true},
		{"create by pointer", &game.CreateRoom{Code: "WXYZ2", Host: "h", HostID: pid("h"), Custom: true, Word: "word"}, true},
		{"guess", game.Guess{Room: "ABCDE", Player: "bob", PlayerID: pid("bob"), Letter: "e"}, true},
		{"guess by pointer", &game.Guess{Room: "ABCDE", Player: "bob", PlayerID: pid("bob"), Letter: "e"}, true},
		{"guess retry", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "q", RequestID: "r1"}, false},
		{"next round", &game.NextRound{Room: "FGHJK", Player: "host", PlayerID: pid("host"), Word: "word"}, true},
		{"join", &game.Join{Room: "ABCDE", Player: "zed", PlayerID: pid("zed")}, true},
		{"join again", game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy")}, false},
		{"leave", &game.Leave{Room: "ABCDE", PlayerID: pid("amy")}, true},
		{"leave absent", game.Leave{Room: "ABCDE", PlayerID: pid("zed")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixture(t)
			before := snapshot(t, s)
			if err := s.Validate(tt.cmd); err != nil {
				t.Fatalf("Validate = %v", err)
			}
			if !bytes.Equal(before, snapshot(t, s)) {
				t.Fatal("Validate changed the state")
			}
			res := mustApply(t, s, tt.cmd)
			if res.Changed != tt.changed {
				t.Errorf("Changed = %v, want %v", res.Changed, tt.changed)
			}
			if changed := !bytes.Equal(before, snapshot(t, s)); changed != tt.changed {
				t.Errorf("state changed = %v, want %v", changed, tt.changed)
			}
		})
	}
}

func TestCreateRoom(t *testing.T) {
	tests := []struct {
		name string
		cmd  game.CreateRoom
		want game.Room
	}{
		{
			name: "custom",
			cmd:  game.CreateRoom{Code: " wxyz2 ", Host: " Hana ", HostID: pid(" Hana "), Category: "ignored", Custom: true, Word: " Ice Cream ", MaxLives: 3, At: 42},
			want: game.Room{
				Code: "WXYZ2", Host: "Hana", HostID: pid("Hana"), CreatorID: pid("Hana"), Category: game.CustomCategory, Custom: true,
				Round: 1, Match: 1, TurnStart: 42, Word: "ice cream", MaxLives: 3, LivesLeft: 3, Status: game.Playing,
				Players: []game.Player{{Name: "Hana", ID: pid("Hana"), LastActive: 42}}, Version: 1, CreatedAt: 42, UpdatedAt: 42,
			},
		},
		{
			name: "custom with difficulty",
			cmd:  game.CreateRoom{Code: "WXYZ2", Host: "Hana", HostID: pid("Hana"), Custom: true, Difficulty: "Easy", Word: "cat", At: 42},
			want: game.Room{
				Code: "WXYZ2", Host: "Hana", HostID: pid("Hana"), CreatorID: pid("Hana"), Category: game.CustomCategory, Difficulty: game.Easy, Custom: true,
				Round: 1, Match: 1, TurnStart: 42, Word: "cat", MaxLives: game.DefaultMaxLives, LivesLeft: game.DefaultMaxLives, Status: game.Playing,
				Players: []game.Player{{Name: "Hana", ID: pid("Hana"), LastActive: 42}}, Version: 1, CreatedAt: 42, UpdatedAt: 42,
			},
		},
		{
			name: "with request id",
			cmd:  game.CreateRoom{Code: "WXYZ2", Host: "Hana", HostID: pid("Hana"), Custom: true, Word: "cat", RequestID: "c-1", At: 42},
			want: game.Room{
				Code: "WXYZ2", Host: "Hana", HostID: pid("Hana"), CreatorID: pid("Hana"), Category: game.CustomCategory, Custom: true,
				Round: 1, Match: 1, TurnStart: 42, Word: "cat", MaxLives: game.DefaultMaxLives, LivesLeft: game.DefaultMaxLives, Status: game.Playing,
				Players: []game.Player{{Name: "Hana", ID: pid("Hana"), LastActive: 42}}, Version: 1, CreatedAt: 42, UpdatedAt: 42, CreateRequest: "c-1",
			},
		},
		{
			name: "category with default difficulty",
			cmd:  game.CreateRoom{Code: "WXYZ2", Host: "Hana", HostID: pid("Hana"), Category: "MUSIC", Word: "trumpet", MaxLives: 26, At: 7},
			want: game.Room{
				Code: "WXYZ2", Host: "Hana", HostID: pid("Hana"), CreatorID: pid("Hana"), Category: "music", Difficulty: game.Medium,
				Round: 1, Match: 1, TurnStart: 7, Word: "trumpet", MaxLives: 26, LivesLeft: 26, Status: game.Playing,
				Players: []game.Player{{Name: "Hana", ID: pid("Hana"), LastActive: 7}}, Version: 1, CreatedAt: 7, UpdatedAt: 7,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := game.NewState()
			res := mustApply(t, s, tt.cmd)
			if !res.Changed || res.Room == nil || !reflect.DeepEqual(*res.Room, tt.want) {
				t.Errorf("Apply = %+v\nroom %+v\nwant %+v", res, res.Room, tt.want)
			}
			if got := room(t, s, tt.want.Code); !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("stored room %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A create that repeats a host's request id, with whatever code and word
// its proposer picked, returns the room the first one made, as it is now.
func TestCreateRoomRequestIsAppliedOnce(t *testing.T) {
	// The state is restored from a snapshot, so that finding a room by its
	// create request works there too.
	before := snapshot(t, newState(t,
		game.CreateRoom{Code: "WXYZ2", Host: "Hana", HostID: pid("Hana"), Custom: true, Word: "cat", RequestID: "c-1", At: t0},
		game.Guess{Room: "WXYZ2", Player: "bob", PlayerID: pid("bob"), Letter: "a", At: t0 + 1},
	))
	tests := []struct {
		name     string
		cmd      game.CreateRoom
		dup      bool
		wantCode string
	}{
		{"same host id and request", game.CreateRoom{Code: "ZZZZZ", Host: " Hana ", HostID: pid(" Hana "), Custom: true, Word: "dog", RequestID: "c-1", At: t0 + 2}, true, "WXYZ2"},
		{"same request, code in use", game.CreateRoom{Code: "WXYZ2", Host: "Hana", HostID: pid("Hana"), Custom: true, Word: "dog", RequestID: "c-1", At: t0 + 2}, true, "WXYZ2"},
		{"other host", game.CreateRoom{Code: "ZZZZZ", Host: "Ivo", HostID: pid("Ivo"), Custom: true, Word: "dog", RequestID: "c-1", At: t0 + 2}, false, "ZZZZZ"},
		{"same name, other host id", game.CreateRoom{Code: "ZZZZZ", Host: "Hana", HostID: "another-hana", Custom: true, Word: "dog", RequestID: "c-1", At: t0 + 2}, false, "ZZZZZ"},
		{"other request", game.CreateRoom{Code: "ZZZZZ", Host: "Hana", HostID: pid("Hana"), Custom: true, Word: "dog", RequestID: "c-2", At: t0 + 2}, false, "ZZZZZ"},
		{"no request", game.CreateRoom{Code: "ZZZZZ", Host: "Hana", HostID: pid("Hana"), Custom: true, Word: "dog", At: t0 + 2}, false, "ZZZZZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := game.NewState()
			if err := s.Restore(bytes.NewReader(before)); err != nil {
				t.Fatal(err)
			}
			first := shown(room(t, s, "WXYZ2"))
			// The first answer was the room as it was made.
			first.Version, first.Guessed, first.Log, first.UpdatedAt, first.TurnStart = 1, nil, nil, first.CreatedAt, first.CreatedAt
			first.Players = first.Players[:1]
			if err := s.Validate(tt.cmd); err != nil {
				t.Fatalf("Validate = %v", err)
			}
			res := mustApply(t, s, tt.cmd)
			if res.Duplicate != tt.dup || res.Changed == tt.dup || res.Room.Code != tt.wantCode {
				t.Fatalf("Apply = duplicate %v, changed %v, room %s; want duplicate %v, room %s", res.Duplicate, res.Changed, res.Room.Code, tt.dup, tt.wantCode)
			}
			if tt.dup {
				if !reflect.DeepEqual(res.Room, first) {
					t.Errorf("duplicate create returned %+v, want the room as it was made %+v", res.Room, first)
				}
				if n := len(s.Rooms()); n != 1 {
					t.Errorf("%d rooms after a duplicate create, want 1", n)
				}
			}
		})
	}
}

func TestResultRoomIsNotChangedByLaterCommands(t *testing.T) {
	s := newState(t, custom("ABCDE", "ox"))
	first := mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "o", At: t0 + 1})
	version, guessed := first.Room.Version, append([]string(nil), first.Room.Guessed...)
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "x", At: t0 + 2})
	if first.Room.Version != version || len(first.Room.Guessed) != len(guessed) || first.Room.Status != game.Playing {
		t.Errorf("a later command changed an earlier result: version %d guessed %v status %v",
			first.Room.Version, first.Room.Guessed, first.Room.Status)
	}
}
