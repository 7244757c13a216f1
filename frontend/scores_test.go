package frontend_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gallows-game/gallows/frontend"
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
	ana, host := newPlayer(t, base, "ana"), newPlayer(t, base, "host")
	var r room
	mustDoAs(t, host, "POST", base+"/api/rooms", map[string]any{"word": "abc"}, http.StatusCreated, &r)
	mustDoAs(t, ana, "POST", base+"/api/rooms/"+r.ID+"/guesses", map[string]string{"letter": "a", "request_id": "g-1"}, http.StatusOK, nil)
	var played room
	mustDo(t, "GET", base+"/api/rooms/"+r.ID, nil, http.StatusOK, &played)
	want := played.Players[1].Points
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

// presenceOf lists who is online in room according to the frontend at base
// (nil if the request fails).
func presenceOf(base, room string) []string {
	resp, err := do("GET", base+"/api/rooms/"+room+"/presence", nil)
	if err != nil || resp.Status != http.StatusOK {
		return nil
	}
	var p struct {
		Online []struct {
			Player string `json:"player"`
		} `json:"online"`
	}
	if err := resp.JSON(&p); err != nil {
		return nil
	}
	out := []string{}
	for _, o := range p.Online {
		out = append(out, o.Player)
	}
	return out
}

// onlineIn reports whether name shows online in the room HTML of a state
// message.
func onlineIn(html, name string) bool {
	return strings.Contains(html, `data-player-name="`+name+`" data-online="true"`)
}

// A player with a tab open on one frontend shows online on the other,
// through the backends' gossip, in the API and in the other tab's live
// room; when that frontend dies the player turns offline within 15 s,
// and online again once their tab reconnects to the other frontend.
func TestPresenceAcrossFrontends(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 2})
	f1, f2 := s.URLs()[0], s.URLs()[1]
	ana, bo := newPlayer(t, f1, "ana"), newPlayer(t, f2, "bo")
	var r room
	mustDoAs(t, ana, "POST", f1+"/api/rooms", map[string]any{"word": "presence"}, http.StatusCreated, &r)
	dialWS(t, f1, r.ID, ana.Token)
	boTab := dialWS(t, f2, r.ID, bo.Token)

	localtest.Poll(t, 10*time.Second, "ana and bo online, seen from f2", func() bool {
		return slices.Equal(presenceOf(f2, r.ID), []string{"ana", "bo"})
	})
	waitFor := func(what string, cond func(html string) bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			m, _ := readMsg(t, boTab)
			if m.Type == "state" && cond(m.HTML) {
				return
			}
		}
		t.Fatalf("bo's tab never showed %s", what)
	}
	waitFor("ana online", func(html string) bool { return onlineIn(html, "ana") })

	if err := s.KillFrontend(0); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitFor("ana offline", func(html string) bool {
		return strings.Contains(html, `data-player-name="ana"`) && !onlineIn(html, "ana")
	})
	if gone := time.Since(killed); gone > 15*time.Second {
		t.Errorf("ana turned offline %v after her frontend died, want within 15 s", gone)
	}
	dialWS(t, f2, r.ID, ana.Token)
	waitFor("ana online again", func(html string) bool { return onlineIn(html, "ana") })
}

// Two frontends started with the same --id each report their own players:
// neither hides the other's.
func TestPresenceWithTwoFrontendsOfOneID(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 2, Frontend: func(fc *frontend.Config) { fc.ID = "f1" }})
	f1, f2 := s.URLs()[0], s.URLs()[1]
	ana, bo := newPlayer(t, f1, "ana"), newPlayer(t, f2, "bo")
	var r room
	mustDoAs(t, ana, "POST", f1+"/api/rooms", map[string]any{"word": "presence"}, http.StatusCreated, &r)
	dialWS(t, f1, r.ID, ana.Token)
	dialWS(t, f2, r.ID, bo.Token)
	localtest.Poll(t, 10*time.Second, "ana and bo online through frontends of one id", func() bool {
		return slices.Equal(presenceOf(f1, r.ID), []string{"ana", "bo"}) && slices.Equal(presenceOf(f2, r.ID), []string{"ana", "bo"})
	})
}
