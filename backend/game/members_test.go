package game_test

import (
	"bytes"
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
				{game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy")}, true, []string{"host", "amy"}},
				{game.Join{Room: "abcde", Player: " bob ", PlayerID: pid(" bob ")}, true, []string{"host", "amy", "bob"}},
				{game.Leave{Room: "ABCDE", PlayerID: pid("amy")}, true, []string{"host", "bob"}},
				{game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy")}, true, []string{"host", "bob", "amy"}},
			},
		},
		{
			name: "no-ops",
			steps: []step{
				{game.Join{Room: "ABCDE", Player: "host", PlayerID: pid("host")}, false, []string{"host"}},
				{game.Leave{Room: "ABCDE", PlayerID: pid("zed")}, false, []string{"host"}},
				{game.Join{Room: "ABCDE", Player: "Host", PlayerID: pid("Host")}, true, []string{"host", "Host"}},
			},
		},
		{
			name: "the host alone leaves, comes back and is host again",
			steps: []step{
				{game.Leave{Room: "ABCDE", PlayerID: pid("host")}, true, []string{}},
				{game.Leave{Room: "ABCDE", PlayerID: pid("host")}, false, []string{}},
				{game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "world"}, true, []string{"host"}},
			},
		},
		{
			name: "a player leaves by id, whatever the name",
			steps: []step{
				{game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy")}, true, []string{"host", "amy"}},
				{game.Leave{Room: "ABCDE", PlayerID: "amy"}, false, []string{"host", "amy"}},
				{game.Leave{Room: "ABCDE", PlayerID: pid("amy")}, true, []string{"host"}},
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
		game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "e", RequestID: "r1", At: t0 + 1},
		game.Leave{Room: "ABCDE", PlayerID: pid("amy"), At: t0 + 2},
	)
	r := room(t, s, "ABCDE")
	if _, ok := r.Player("amy"); ok || r.UpdatedAt != t0+2 {
		t.Errorf("after Leave: players %v, UpdatedAt %d", r.Players, r.UpdatedAt)
	}
	// The old request id is forgotten, but the letter stays guessed, so a
	// late retry cannot score twice.
	if _, err := s.Apply(game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "e", RequestID: "r1"}); !errors.Is(err, game.ErrAlreadyGuessed) {
		t.Errorf("retry after Leave: %v, want ErrAlreadyGuessed", err)
	}
	res := mustApply(t, s, game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy")})
	if p, _ := res.Room.Player("amy"); p.Points != 0 {
		t.Errorf("rejoined with %d points, want 0", p.Points)
	}
}

func TestRoomFull(t *testing.T) {
	s := newState(t, custom("ABCDE", "hello"))
	for i := 1; i < game.MaxPlayersPerRoom; i++ {
		mustApply(t, s, game.Join{Room: "ABCDE", Player: fmt.Sprintf("p%02d", i), PlayerID: pid(fmt.Sprintf("p%02d", i))})
	}
	if n := len(room(t, s, "ABCDE").Players); n != game.MaxPlayersPerRoom {
		t.Fatalf("%d players, want %d", n, game.MaxPlayersPerRoom)
	}
	for _, cmd := range []game.Command{
		game.Join{Room: "ABCDE", Player: "extra", PlayerID: pid("extra")},
		game.Guess{Room: "ABCDE", Player: "extra", PlayerID: pid("extra"), Letter: "e"},
	} {
		if _, err := s.Apply(cmd); !errors.Is(err, game.ErrRoomFull) {
			t.Errorf("Apply(%+v) = %v, want ErrRoomFull", cmd, err)
		}
	}
	// Players already in the room still play, and a leaver frees a seat.
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "p07", PlayerID: pid("p07"), Letter: "e"})
	mustApply(t, s, game.Leave{Room: "ABCDE", PlayerID: pid("p07")})
	mustApply(t, s, game.Join{Room: "ABCDE", Player: "extra", PlayerID: pid("extra")})
}

// TestLeaveOnlyRemovesTheCaller: a Leave removes the record of its own
// player id and no other, whatever name the others play under; it is how
// a session leaves, so no session makes another leave.
func TestLeaveOnlyRemovesTheCaller(t *testing.T) {
	tests := []struct {
		name  string
		leave string // the Leave's player id
		want  []string
	}{
		{"own id", pid("amy"), []string{"host", "bob"}},
		{"the id of no player", "mallory", []string{"host", "amy", "bob"}},
		{"another's name as id", "amy", []string{"host", "amy", "bob"}},
		{"a legacy id of the name", game.LegacyPlayerID("amy"), []string{"host", "amy", "bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, custom("ABCDE", "hello"),
				game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), At: t0 + 1},
				game.Join{Room: "ABCDE", Player: "bob", PlayerID: pid("bob"), At: t0 + 2},
			)
			res := mustApply(t, s, game.Leave{Room: "ABCDE", PlayerID: tt.leave, At: t0 + 3})
			var names []string
			for _, p := range res.Room.Players {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("players after Leave{%q}: %v, want %v", tt.leave, names, tt.want)
			}
		})
	}
}

