package frontend_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

type room struct {
	ID        string   `json:"id"`
	Version   uint64   `json:"version"`
	Round     int      `json:"round"`
	Status    string   `json:"status"`
	Masked    string   `json:"masked"`
	LivesLeft int      `json:"lives_left"`
	MaxLives  int      `json:"max_lives"`
	Guessed   []string `json:"guessed"`
	Wrong     []string `json:"wrong"`
	Players   []struct {
		Name   string `json:"name"`
		Points int    `json:"points"`
	} `json:"players"`
	Log []struct {
		Player string `json:"player"`
		Letter string `json:"letter"`
		Hit    bool   `json:"hit"`
	} `json:"log"`
	Word *string `json:"word"`
}

type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// httpClient sends the tests' HTTP requests.
var httpClient = &http.Client{Timeout: 20 * time.Second}

// response is an HTTP answer, read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %q: %w", r.Body, err)
	}
	return nil
}

// do sends a request with an optional JSON body and reads the answer.
func do(method, url string, body any) (response, error) {
	return doAs("", method, url, body)
}

// doAs is do as the session of token: its "Authorization: Bearer" header
// (none if token is empty).
func doAs(token, method, url string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// mustDo is do, failing the test unless the answer has wantStatus; out,
// when set, receives the decoded JSON body.
func mustDo(t *testing.T, method, url string, body any, wantStatus int, out any) response {
	t.Helper()
	return mustDoAs(t, apiPlayer{}, method, url, body, wantStatus, out)
}

// apiPlayer is a session as POST /api/players answers it.
type apiPlayer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

// newPlayer starts a session named name on the frontend at base.
func newPlayer(t *testing.T, base, name string) apiPlayer {
	t.Helper()
	var p apiPlayer
	mustDo(t, "POST", base+"/api/players", map[string]string{"name": name}, http.StatusCreated, &p)
	if p.ID == "" || p.Name != strings.TrimSpace(name) || p.Token == "" {
		t.Fatalf("POST /api/players %q = %+v", name, p)
	}
	return p
}

// mustDoAs is mustDo as player p (no session if p is zero).
func mustDoAs(t *testing.T, p apiPlayer, method, url string, body any, wantStatus int, out any) response {
	t.Helper()
	resp, err := doAs(p.Token, method, url, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if resp.Status != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.Status, wantStatus, resp.Body)
	}
	if out != nil {
		if err := resp.JSON(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp
}

func TestJSONAPI(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana, bo := newPlayer(t, base, "ana"), newPlayer(t, base, "bo")

	var r room
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"category": "animals", "difficulty": "easy"}, http.StatusCreated, &r)
	if r.ID == "" || r.Version != 1 || r.Round != 1 || r.Status != "playing" || r.Word != nil || r.LivesLeft != 6 || r.MaxLives != 6 {
		t.Fatalf("created room = %+v", r)
	}
	if len(r.Players) != 1 || r.Players[0].Name != "ana" {
		t.Errorf("created room's players = %+v, want the session, ana", r.Players)
	}
	if r.Guessed == nil || r.Wrong == nil || r.Log == nil {
		t.Errorf("empty lists must be [], not null: %+v", r)
	}
	var got room
	mustDo(t, "GET", base+"/api/rooms/"+r.ID, nil, http.StatusOK, &got)
	if got.ID != r.ID || got.Masked != r.Masked {
		t.Errorf("GET room = %+v, want %+v", got, r)
	}
	var list struct {
		Rooms []room `json:"rooms"`
	}
	mustDo(t, "GET", base+"/api/rooms", nil, http.StatusOK, &list)
	if len(list.Rooms) != 1 || list.Rooms[0].ID != r.ID {
		t.Errorf("list = %+v", list)
	}

	var g room
	mustDoAs(t, ana, "POST", base+"/api/rooms/"+r.ID+"/guesses", map[string]string{"letter": "E", "request_id": "r-1"}, http.StatusOK, &g)
	if g.Version != 2 || len(g.Log) != 1 || g.Log[0].Player != "ana" || g.Log[0].Letter != "e" {
		t.Errorf("after guess: %+v", g)
	}
	// The same request again is applied once.
	var again room
	mustDoAs(t, ana, "POST", base+"/api/rooms/"+r.ID+"/guesses", map[string]string{"letter": "E", "request_id": "r-1"}, http.StatusOK, &again)
	if again.Version != 2 || len(again.Log) != 1 {
		t.Errorf("retried guess applied again: %+v", again)
	}

	// A create sent again with its request_id returns the first room.
	var c1, c2 room
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"word": "retry", "request_id": "c-1"}, http.StatusCreated, &c1)
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"word": "retry", "request_id": "c-1"}, http.StatusCreated, &c2)
	if c1.ID == "" || c2.ID != c1.ID {
		t.Errorf("a create sent twice made rooms %q and %q", c1.ID, c2.ID)
	}

	errCases := []struct {
		name   string
		as     apiPlayer
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"invalid letter", ana, "POST", "/api/rooms/" + r.ID + "/guesses", map[string]string{"letter": "7"}, 400, "invalid_letter"},
		{"two letters", ana, "POST", "/api/rooms/" + r.ID + "/guesses", map[string]string{"letter": "ab"}, 400, "invalid_letter"},
		{"already guessed", bo, "POST", "/api/rooms/" + r.ID + "/guesses", map[string]string{"letter": "e"}, 409, "already_guessed"},
		{"unknown room", apiPlayer{}, "GET", "/api/rooms/ZZZZZ", nil, 404, "not_found"},
		{"guess in unknown room", ana, "POST", "/api/rooms/ZZZZZ/guesses", map[string]string{"letter": "a"}, 404, "not_found"},
		{"unknown field", ana, "POST", "/api/rooms/" + r.ID + "/guesses", map[string]string{"letter": "a", "evil": "1"}, 400, "bad_request"},
		{"a player named in the body", bo, "POST", "/api/rooms/" + r.ID + "/guesses", map[string]string{"player": "ana", "letter": "a"}, 400, "bad_request"},
		{"unknown category", ana, "POST", "/api/rooms", map[string]string{"category": "nope"}, 400, "bad_request"},
		{"next round by another than the host", bo, "POST", "/api/rooms/" + r.ID + "/rounds", map[string]any{"round": 1}, 403, "forbidden"},
		{"guess without a session", apiPlayer{}, "POST", "/api/rooms/" + r.ID + "/guesses", map[string]string{"letter": "a"}, 401, "unauthorized"},
		{"bad nickname", apiPlayer{}, "POST", "/api/players", map[string]string{"name": " "}, 400, "bad_request"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			mustDoAs(t, tc.as, tc.method, base+tc.path, tc.body, tc.status, &e)
			if e.Error.Code != tc.code || e.Error.Message == "" {
				t.Errorf("error = %+v, want code %q with a message", e, tc.code)
			}
		})
	}
	var after room
	mustDo(t, "GET", base+"/api/rooms/"+r.ID, nil, http.StatusOK, &after)
	if after.Version != 2 {
		t.Errorf("refused requests changed the room: version %d, want 2", after.Version)
	}

	var cl struct {
		Leader string `json:"leader"`
		Nodes  []struct {
			ID, Role, Status        string
			Term                    uint64
			LastIndex, AppliedIndex uint64 `json:"-"`
		} `json:"nodes"`
	}
	mustDo(t, "GET", base+"/api/cluster", nil, http.StatusOK, &cl)
	if cl.Leader == "" || len(cl.Nodes) != 3 {
		t.Errorf("cluster = %+v", cl)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		mustDo(t, "GET", base+p, nil, http.StatusOK, nil)
	}
}

