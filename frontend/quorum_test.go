package frontend_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

// electionScale slows the backends' Raft timeouts down 50 times: a
// follower waits 10 to 20 s without a leader before it stands, so once
// the leader is killed no leader is elected before the frontend's game
// client gives up on a write (8 s).
const electionScale = 50

// downIn counts the backends the frontend's cluster panel reports down.
func downIn(t *testing.T, base string) int {
	t.Helper()
	var st struct {
		Nodes []struct {
			Role string `json:"role"`
		} `json:"nodes"`
	}
	mustDo(t, "GET", base+"/api/cluster", nil, http.StatusOK, &st)
	n := 0
	for _, node := range st.Nodes {
		if node.Role == "down" {
			n++
		}
	}
	return n
}

// refusedGuess sends ana's guess of letter over the JSON API and, at the
// same time, over her socket, and returns both refusals (the API's
// status, code and message; the socket's code and message).
func refusedGuess(t *testing.T, base, room string, ana apiPlayer, c *websocket.Conn, letter string) (int, apiErr, wsError) {
	t.Helper()
	type answer struct {
		resp response
		err  error
	}
	api := make(chan answer, 1)
	go func() {
		resp, err := doAs(ana.Token, "POST", base+"/api/rooms/"+room+"/guesses", map[string]any{"letter": letter, "request_id": "api-" + letter})
		api <- answer{resp, err}
	}()
	ws := wsErrorTo(t, c, map[string]any{"type": "guess", "letter": letter, "request_id": "ws-" + letter}, "ws-"+letter)
	a := <-api
	if a.err != nil {
		t.Fatal(a.err)
	}
	var e apiErr
	if err := a.resp.JSON(&e); err != nil {
		t.Fatal(err)
	}
	return a.resp.Status, e, ws
}

// TestQuorumLossIsReportedHonestly: a write the cluster cannot commit is
// refused with 503 and what is going on. With a majority of the game
// servers up but no leader yet (the leader killed, before its successor
// is elected) it is no_quorum, a leader is on its way; with fewer than a
// majority up (a second backend killed) it is no_majority, with how many
// are up. A socket's refusal carries the same code.
func TestQuorumLossIsReportedHonestly(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1,
		Backend: func(bc *backend.Config) { bc.TimeoutScale = electionScale }})
	base := s.URLs()[0]
	ana, host := newPlayer(t, base, "ana"), newPlayer(t, base, "host")
	var r room
	mustDoAs(t, host, "POST", base+"/api/rooms", map[string]any{"word": "majority"}, http.StatusCreated, &r)
	c := dialWS(t, base, r.ID, ana.Token)
	waitState(t, c, r.Version+1) // ana joined as the socket opened

	leader := s.Leader().ID()
	s.Kill(leader)
	localtest.Poll(t, 10*time.Second, "the frontend to see the leader down", func() bool { return downIn(t, base) == 1 })
	status, apiErr, wsErr := refusedGuess(t, base, r.ID, ana, c, "m")
	const electing = "Electing a new leader: your guess will be sent again."
	if status != http.StatusServiceUnavailable || apiErr.Error.Code != "no_quorum" || apiErr.Error.Message != electing {
		t.Errorf("with 2 of 3 up and no leader: %d %+v, want 503 no_quorum %q", status, apiErr.Error, electing)
	}
	if wsErr.Code != "no_quorum" || wsErr.Message != electing {
		t.Errorf("on the socket, with 2 of 3 up and no leader: %+v, want no_quorum", wsErr)
	}

	s.Kill(s.Running()[0].ID()) // one of the two left
	localtest.Poll(t, 10*time.Second, "the frontend to see two backends down", func() bool { return downIn(t, base) == 2 })
	status, apiErr, wsErr = refusedGuess(t, base, r.ID, ana, c, "j")
	const waiting = "1 of 3 game servers up: waiting for a majority."
	if status != http.StatusServiceUnavailable || apiErr.Error.Code != "no_majority" || apiErr.Error.Message != waiting {
		t.Errorf("with 1 of 3 up: %d %+v, want 503 no_majority %q", status, apiErr.Error, waiting)
	}
	if wsErr.Code != "no_majority" || wsErr.Message != waiting {
		t.Errorf("on the socket, with 1 of 3 up: %+v, want no_majority %q", wsErr, waiting)
	}
}