// TestHostHandsOverOnLeave: when the host leaves, or gives up its seat to
// a newcomer, the player of record who joined earliest becomes host, and
// only that player may start the next round; a room left empty keeps its
// host until someone joins, who then hosts it.
func TestHostHandsOverOnLeave(t *testing.T) {
	tests := []struct {
		name     string
		cmds     []game.Command
		wantHost string // name; its id is pid(name)
	}{
		{"the host stays", nil, "host"},
		{"the host leaves", []game.Command{
			game.Leave{Room: "ABCDE", PlayerID: pid("host"), At: t0 + 10},
		}, "amy"},
		{"the host and the next leave", []game.Command{
			game.Leave{Room: "ABCDE", PlayerID: pid("host"), At: t0 + 10},
			game.Leave{Room: "ABCDE", PlayerID: pid("amy"), At: t0 + 11},
		}, "bob"},
		{"another leaves", []game.Command{
			game.Leave{Room: "ABCDE", PlayerID: pid("amy"), At: t0 + 10},
		}, "host"},
		{"everyone leaves", []game.Command{
			game.Leave{Room: "ABCDE", PlayerID: pid("amy"), At: t0 + 10},
			game.Leave{Room: "ABCDE", PlayerID: pid("host"), At: t0 + 11},
			game.Leave{Room: "ABCDE", PlayerID: pid("bob"), At: t0 + 12},
		}, "bob"},
		{"everyone leaves, someone joins", []game.Command{
			game.Leave{Room: "ABCDE", PlayerID: pid("amy"), At: t0 + 10},
			game.Leave{Room: "ABCDE", PlayerID: pid("host"), At: t0 + 11},
			game.Leave{Room: "ABCDE", PlayerID: pid("bob"), At: t0 + 12},
			game.Guess{Room: "ABCDE", Player: "cy", PlayerID: pid("cy"), Letter: "e", At: t0 + 13},
		}, "cy"},
		{"the host comes back after the handover", []game.Command{
			game.Leave{Room: "ABCDE", PlayerID: pid("host"), At: t0 + 10},
			game.Join{Room: "ABCDE", Player: "host", PlayerID: pid("host"), At: t0 + 11},
		}, "amy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, custom("ABCDE", "hello"),
				game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), At: t0 + 1},
				game.Join{Room: "ABCDE", Player: "bob", PlayerID: pid("bob"), At: t0 + 2},
			)
			for _, c := range tt.cmds {
				mustApply(t, s, c)
			}
			r := room(t, s, "ABCDE")
			if r.Host != tt.wantHost || r.HostID != pid(tt.wantHost) {
				t.Fatalf("host %q (id %q), want %q", r.Host, r.HostID, tt.wantHost)
			}
			for _, name := range []string{"host", "amy", "bob", "cy"} {
				if name == tt.wantHost {
					continue
				}
				next := game.NextRound{Room: "ABCDE", Player: name, PlayerID: pid(name), Word: "world", At: t0 + 20}
				if _, err := s.Apply(next); !errors.Is(err, game.ErrForbidden) {
					t.Errorf("NextRound by %s, not the host: %v, want ErrForbidden", name, err)
				}
			}
			mustApply(t, s, game.NextRound{Room: "ABCDE", Player: tt.wantHost, PlayerID: pid(tt.wantHost), Word: "world", At: t0 + 20})
		})
	}
}

// TestNameBelongsToItsPlayer: in a room a name belongs to the player id
// that took it. A command that pairs the name with another id, or the id
// with another name, is refused with ErrNameTaken and changes nothing;
// the same pair again is the same player; a name free in the room may be
// taken by any id new to it.
func TestNameBelongsToItsPlayer(t *testing.T) {
	tests := []struct {
		name string
		cmd  game.Command
		want error
	}{
		{"guess as the owner", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "e"}, nil},
		{"guess under another's name", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: "mallory", Letter: "e"}, game.ErrNameTaken},
		{"guess under the host's name", game.Guess{Room: "ABCDE", Player: " host ", PlayerID: "mallory", Letter: "e"}, game.ErrNameTaken},
		{"guess as the owner, renamed", game.Guess{Room: "ABCDE", Player: "amelia", PlayerID: pid("amy"), Letter: "e"}, game.ErrNameTaken},
		{"guess under a free name", game.Guess{Room: "ABCDE", Player: "mallory", PlayerID: "mallory", Letter: "e"}, nil},
		{"guess under a name of other case", game.Guess{Room: "ABCDE", Player: "Amy", PlayerID: "mallory", Letter: "e"}, nil},
		{"join under another's name", game.Join{Room: "ABCDE", Player: "amy", PlayerID: "mallory"}, game.ErrNameTaken},
		{"join as the owner", game.Join{Room: "ABCDE", Player: "amy", PlayerID: pid("amy")}, nil},
		{"join as the owner, renamed", game.Join{Room: "ABCDE", Player: "amelia", PlayerID: pid("amy")}, game.ErrNameTaken},
		{"next round under the host's name", game.NextRound{Room: "ABCDE", Player: "host", PlayerID: "mallory", Word: "world"}, game.ErrNameTaken},
		{"next round as the host, renamed", game.NextRound{Room: "ABCDE", Player: "boss", PlayerID: pid("host"), Word: "world"}, game.ErrNameTaken},
		{"resend of another's guess", game.Guess{Room: "ABCDE", Player: "amy", PlayerID: "mallory", Letter: "h", RequestID: "amy-1"}, game.ErrNameTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, custom("ABCDE", "hello"),
				game.Guess{Room: "ABCDE", Player: "amy", PlayerID: pid("amy"), Letter: "h", RequestID: "amy-1", At: t0 + 1},
			)
			before := snapshot(t, s)
			verr := s.Validate(tt.cmd)
			_, err := s.Apply(tt.cmd)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Apply = %v, want %v", err, tt.want)
			}
			if !sameError(verr, err) {
				t.Errorf("Validate = %v, Apply = %v", verr, err)
			}
			if err != nil && !bytes.Equal(before, snapshot(t, s)) {
				t.Error("a refused command changed the state")
			}
		})
	}
}