// wsURL is the websocket URL of a room on a frontend.
func wsURL(base, roomID string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/ws/rooms/" + roomID
}

// dialWS opens a room's websocket as a page of base would, with the
// session cookie of token (none if empty).
func dialWS(t *testing.T, base, roomID, token string) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	h.Set("Origin", base)
	if token != "" {
		h.Set("Cookie", "gallows_session="+token)
	}
	c, resp, err := websocket.DefaultDialer.Dial(wsURL(base, roomID), h)
	if err != nil {
		t.Fatalf("dial websocket: %v (response %v)", err, resp)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type wsMsg struct {
	Type      string `json:"type"`
	Version   uint64 `json:"version"`
	HTML      string `json:"html"`
	RequestID string `json:"request_id"`
	Code      string `json:"code"`
}

func readMsg(t *testing.T, c *websocket.Conn) (wsMsg, []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read websocket: %v", err)
	}
	var m wsMsg
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("websocket message %q: %v", data, err)
	}
	return m, data
}

func TestSecretWordNeverLeaksBeforeRoundEnds(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 2})
	const word = "quixotic"
	ana, bo := newPlayer(t, s.URLs()[0], "ana"), newPlayer(t, s.URLs()[1], "bo")
	var r room
	mustDoAs(t, ana, "POST", s.URLs()[0]+"/api/rooms", map[string]any{"word": word, "max_lives": 3}, http.StatusCreated, &r)

	var seen [][]byte // every byte the frontends sent while the round was on
	watch := dialWS(t, s.URLs()[1], r.ID, bo.Token)
	_, first := readMsg(t, watch)
	seen = append(seen, first)
	fetch := func() {
		for _, u := range s.URLs() {
			for _, p := range []string{"/", "/rooms/" + r.ID, "/api/rooms", "/api/rooms/" + r.ID, "/leaderboard", "/api/leaderboard", "/cluster"} {
				resp, err := do("GET", u+p, nil)
				if err != nil {
					t.Fatal(err)
				}
				seen = append(seen, resp.Body)
			}
		}
	}
	fetch()
	// Three wrong letters lose the round; watch every message on the way.
	for i, l := range []string{"q", "z", "y", "w"} {
		var g room
		resp := mustDoAs(t, bo, "POST", s.URLs()[i%2]+"/api/rooms/"+r.ID+"/guesses",
			map[string]string{"letter": l, "request_id": fmt.Sprint("s-", i)}, http.StatusOK, &g)
		if g.Status != "playing" {
			break
		}
		seen = append(seen, resp.Body)
		for {
			m, data := readMsg(t, watch)
			seen = append(seen, data)
			if m.Version >= g.Version {
				break
			}
		}
		fetch()
	}
	for i, b := range seen {
		if strings.Contains(strings.ToLower(string(b)), word) {
			t.Fatalf("response %d leaked the secret word before the round ended: %.300s", i, b)
		}
	}
	// Once the round is lost the word is shown.
	var end room
	mustDo(t, "GET", s.URLs()[0]+"/api/rooms/"+r.ID, nil, http.StatusOK, &end)
	if end.Status != "lost" || end.Word == nil || *end.Word != word {
		t.Fatalf("after losing: status %s word %v, want lost with %q", end.Status, end.Word, word)
	}
	for {
		m, data := readMsg(t, watch)
		if m.Version == end.Version {
			if !strings.Contains(string(data), word) {
				t.Errorf("final websocket state does not reveal the word: %.300s", data)
			}
			break
		}
	}
	if len(seen) < 20 {
		t.Fatalf("only %d responses checked", len(seen))
	}
}

