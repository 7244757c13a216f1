package frontend_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

// matchRoom is a room of the JSON API with its match and countdown.
type matchRoom struct {
	room
	Rounds             int   `json:"rounds"`
	Match              int   `json:"match"`
	MatchOver          bool  `json:"match_over"`
	Private            bool  `json:"private"`
	TurnSeconds        int   `json:"turn_seconds"`
	TurnDeadlineUnixMs int64 `json:"turn_deadline_unix_ms"`
	Log                []struct {
		Player  string `json:"player"`
		Letter  string `json:"letter"`
		Hit     bool   `json:"hit"`
		Timeout bool   `json:"timeout"`
	} `json:"log"`
}

// wsError is an error a socket answers with, message included.
type wsError struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// wsErrorTo reads c until the answer to request id and decodes it as an
// error, failing unless it is one.
func wsErrorTo(t *testing.T, c *websocket.Conn, msg any, id string) wsError {
	t.Helper()
	if err := c.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	for {
		m, data := readMsg(t, c)
		if m.Type == "state" {
			continue
		}
		var e wsError
		if err := json.Unmarshal(data, &e); err != nil || e.Type != "error" || e.RequestID != id {
			t.Fatalf("waiting for the error answering %s: got %s", id, data)
		}
		return e
	}
}

// TestHostWatchesCustomWord: in a custom-word room the host chose the
// word, so the host's guesses are refused with 403 host_watches (over the
// API and the websocket) and change nothing, while the others guess; in a
// room with a word from a category the host guesses like anyone.
func TestHostWatchesCustomWord(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana, bo := newPlayer(t, base, "ana"), newPlayer(t, base, "bo")
	var custom, listed room
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"word": "ox"}, http.StatusCreated, &custom)
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"category": "animals"}, http.StatusCreated, &listed)

	const want = "You chose this word, so you watch this round: the others guess."
	resp, err := doAs(ana.Token, "POST", base+"/api/rooms/"+custom.ID+"/guesses", map[string]any{"letter": "o", "request_id": "a-1"})
	if err != nil {
		t.Fatal(err)
	}
	var e apiErr
	if resp.Status != http.StatusForbidden || resp.JSON(&e) != nil || e.Error.Code != "host_watches" || e.Error.Message != want {
		t.Fatalf("the host's guess: %d %s, want 403 host_watches %q", resp.Status, resp.Body, want)
	}
	c := dialWS(t, base, custom.ID, ana.Token)
	if m := wsErrorTo(t, c, map[string]any{"type": "guess", "letter": "x", "request_id": "a-2"}, "a-2"); m.Code != "host_watches" || m.Message != want {
		t.Errorf("the host's guess on the socket: %+v, want host_watches %q", m, want)
	}
	if r := getRoom(t, base, custom.ID); len(r.Guessed) != 0 {
		t.Errorf("the host's refused guesses were applied: %v", r.Guessed)
	}
	mustDoAs(t, bo, "POST", base+"/api/rooms/"+custom.ID+"/guesses", map[string]any{"letter": "o", "request_id": "b-1"}, http.StatusOK, nil)
	mustDoAs(t, ana, "POST", base+"/api/rooms/"+listed.ID+"/guesses", map[string]any{"letter": "e", "request_id": "a-3"}, http.StatusOK, nil)
}