// TestRoomCapCountsRecentPlayers: MaxPlayersPerRoom counts the players
// active within IdleAfter of a command's time. A newcomer to a room full
// of recent players is refused with ErrRoomFull; in a room with idle
// players it takes the seat of the one idle longest, whose record (points
// and request record) goes, so the room stays bounded.
func TestRoomCapCountsRecentPlayers(t *testing.T) {
	idle := game.IdleAfter.Milliseconds()
	// full makes a room of MaxPlayersPerRoom players: the host at t0, then
	// p01… joined at t0+i.
	full := func(t *testing.T) *game.State {
		s := newState(t, custom("ABCDE", "hello"))
		for i := 1; i < game.MaxPlayersPerRoom; i++ {
			name := fmt.Sprintf("p%02d", i)
			mustApply(t, s, game.Join{Room: "ABCDE", Player: name, PlayerID: pid(name), At: t0 + int64(i)})
		}
		return s
	}
	tests := []struct {
		name    string
		before  []game.Command // applied to the full room first
		cmd     game.Command
		want    error
		evicted string // the player whose seat the newcomer took
	}{
		{"everyone recent: join", nil, game.Join{Room: "ABCDE", Player: "new", PlayerID: pid("new"), At: t0 + 100}, game.ErrRoomFull, ""},
		{"everyone recent: guess", nil, game.Guess{Room: "ABCDE", Player: "new", PlayerID: pid("new"), Letter: "e", At: t0 + 100}, game.ErrRoomFull, ""},
		{"everyone recent, just", nil, game.Join{Room: "ABCDE", Player: "new", PlayerID: pid("new"), At: t0 + idle}, game.ErrRoomFull, ""},
		{"the host idle just long enough", nil, game.Join{Room: "ABCDE", Player: "new", PlayerID: pid("new"), At: t0 + idle + 1}, nil, "host"},
		{"all idle: the longest goes", nil, game.Guess{Room: "ABCDE", Player: "new", PlayerID: pid("new"), Letter: "e", At: t0 + 10*idle}, nil, "host"},
		{"the host was active: the next idlest goes", []game.Command{
			game.NextRound{Room: "ABCDE", Player: "host", PlayerID: pid("host"), Word: "hello", At: t0 + idle},
		}, game.Join{Room: "ABCDE", Player: "new", PlayerID: pid("new"), At: t0 + idle + 2}, nil, "p01"},
		{"a player of record still plays", nil, game.Guess{Room: "ABCDE", Player: "p05", PlayerID: pid("p05"), Letter: "e", At: t0 + 100}, nil, ""},
		{"a leaver frees a seat", []game.Command{
			game.Leave{Room: "ABCDE", PlayerID: pid("p07"), At: t0 + 100},
		}, game.Join{Room: "ABCDE", Player: "new", PlayerID: pid("new"), At: t0 + 101}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := full(t)
			for _, c := range tt.before {
				mustApply(t, s, c)
			}
			before := room(t, s, "ABCDE")
			res, err := s.Apply(tt.cmd)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Apply = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			r := res.Room
			if len(r.Players) > game.MaxPlayersPerRoom {
				t.Fatalf("%d players, more than %d", len(r.Players), game.MaxPlayersPerRoom)
			}
			if tt.evicted != "" {
				if _, ok := r.Player(tt.evicted); ok {
					t.Errorf("%s is still a player of record", tt.evicted)
				}
				if len(r.Players) != len(before.Players) {
					t.Errorf("%d players, want %d", len(r.Players), len(before.Players))
				}
				// The room keeps a host of record.
				if _, ok := r.PlayerByID(r.HostID); !ok {
					t.Errorf("host %s is not a player of record", r.HostID)
				}
			}
			for _, p := range before.Players {
				if _, ok := r.PlayerByID(p.ID); !ok && p.Name != tt.evicted {
					t.Errorf("%s lost its seat, want only %q to", p.Name, tt.evicted)
				}
			}
		})
	}
}