func TestWebsocketGuessAckAndState(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 2})
	ana, bo := newPlayer(t, s.URLs()[0], "ana"), newPlayer(t, s.URLs()[1], "bo")
	// The host chose the word, so watches: ana and bo guess.
	host := newPlayer(t, s.URLs()[0], "host")
	var r room
	mustDoAs(t, host, "POST", s.URLs()[0]+"/api/rooms", map[string]any{"word": "ox"}, http.StatusCreated, &r)
	a := dialWS(t, s.URLs()[0], r.ID, ana.Token)
	waitState(t, a, r.Version+1)
	b := dialWS(t, s.URLs()[1], r.ID, bo.Token)
	// Each socket made its player a player of record as it opened:
	// version 3.
	r.Version += 2
	for _, c := range []*websocket.Conn{a, b} {
		waitState(t, c, r.Version)
	}
	if err := a.WriteJSON(map[string]string{"type": "guess", "letter": "o", "request_id": "tab1-1"}); err != nil {
		t.Fatal(err)
	}
	gotAck, gotState := false, false
	for !gotAck || !gotState {
		m, _ := readMsg(t, a)
		switch {
		case m.Type == "ack" && m.RequestID == "tab1-1" && m.Version == r.Version+1:
			gotAck = true
		case m.Type == "state" && m.Version == r.Version+1:
			gotState = true
		default:
			t.Fatalf("unexpected message %+v", m)
		}
	}
	// The other frontend's tab sees the same state, and no ack.
	if m, _ := readMsg(t, b); m.Type != "state" || m.Version != r.Version+1 {
		t.Fatalf("other tab got %+v", m)
	}
	// A refused guess is answered to its tab alone with the documented code.
	if err := a.WriteJSON(map[string]string{"type": "guess", "letter": "%", "request_id": "tab1-2"}); err != nil {
		t.Fatal(err)
	}
	if m, _ := readMsg(t, a); m.Type != "error" || m.Code != "invalid_letter" || m.RequestID != "tab1-2" {
		t.Fatalf("invalid letter answered with %+v", m)
	}
}

