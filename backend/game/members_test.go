package game_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
)

func TestJoinLeave(t *testing.T) {
	type step struct {
		cmd     game.Command
		changed bool
		players []string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "join and leave",
			steps: []step{
				{game.Join{Room: "ABCDE", Player: "amy"}, true, []string{"host", "amy"}},
				{game.Join{Room: "abcde", Player: " bob "}, true, []string{"host", "amy", "bob"}},
				{game.Leave{Room: "ABCDE", Player: "amy"}, true, []string{"host", "bob"}},
				{game.Join{Room: "ABCDE", Player: "amy"}, true, []string{"host", "bob", "amy"}},
			},
		},
		{
			name: "no-ops",
			steps: []step{
				{game.Join{Room: "ABCDE", Player: "host"}, false, []string{"host"}},
				{game.Leave{Room: "ABCDE", Player: "zed"}, false, []string{"host"}},
				{game.Join{Room: "ABCDE", Player: "Host"}, true, []string{"host", "Host"}},
			},
		},
		{
			name: "host may leave and stays host",
			steps: []step{
				{game.Leave{Room: "ABCDE", Player: "host"}, true, []string{}},
				{game.Leave{Room: "ABCDE", Player: "host"}, false, []string{}},
				{game.NextRound{Room: "ABCDE", Player: "host", Word: "world"}, true, []string{"host"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, custom("ABCDE", "hello"))
			version := uint64(1)
			for i, st := range tt.steps {
				res := mustApply(t, s, st.cmd)
				if st.changed {
					version++
				}
				var names []string
				for _, p := range res.Room.Players {
					names = append(names, p.Name)
				}
				if res.Changed != st.changed || res.Room.Version != version || !slices.Equal(names, st.players) {
					t.Errorf("step %d: Changed=%v Version=%d players=%v; want %v, %d, %v",
						i, res.Changed, res.Room.Version, names, st.changed, version, st.players)
				}
			}
		})
	}
}

func TestLeaveDropsPointsAndRequest(t *testing.T) {
	s := newState(t, custom("ABCDE", "hello"),
		game.Guess{Room: "ABCDE", Player: "amy", Letter: "e", RequestID: "r1", At: t0 + 1},
		game.Leave{Room: "ABCDE", Player: "amy", At: t0 + 2},
	)
	r := room(t, s, "ABCDE")
	if _, ok := r.Player("amy"); ok || r.UpdatedAt != t0+2 {
		t.Errorf("after Leave: players %v, UpdatedAt %d", r.Players, r.UpdatedAt)
	}
	// The old request id is forgotten, but the letter stays guessed, so a
	// late retry cannot score twice.
	if _, err := s.Apply(game.Guess{Room: "ABCDE", Player: "amy", Letter: "e", RequestID: "r1"}); !errors.Is(err, game.ErrAlreadyGuessed) {
		t.Errorf("retry after Leave: %v, want ErrAlreadyGuessed", err)
	}
	res := mustApply(t, s, game.Join{Room: "ABCDE", Player: "amy"})
	if p, _ := res.Room.Player("amy"); p.Points != 0 {
		t.Errorf("rejoined with %d points, want 0", p.Points)
	}
}

func TestRoomFull(t *testing.T) {
	s := newState(t, custom("ABCDE", "hello"))
	for i := 1; i < game.MaxPlayersPerRoom; i++ {
		mustApply(t, s, game.Join{Room: "ABCDE", Player: fmt.Sprintf("p%02d", i)})
	}
	if n := len(room(t, s, "ABCDE").Players); n != game.MaxPlayersPerRoom {
		t.Fatalf("%d players, want %d", n, game.MaxPlayersPerRoom)
	}
	for _, cmd := range []game.Command{
		game.Join{Room: "ABCDE", Player: "extra"},
		game.Guess{Room: "ABCDE", Player: "extra", Letter: "e"},
	} {
		if _, err := s.Apply(cmd); !errors.Is(err, game.ErrRoomFull) {
			t.Errorf("Apply(%+v) = %v, want ErrRoomFull", cmd, err)
		}
	}
	// Players already in the room still play, and a leaver frees a seat.
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "p07", Letter: "e"})
	mustApply(t, s, game.Leave{Room: "ABCDE", Player: "p07"})
	mustApply(t, s, game.Join{Room: "ABCDE", Player: "extra"})
}