// TestPrivateRoomsAreNotListed: a private room is listed neither by the
// JSON API nor on the home page, and is reached by its code all the same.
func TestPrivateRoomsAreNotListed(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana := newPlayer(t, base, "ana")
	var public, private matchRoom
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"category": "animals"}, http.StatusCreated, &public)
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"category": "animals", "private": true}, http.StatusCreated, &private)
	if public.Private || !private.Private {
		t.Fatalf("private: %v and %v, want false and true", public.Private, private.Private)
	}
	for _, q := range []string{"", "?level=stale", "?limit=1"} {
		var list struct {
			Rooms []matchRoom `json:"rooms"`
		}
		mustDo(t, "GET", base+"/api/rooms"+q, nil, http.StatusOK, &list)
		var ids []string
		for _, r := range list.Rooms {
			ids = append(ids, r.ID)
		}
		if slices.Contains(ids, private.ID) || (q != "?limit=1" && !slices.Contains(ids, public.ID)) {
			t.Errorf("GET /api/rooms%s lists %v: want %s and never the private %s", q, ids, public.ID, private.ID)
		}
	}
	home := getPage(t, httpClient, base+"/")
	if strings.Contains(home, private.ID) || !strings.Contains(home, public.ID) {
		t.Errorf("the home page lists the private room %s, or not the public %s", private.ID, public.ID)
	}
	var byCode matchRoom
	mustDo(t, "GET", base+"/api/rooms/"+private.ID, nil, http.StatusOK, &byCode)
	if byCode.ID != private.ID || !byCode.Private {
		t.Errorf("the private room by its code: %+v", byCode)
	}
}