// waitState reads c until it brings the room's state at version.
func waitState(t *testing.T, c *websocket.Conn, version uint64) {
	t.Helper()
	for {
		m, data := readMsg(t, c)
		switch {
		case m.Type == "state" && m.Version == version:
			return
		case m.Type != "state" || m.Version > version:
			t.Fatalf("waiting for the state at version %d: got %s", version, data)
		}
	}
}

// answerTo reads c until the ack or error of request id, skipping states.
func answerTo(t *testing.T, c *websocket.Conn, id string) wsMsg {
	t.Helper()
	for {
		m, data := readMsg(t, c)
		switch {
		case m.Type == "state":
		case m.RequestID == id:
			return m
		default:
			t.Fatalf("waiting for the answer to %s: got %s", id, data)
		}
	}
}

// A tab that lost its socket sends its unacknowledged guesses again, with
// their request ids and the round they were made in. One whose first
// sending was applied, sent once the round is over, is refused, not
// applied to the next round, even after another guess of the same player.
func TestWebsocketGuessSentAgainAfterTheRoundIsNotApplied(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana, host := newPlayer(t, base, "ana"), newPlayer(t, base, "host")
	var r room
	mustDoAs(t, host, "POST", base+"/api/rooms", map[string]any{"word": "ox"}, http.StatusCreated, &r)
	tab1, tab2 := dialWS(t, base, r.ID, ana.Token), dialWS(t, base, r.ID, ana.Token)
	for _, c := range []*websocket.Conn{tab1, tab2} {
		if m, _ := readMsg(t, c); m.Type != "state" {
			t.Fatalf("first message = %+v, want the state", m)
		}
	}
	send := func(c *websocket.Conn, letter, id string, round int) wsMsg {
		t.Helper()
		if err := c.WriteJSON(map[string]any{"type": "guess", "letter": letter, "request_id": id, "round": round}); err != nil {
			t.Fatal(err)
		}
		return answerTo(t, c, id)
	}
	if m := send(tab1, "o", "tab1-1", 1); m.Type != "ack" {
		t.Fatalf("first guess: %+v", m)
	}
	if m := send(tab2, "x", "tab2-1", 1); m.Type != "ack" {
		t.Fatalf("second guess: %+v", m)
	}
	var next room
	mustDoAs(t, host, "POST", base+"/api/rooms/"+r.ID+"/rounds", map[string]any{"round": 1, "word": "oak"}, http.StatusOK, &next)
	if next.Round != 2 {
		t.Fatalf("round %d after next round, want 2", next.Round)
	}
	// Tab 1 reconnects and sends its guess again.
	if m := send(tab1, "o", "tab1-1", 1); m.Type != "error" || m.Code != "round_over" {
		t.Fatalf("guess of round 1 sent again in round 2: %+v, want error round_over", m)
	}
	var now room
	mustDo(t, "GET", base+"/api/rooms/"+r.ID, nil, http.StatusOK, &now)
	if now.Version != next.Version || len(now.Guessed) != 0 {
		t.Fatalf("round 2 after the guess sent again: version %d, guessed %v; want version %d, nothing guessed", now.Version, now.Guessed, next.Version)
	}
}

