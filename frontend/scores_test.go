package frontend_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

type leaderboardReply struct {
	Entries []struct {
		Rank   int    `json:"rank"`
		Name   string `json:"name"`
		Points int    `json:"points"`
		Rooms  int    `json:"rooms"`
	} `json:"entries"`
}

// pointsOf is name's points on the leaderboard of the frontend at base,
// or -1 if it is not there or the request fails.
func pointsOf(base, name string) int {
	resp, err := do("GET", base+"/api/leaderboard", nil)
	if err != nil || resp.Status != http.StatusOK {
		return -1
	}
	var lb leaderboardReply
	if err := resp.JSON(&lb); err != nil {
		return -1
	}
	for _, e := range lb.Entries {
		if e.Name == name {
			return e.Points
		}
	}
	return -1
}

// The leaderboard comes from the backends' scores gossip: a player's game
// points show under their name, and it stays readable, and live, with two
// of three backends down.
func TestLeaderboardWorksWithoutQuorum(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana := newPlayer(t, base, "ana")
	var r room
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"word": "abc"}, http.StatusCreated, &r)
	mustDoAs(t, ana, "POST", base+"/api/rooms/"+r.ID+"/guesses", map[string]string{"letter": "a", "request_id": "g-1"}, http.StatusOK, nil)
	var played room
	mustDo(t, "GET", base+"/api/rooms/"+r.ID, nil, http.StatusOK, &played)
	want := played.Players[0].Points
	if want == 0 {
		t.Fatalf("ana has no points after a hit: %+v", played.Players)
	}
	localtest.Poll(t, 10*time.Second, "ana's points on the leaderboard", func() bool { return pointsOf(base, "ana") == want })

	leader := s.Leader()
	survivor := ""
	for _, n := range s.Running() {
		if n.ID() != leader.ID() && survivor == "" {
			survivor = n.ID()
		}
	}
	for _, n := range s.Running() {
		if n.ID() != survivor {
			s.Kill(n.ID())
		}
	}
	if _, err := s.ScoresClient(survivor).Write(localtest.Context(t, 5*time.Second),
		&pb.ScoreWrite{PlayerId: ana.ID, Change: &pb.ScoreWrite_Add{Add: 1000}}); err != nil {
		t.Fatalf("add to ana's score on %s without quorum: %v", survivor, err)
	}
	localtest.Poll(t, 15*time.Second, "the leaderboard to show the add made without quorum", func() bool {
		return pointsOf(base, "ana") == want+1000
	})
}