// TestMatchAndRematch plays a match of one round through the JSON API,
// the websocket and a form: once it is over a next round is refused with
// match_over; the host's rematch (only the host's) keeps the players,
// sets their points back to 0 and starts match 2, and sent again it is
// answered as the first time.
func TestMatchAndRematch(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana, bo := newPlayer(t, base, "ana"), newPlayer(t, base, "bo")
	var r matchRoom
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"word": "ox", "rounds": 1}, http.StatusCreated, &r)
	if r.Rounds != 1 || r.Match != 1 || r.MatchOver {
		t.Fatalf("created: rounds %d, match %d, over %v; want 1, 1, false", r.Rounds, r.Match, r.MatchOver)
	}
	// Not before the match is over.
	resp, err := doAs(ana.Token, "POST", base+"/api/rooms/"+r.ID+"/rematches", map[string]any{"match": 1})
	if err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, resp, "match_not_over")
	resp, err = doAs(ana.Token, "POST", base+"/api/rooms/"+r.ID+"/rounds", map[string]any{"round": 1})
	if err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, resp, "last_round")

	for i, l := range []string{"o", "x"} {
		mustDoAs(t, bo, "POST", base+"/api/rooms/"+r.ID+"/guesses", map[string]any{"letter": l, "request_id": "b-" + l}, http.StatusOK, &r)
		if over := i == 1; r.MatchOver != over {
			t.Fatalf("after %s: match over %v, want %v", l, r.MatchOver, over)
		}
	}
	resp, err = doAs(ana.Token, "POST", base+"/api/rooms/"+r.ID+"/rounds", map[string]any{"round": 1})
	if err != nil {
		t.Fatal(err)
	}
	var e apiErr
	if resp.Status != http.StatusConflict || resp.JSON(&e) != nil || e.Error.Code != "match_over" || e.Error.Message != "The match is over: start a rematch." {
		t.Fatalf("next round after the match: %d %s, want 409 match_over", resp.Status, resp.Body)
	}
	resp, err = doAs(bo.Token, "POST", base+"/api/rooms/"+r.ID+"/rematches", map[string]any{"match": 1})
	if err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, resp, "forbidden")
	c := dialWS(t, base, r.ID, bo.Token)
	if m := wsErrorTo(t, c, map[string]any{"type": "rematch", "match": 1, "request_id": "b-r"}, "b-r"); m.Code != "forbidden" {
		t.Errorf("bo's rematch on the socket: %+v, want forbidden", m)
	}

	var first, again matchRoom
	mustDoAs(t, ana, "POST", base+"/api/rooms/"+r.ID+"/rematches", map[string]any{"match": 1, "word": "yak"}, http.StatusOK, &first)
	if first.Match != 2 || first.Round != 1 || first.MatchOver || first.Status != "playing" || first.Word != nil {
		t.Errorf("after the rematch: %+v", first)
	}
	for _, p := range first.Players {
		if p.Points != 0 {
			t.Errorf("player %s has %d points in the new match, want 0", p.Name, p.Points)
		}
	}
	if got := playerNames(first.room); !slices.Equal(got, []string{"ana", "bo"}) {
		t.Errorf("players %v after the rematch, want [ana bo]", got)
	}
	mustDoAs(t, ana, "POST", base+"/api/rooms/"+r.ID+"/rematches", map[string]any{"match": 1, "word": "yak"}, http.StatusOK, &again)
	if again.Version != first.Version || again.Match != 2 {
		t.Errorf("the rematch sent again: version %d match %d, want the first answer, version %d", again.Version, again.Match, first.Version)
	}

	// Match 2 ends too; the host's form starts match 3, and the page is
	// where the form goes back to.
	for _, l := range []string{"y", "a", "k"} {
		mustDoAs(t, bo, "POST", base+"/api/rooms/"+r.ID+"/guesses", map[string]any{"letter": l, "request_id": "b2-" + l}, http.StatusOK, nil)
	}
	req, err := http.NewRequest("POST", base+"/rooms/"+r.ID+"/rematches", strings.NewReader(url.Values{"match": {"2"}, "word": {"emu"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "gallows_session="+ana.Token)
	res, err := noRedirects(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/rooms/"+r.ID {
		t.Errorf("the rematch form: %d to %q, want 303 to the room", res.StatusCode, res.Header.Get("Location"))
	}
	var third matchRoom
	mustDo(t, "GET", base+"/api/rooms/"+r.ID, nil, http.StatusOK, &third)
	if third.Match != 3 || third.Round != 1 {
		t.Errorf("after the rematch form: match %d round %d, want match 3 round 1", third.Match, third.Round)
	}
}

// TestTurnTimeout: a room with a countdown says when the turn runs out;
// a timeout before then is refused with turn_not_over; after it, the
// first timeout for the room's version costs a life and logs the turn,
// and the same timeout again (another tab's) is refused.
func TestTurnTimeout(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana, bo := newPlayer(t, base, "ana"), newPlayer(t, base, "bo")
	var r matchRoom
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"category": "animals", "turn_seconds": 10}, http.StatusCreated, &r)
	if r.TurnSeconds != 10 || r.TurnDeadlineUnixMs == 0 {
		t.Fatalf("created: turn %d s, deadline %d; want 10 s and a deadline", r.TurnSeconds, r.TurnDeadlineUnixMs)
	}
	resp, err := doAs(bo.Token, "POST", base+"/api/rooms/"+r.ID+"/timeouts", map[string]any{"version": r.Version})
	if err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, resp, "turn_not_over")
	c := dialWS(t, base, r.ID, bo.Token)
	waitState(t, c, r.Version+1) // bo joined as the socket opened
	if m := wsErrorTo(t, c, map[string]any{"type": "timeout", "version": r.Version + 1, "request_id": "t-1"}, "t-1"); m.Code != "turn_not_over" {
		t.Errorf("an early timeout on the socket: %+v, want turn_not_over", m)
	}

	localtest.Poll(t, 20*time.Second, "the turn's deadline", func() bool { return time.Now().UnixMilli() >= r.TurnDeadlineUnixMs })
	version := r.Version + 1
	var after matchRoom
	mustDoAs(t, bo, "POST", base+"/api/rooms/"+r.ID+"/timeouts", map[string]any{"version": version}, http.StatusOK, &after)
	if after.LivesLeft != after.MaxLives-1 || after.Version != version+1 || len(after.Log) != 1 || !after.Log[0].Timeout || after.Log[0].Player != "" {
		t.Errorf("after the timeout: lives %d of %d, version %d, log %+v; want a life less, version %d, a timeout logged",
			after.LivesLeft, after.MaxLives, after.Version, after.Log, version+1)
	}
	if after.TurnDeadlineUnixMs < r.TurnDeadlineUnixMs+10_000 {
		t.Errorf("next deadline %d, want 10 s after the timeout, at least %d", after.TurnDeadlineUnixMs, r.TurnDeadlineUnixMs+10_000)
	}
	resp, err = doAs(ana.Token, "POST", base+"/api/rooms/"+r.ID+"/timeouts", map[string]any{"version": version})
	if err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, resp, "turn_not_over")
}