func TestWebsocketRefusesOtherOrigins(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	ana := newPlayer(t, s.URLs()[0], "ana")
	var r room
	mustDoAs(t, ana, "POST", s.URLs()[0]+"/api/rooms", map[string]any{"word": "ox"}, http.StatusCreated, &r)
	h := http.Header{}
	h.Set("Origin", "http://evil.example")
	h.Set("Cookie", "gallows_session="+ana.Token)
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(s.URLs()[0], r.ID), h)
	if err == nil {
		t.Fatal("a cross-origin websocket was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin dial: %v, response %v; want 403", err, resp)
	}
	// A cross-origin form post is refused too.
	req, _ := http.NewRequest("POST", s.URLs()[0]+"/rooms/"+r.ID+"/guesses", strings.NewReader("letter=o"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "gallows_session="+ana.Token)
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin form post: status %d, want 403", res.StatusCode)
	}
	var after room
	mustDo(t, "GET", s.URLs()[0]+"/api/rooms/"+r.ID, nil, http.StatusOK, &after)
	if after.Version != r.Version {
		t.Errorf("a refused cross-origin request changed the room")
	}
}

func TestWebsocketOversizedMessageCloses1009(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	ana := newPlayer(t, s.URLs()[0], "ana")
	var r room
	mustDoAs(t, ana, "POST", s.URLs()[0]+"/api/rooms", map[string]any{"word": "ox"}, http.StatusCreated, &r)
	c := dialWS(t, s.URLs()[0], r.ID, ana.Token)
	readMsg(t, c)
	big := `{"type":"guess","letter":"o","request_id":"` + strings.Repeat("x", 2048) + `"}`
	if err := c.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
			t.Fatalf("oversized message: %v, want close 1009", err)
		}
		break
	}
	var after room
	mustDo(t, "GET", s.URLs()[0]+"/api/rooms/"+r.ID, nil, http.StatusOK, &after)
	if after.Version != r.Version {
		t.Errorf("the oversized message changed the room")
	}
}

// The create form carries a request id, so sending the same form twice (a
// double click, a reload that posts again) creates one room.
func TestCreateFormSentTwiceMakesOneRoom(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 1, Frontends: 1})
	base := s.URLs()[0]
	home := mustDo(t, "GET", base+"/", nil, http.StatusOK, nil)
	m := regexp.MustCompile(`name="request_id" value="([^"]+)"`).FindStringSubmatch(string(home.Body))
	if m == nil {
		t.Fatalf("the home page has no request id in its create form:\n%s", home.Body)
	}
	form := url.Values{"player": {"ana"}, "category": {"animals"}, "difficulty": {"easy"}, "request_id": {m[1]}}
	// No cookie jar: the second post comes before the browser has the
	// first one's session cookie (a double click), and still hosts the
	// same room.
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var rooms []string
	for range 2 {
		resp, err := client.PostForm(base+"/rooms", form)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/rooms/") {
			t.Fatalf("POST /rooms: %d to %q, want 303 to a room", resp.StatusCode, resp.Header.Get("Location"))
		}
		rooms = append(rooms, resp.Header.Get("Location"))
	}
	if rooms[0] != rooms[1] {
		t.Fatalf("the same form sent twice went to %v", rooms)
	}
	again := mustDo(t, "GET", base+"/", nil, http.StatusOK, nil)
	if strings.Contains(string(again.Body), m[1]) {
		t.Error("a new page load reuses the last request id")
	}
}

