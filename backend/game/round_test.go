package game_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
)

// TestNextRound: only the host, by player id, starts the next round,
// while the round is played or once it is over; anyone else, a player or
// a newcomer, is refused with ErrForbidden.
func TestNextRound(t *testing.T) {
	tests := []struct {
		name    string
		finish  bool // finish the round before NextRound
		player  string
		wantErr error
	}{
		{"host while playing", false, "host", nil},
		{"player while playing", false, "amy", game.ErrForbidden},
		{"player after the round", true, "amy", game.ErrForbidden},
		{"newcomer after the round", true, "zed", game.ErrForbidden},
		{"host after the round", true, " host ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create := custom("ABCDE", "abba")
			create.MaxLives = 4
			s := newState(t, create,
				game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "x", RequestID: "r1", At: t0 + 1},
				game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "a", RequestID: "r2", At: t0 + 2},
			)
			if tt.finish {
				mustApply(t, s, game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "b", RequestID: "r3", At: t0 + 3})
			}
			before := room(t, s, "ABCDE")
			res, err := s.Apply(game.NextRound{Room: "abcde", Player: tt.player, PlayerID: pid(tt.player), Word: " Hip-Hop ", At: t0 + 10})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Apply = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			want := before.Clone()
			want.Round = 2
			want.Word = "hip-hop"
			want.Guessed, want.Wrong, want.Log = nil, nil, nil
			want.LivesLeft = 4
			want.Status = game.Playing
			// Points and request records stay with the players; the
			// host was active now.
			want.Players = slices.Clone(before.Players)
			want.Players[0].LastActive = t0 + 10
			want.Version = before.Version + 1
			want.UpdatedAt = t0 + 10
			want.TurnStart = t0 + 10
			// The round remembers how it began, as its first answer.
			if !reflect.DeepEqual(res.Room.RoundStart, shown(want)) {
				t.Errorf("RoundStart = %+v, want %+v", res.Room.RoundStart, shown(want))
			}
			want.RoundStart = res.Room.RoundStart
			if !res.Changed || !reflect.DeepEqual(res.Room, want) {
				t.Errorf("after NextRound:\n got %+v\nwant %+v", res.Room, want)
			}
			if res.Room.Masked() != "___-___" {
				t.Errorf("Masked() = %q", res.Room.Masked())
			}
			// Request records survive, so an old retry still gets its answer.
			amy, _ := before.Player("amy")
			dup := mustApply(t, s, game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "a", RequestID: amy.LastRequest.ID})
			if amy.LastRequest.ID == "" || !dup.Duplicate || dup.Changed || dup.Hit != amy.LastRequest.Hit {
				t.Errorf("old retry after NextRound = %+v", dup)
			}
		})
	}
}

func TestNextRoundAfterLoss(t *testing.T) {
	create := custom("ABCDE", "hello")
	create.MaxLives = 1
	s := newState(t, create, game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "z", At: t0 + 1})
	if r := room(t, s, "ABCDE"); r.Status != game.Lost || r.LivesLeft != 0 {
		t.Fatalf("room not lost: %+v", r)
	}
	res := mustApply(t, s, game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "world", At: t0 + 2})
	if r := res.Room; r.Status != game.Playing || r.LivesLeft != 1 || r.Round != 2 || r.Word != "world" {
		t.Errorf("after NextRound: %+v", r)
	}
}

func TestNextRoundFromRoundIsAppliedOnce(t *testing.T) {
	s := newState(t, custom("ABCDE", "ox"))
	next := game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "cat", FromRound: 1, At: t0 + 1}
	first := mustApply(t, s, next)
	if !first.Changed || first.Duplicate || first.Room.Round != 2 {
		t.Fatalf("first NextRound: changed=%v duplicate=%v round=%d; want a change to round 2", first.Changed, first.Duplicate, first.Room.Round)
	}
	// A guess after the round began: a retry still gets the first answer,
	// not the room as it is now.
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "c", RequestID: "a-1", At: t0 + 2})
	before := snapshot(t, s)
	for i := range 2 {
		again := mustApply(t, s, next)
		if again.Changed || !again.Duplicate || !reflect.DeepEqual(shown(again.Room), shown(first.Room)) {
			t.Errorf("retry %d: changed=%v duplicate=%v room %+v; want a duplicate answered with %+v", i, again.Changed, again.Duplicate, again.Room, shown(first.Room))
		}
	}
	if !bytes.Equal(before, snapshot(t, s)) {
		t.Error("retried NextRound changed the state")
	}
	// Once a later round has begun, the request is too old to answer.
	mustApply(t, s, game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "dog", FromRound: 2, At: t0 + 3})
	if _, err := s.Apply(next); !errors.Is(err, game.ErrRoundOver) {
		t.Errorf("NextRound from two rounds ago: err = %v, want ErrRoundOver", err)
	}
	future := next
	future.FromRound = 9
	if _, err := s.Apply(future); !errors.Is(err, game.ErrInvalidCommand) {
		t.Errorf("NextRound from a future round: err = %v, want ErrInvalidCommand", err)
	}
}

// TestNextRoundResentLateGetsFirstAnswer: a NextRound whose answer was lost
// is answered with its first answer even once the round it began has been
// played (here won), as long as it is the host's last request; once the
// host has started another round, the old request is refused as too old;
// another player's late request is refused as not the host's.
func TestNextRoundResentLateGetsFirstAnswer(t *testing.T) {
	s := newState(t, custom("ABCDE", "ox"))
	ana := game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "cat", FromRound: 1, At: t0 + 1}
	first := mustApply(t, s, ana)
	for i, l := range []string{"c", "a", "t"} { // bo wins round 2
		mustApply(t, s, game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: l, RequestID: fmt.Sprintf("bo-%d", i), At: t0 + 2})
	}
	before := snapshot(t, s)
	again := mustApply(t, s, ana)
	if !again.Duplicate || again.Changed || !reflect.DeepEqual(shown(again.Room), shown(first.Room)) {
		t.Errorf("late resend answered %+v (duplicate %v), want the first answer %+v", again.Room, again.Duplicate, shown(first.Room))
	}
	if !bytes.Equal(before, snapshot(t, s)) {
		t.Error("the resend changed the state")
	}
	late := game.NextRound{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Word: "eel", FromRound: 1, At: t0 + 4}
	if _, err := s.Apply(late); !errors.Is(err, game.ErrForbidden) {
		t.Errorf("another player's NextRound for round 1: %v, want ErrForbidden", err)
	}
	mustApply(t, s, game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "dog", FromRound: 2, At: t0 + 5})
	if _, err := s.Apply(ana); !errors.Is(err, game.ErrRoundOver) {
		t.Errorf("the host's NextRound for round 1 after round 3 began: %v, want ErrRoundOver", err)
	}
}