// A form refused without JavaScript shows its error on the page it leads
// back to, once; words put in a link's query are never shown.
func TestFormErrorsComeFromTheServerOnly(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana, bo := newPlayer(t, base, "ana"), newPlayer(t, base, "bo")
	var r room
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"word": "ox"}, http.StatusCreated, &r)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	jar.SetCookies(mustParseURL(t, base), []*http.Cookie{{Name: "gallows_session", Value: bo.Token}})
	client := &http.Client{Timeout: 10 * time.Second, Jar: jar}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const bait = "Your account is locked"
	if page := get("/rooms/" + r.ID + "?error=" + url.QueryEscape(bait)); strings.Contains(page, bait) {
		t.Error("the room page shows the words of its link's error parameter")
	}
	if page := get("/?error=" + url.QueryEscape(bait)); strings.Contains(page, bait) {
		t.Error("the home page shows the words of its link's error parameter")
	}
	// Guess a letter that is not one: the redirect leads back to the room,
	// which says why, and only the first time.
	resp, err := client.PostForm(base+"/rooms/"+r.ID+"/guesses", url.Values{"letter": {"7"}, "round": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	const why = "Guess one letter, a to z."
	if !strings.Contains(string(page), why) {
		t.Errorf("after a refused guess the room page does not say %q", why)
	}
	if strings.Contains(get("/rooms/"+r.ID), why) {
		t.Error("the error is shown again on the next load")
	}
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestResentGuessGetsItsFirstAnswer is the sequence an outside check once
// found answered with a later room: ana's guess, bo's guess, then ana's
// guess again with its request id, through two frontends. The resend gets
// the first answer, version 2 with only "a", byte for byte; a stale read
// and a linearizable one both see bo's guess afterwards.
func TestResentGuessGetsItsFirstAnswer(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 2})
	one, two := s.URLs()[0], s.URLs()[1]
	host, ana, bo := newPlayer(t, one, "host"), newPlayer(t, one, "ana"), newPlayer(t, two, "bo")
	var r room
	mustDoAs(t, host, "POST", one+"/api/rooms", map[string]any{"word": "banana"}, http.StatusCreated, &r)
	guesses := "/api/rooms/" + r.ID + "/guesses"
	first := mustDoAs(t, ana, "POST", one+guesses, map[string]string{"letter": "a", "request_id": "dup-1"}, http.StatusOK, nil)
	mustDoAs(t, bo, "POST", two+guesses, map[string]string{"letter": "z", "request_id": "bo-1"}, http.StatusOK, nil)
	for _, base := range []string{one, two} {
		again := mustDoAs(t, ana, "POST", base+guesses, map[string]string{"letter": "a", "request_id": "dup-1"}, http.StatusOK, nil)
		var a room
		if err := again.JSON(&a); err != nil {
			t.Fatal(err)
		}
		if a.Version != 2 || !slices.Equal(a.Guessed, []string{"a"}) || string(again.Body) != string(first.Body) {
			t.Errorf("resend through %s answered %s, want the first answer %s", base, again.Body, first.Body)
		}
	}
	for q, level := range map[string]string{"": "linearizable", "?level=stale": "stale"} {
		var now room
		if got := mustDo(t, "GET", two+"/api/rooms/"+r.ID+q, nil, http.StatusOK, &now).Header.Get("Read-Level"); got != level {
			t.Errorf("read%s: Read-Level %q, want %q", q, got, level)
		}
		if q == "" && (now.Version != 3 || !slices.Equal(now.Guessed, []string{"a", "z"})) {
			t.Errorf("linearizable read: version %d %v, want 3 [a z]", now.Version, now.Guessed)
		}
		if now.Version < 2 {
			t.Errorf("read%s went back to version %d", q, now.Version)
		}
	}
	mustDo(t, "GET", two+"/api/rooms/"+r.ID+"?level=eventual", nil, http.StatusBadRequest, nil)
}
