package frontend_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gallows-game/gallows/frontend/internal/session"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

// playerNames returns the names of r's players of record.
func playerNames(r room) []string {
	var names []string
	for _, p := range r.Players {
		names = append(names, p.Name)
	}
	return names
}

// getRoom reads room id through base.
func getRoom(t *testing.T, base, id string) room {
	t.Helper()
	var r room
	mustDo(t, "GET", base+"/api/rooms/"+id, nil, http.StatusOK, &r)
	return r
}

// wantAPIError fails t unless resp is the JSON error code.
func wantAPIError(t *testing.T, resp response, code string) {
	t.Helper()
	var e apiErr
	if err := resp.JSON(&e); err != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("answer %d %s, want the error %q with a message", resp.Status, resp.Body, code)
	}
}

// TestPlayersAPI: POST /api/players issues a session, 201 {"id","name",
// "token"}; with the token of a session it renames that session, keeping
// its id; names the backends would refuse are refused here.
func TestPlayersAPI(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 1, Frontends: 1})
	base := s.URLs()[0]
	ana := newPlayer(t, base, " ana ")
	if len(ana.ID) != 22 {
		t.Errorf("id %q: want 16 random bytes in base64url", ana.ID)
	}
	if other := newPlayer(t, base, "ana"); other.ID == ana.ID {
		t.Error("two sessions under one name got one id")
	}
	var renamed apiPlayer
	mustDoAs(t, ana, "POST", base+"/api/players", map[string]string{"name": "Ana B"}, http.StatusCreated, &renamed)
	if renamed.ID != ana.ID || renamed.Name != "Ana B" || renamed.Token == ana.Token {
		t.Errorf("renamed = %+v, want ana's id %q under Ana B", renamed, ana.ID)
	}
	for _, tc := range []struct {
		name string
		body any
	}{
		{"empty", map[string]string{"name": ""}},
		{"blank", map[string]string{"name": "  "}},
		{"too long", map[string]string{"name": strings.Repeat("n", 25)}},
		{"control characters", map[string]string{"name": "a\nb"}},
		{"unknown field", map[string]string{"name": "ana", "id": ana.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantAPIError(t, mustDo(t, "POST", base+"/api/players", tc.body, http.StatusBadRequest, nil), "bad_request")
		})
	}
}

// TestWritesNeedAValidSession: every write of the JSON API without a
// session, or with a token that is forged, tampered with, signed with
// another key or expired, is refused with 401 unauthorized and changes
// nothing.
func TestWritesNeedAValidSession(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 1, Frontends: 1})
	base := s.URLs()[0]
	ana := newPlayer(t, base, "ana")
	var r room
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"word": "ox"}, http.StatusCreated, &r)

	parts := strings.Split(ana.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q: want payload and MAC", ana.Token)
	}
	// ana's id under another name, with ana's MAC.
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"id":%q,"name":"bo","iat":%d}`, ana.ID, time.Now().Unix())) + "." + parts[2]
	otherKey, err := session.New(session.NewKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, elsewhere, _ := otherKey.Issue("ana")
	old, err := session.New(s.SessionKey(), func() time.Time { return time.Now().Add(-session.TTL - time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	_, expired, _ := old.Issue("ana")
	tokens := []struct{ name, token string }{
		{"no token", ""},
		{"not a token", "hello"},
		{"forged payload", forged},
		{"tampered MAC", parts[0] + "." + parts[1] + "." + strings.ToUpper(parts[2])},
		{"another key", elsewhere},
		{"expired", expired},
	}
	writes := []struct {
		name, method, path string
		body               any
	}{
		{"create", "POST", "/api/rooms", map[string]any{"word": "cat"}},
		{"guess", "POST", "/api/rooms/" + r.ID + "/guesses", map[string]string{"letter": "o"}},
		{"next round", "POST", "/api/rooms/" + r.ID + "/rounds", map[string]any{"round": 1}},
		{"join", "POST", "/api/rooms/" + r.ID + "/players", map[string]any{}},
		{"leave", "DELETE", "/api/rooms/" + r.ID + "/players", nil},
	}
	for _, tok := range tokens {
		for _, w := range writes {
			t.Run(tok.name+"/"+w.name, func(t *testing.T) {
				resp := mustDoAs(t, apiPlayer{Token: tok.token}, w.method, base+w.path, w.body, http.StatusUnauthorized, nil)
				wantAPIError(t, resp, "unauthorized")
			})
		}
	}
	if now := getRoom(t, base, r.ID); now.Version != r.Version || !slices.Equal(playerNames(now), []string{"ana"}) {
		t.Errorf("refused writes changed the room: version %d, players %v", now.Version, playerNames(now))
	}
	var list struct {
		Rooms []room `json:"rooms"`
	}
	if mustDo(t, "GET", base+"/api/rooms", nil, http.StatusOK, &list); len(list.Rooms) != 1 {
		t.Errorf("%d rooms after refused creates, want 1", len(list.Rooms))
	}
}

// TestNobodyPlaysUnderAnothersName: a session only ever acts as itself.
// No body names a player; a second session under a name taken in a room
// is refused there (409 name_taken) on every write, through the API and
// the websocket, while it may take the name elsewhere; only the host
// starts the next round (403 forbidden for the others); a session leaves
// only itself, and when the host leaves, the player who joined earliest
// becomes host.
func TestNobodyPlaysUnderAnothersName(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana, bo, cy := newPlayer(t, base, "ana"), newPlayer(t, base, "bo"), newPlayer(t, base, "cy")
	mallory := newPlayer(t, base, "ana") // another session, under ana's name
	var r room
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"word": "quick brown fox", "max_lives": 20}, http.StatusCreated, &r)
	path := base + "/api/rooms/" + r.ID
	for _, p := range []apiPlayer{bo, cy} {
		var joined room
		mustDoAs(t, p, "POST", path+"/players", nil, http.StatusOK, &joined)
		if !slices.Contains(playerNames(joined), p.Name) {
			t.Fatalf("%s joined: players %v", p.Name, playerNames(joined))
		}
	}
	before := getRoom(t, base, r.ID)

	// mallory cannot act as ana in her room, by any write.
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"join", "POST", path + "/players", nil},
		{"guess", "POST", path + "/guesses", map[string]any{"letter": "q"}},
		{"next round", "POST", path + "/rounds", map[string]any{"round": 1}},
	} {
		t.Run("impostor "+tc.name, func(t *testing.T) {
			wantAPIError(t, mustDoAs(t, mallory, tc.method, tc.path, tc.body, http.StatusConflict, nil), "name_taken")
		})
	}
	ws := dialWSAs(t, base, r.ID, mallory.Token)
	if m := sendWS(t, ws, map[string]any{"type": "guess", "letter": "q", "request_id": "m-1"}, "m-1"); m.Type != "error" || m.Code != "name_taken" {
		t.Errorf("impostor's guess on the websocket: %+v, want error name_taken", m)
	}
	// Leaving is by the session's own id: mallory's leave takes nobody out.
	mustDoAs(t, mallory, "DELETE", path+"/players", nil, http.StatusOK, nil)
	if now := getRoom(t, base, r.ID); now.Version != before.Version || !slices.Equal(playerNames(now), []string{"ana", "bo", "cy"}) {
		t.Fatalf("the impostor changed the room: version %d→%d, players %v", before.Version, now.Version, playerNames(now))
	}
	// Renamed (the same session), mallory plays as herself.
	var mal apiPlayer
	mustDoAs(t, mallory, "POST", base+"/api/players", map[string]string{"name": "mal"}, http.StatusCreated, &mal)
	if mal.ID != mallory.ID {
		t.Fatalf("renamed session has id %q, want %q", mal.ID, mallory.ID)
	}
	var g room
	mustDoAs(t, mal, "POST", path+"/guesses", map[string]any{"letter": "q"}, http.StatusOK, &g)
	if n := len(g.Log); n == 0 || g.Log[n-1].Player != "mal" {
		t.Errorf("mal's guess logged as %+v", g.Log)
	}

	// A guess is the session's: bo's shows as bo's, whatever else it says.
	mustDoAs(t, bo, "POST", path+"/guesses", map[string]any{"letter": "u"}, http.StatusOK, &g)
	if n := len(g.Log); g.Log[n-1].Player != "bo" {
		t.Errorf("bo's guess logged as %+v", g.Log[n-1])
	}
	wantAPIError(t, mustDoAs(t, bo, "POST", path+"/guesses", map[string]any{"letter": "i", "player": "ana"}, http.StatusBadRequest, nil), "bad_request")

	// Only the host starts the next round.
	wantAPIError(t, mustDoAs(t, bo, "POST", path+"/rounds", map[string]any{"round": 1}, http.StatusForbidden, nil), "forbidden")
	// bo leaves: only bo. Then the host leaves: bo having gone, cy joined
	// earliest of those left, and hosts.
	var left room
	mustDoAs(t, bo, "DELETE", path+"/players", nil, http.StatusOK, &left)
	if !slices.Equal(playerNames(left), []string{"ana", "cy", "mal"}) {
		t.Errorf("after bo left: players %v, want [ana cy mal]", playerNames(left))
	}
	mustDoAs(t, ana, "DELETE", path+"/players", nil, http.StatusOK, &left)
	wantAPIError(t, mustDoAs(t, ana, "POST", path+"/rounds", map[string]any{"round": 1}, http.StatusForbidden, nil), "forbidden")
	var next room
	// The new host of a custom-word room types the next word.
	mustDoAs(t, cy, "POST", path+"/rounds", map[string]any{"round": 1, "word": "raft"}, http.StatusOK, &next)
	if next.Round != 2 {
		t.Errorf("cy's next round: round %d, want 2", next.Round)
	}
}

// dialWSAs opens a room's websocket as a bot would: no Origin, the session
// as a bearer token at the upgrade (none if token is empty), and reads the
// first state.
func dialWSAs(t *testing.T, base, roomID, token string) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	c, resp, err := websocket.DefaultDialer.Dial(wsURL(base, roomID), h)
	if err != nil {
		t.Fatalf("dial websocket: %v (response %v)", err, resp)
	}
	t.Cleanup(func() { _ = c.Close() })
	if m, _ := readMsg(t, c); m.Type != "state" {
		t.Fatalf("first message %+v, want the state", m)
	}
	return c
}

// sendWS sends msg on c and returns the answer to request id.
func sendWS(t *testing.T, c *websocket.Conn, msg any, id string) wsMsg {
	t.Helper()
	if err := c.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	return answerTo(t, c, id)
}

// TestWebsocketSessions: a socket's player is the session of its upgrade
// (the page's cookie, or a bot's bearer token). Without one, or with a
// tampered one, the socket shows the room but its guesses and next rounds
// are refused as unauthorized; messages carry no player name, and a name
// put in one is ignored. A socket with a session joins the room at once.
func TestWebsocketSessions(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana, bo := newPlayer(t, base, "ana"), newPlayer(t, base, "bo")
	var r room
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"word": "ox"}, http.StatusCreated, &r)

	for _, tc := range []struct{ name, cookie string }{
		{"no session", ""},
		{"tampered cookie", bo.Token[:len(bo.Token)-2] + "xx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWS(t, base, r.ID, tc.cookie)
			readMsg(t, c)
			for _, msg := range []map[string]any{
				{"type": "guess", "letter": "o", "request_id": "x-1"},
				{"type": "next_round", "round": 1, "request_id": "x-1"},
			} {
				if m := sendWS(t, c, msg, "x-1"); m.Type != "error" || m.Code != "unauthorized" {
					t.Errorf("%v without a valid session: %+v, want error unauthorized", msg["type"], m)
				}
			}
		})
	}
	if now := getRoom(t, base, r.ID); now.Version != r.Version {
		t.Fatalf("sockets without a session changed the room: version %d, want %d", now.Version, r.Version)
	}

	// bo's bearer token at the upgrade: bo joins at once, and bo's guess,
	// which names ana, is bo's.
	c := dialWSAs(t, base, r.ID, bo.Token)
	if joined := getRoom(t, base, r.ID); !slices.Equal(playerNames(joined), []string{"ana", "bo"}) {
		t.Errorf("after bo's socket opened: players %v, want [ana bo]", playerNames(joined))
	}
	if m := sendWS(t, c, map[string]any{"type": "guess", "letter": "o", "request_id": "b-1", "player": "ana"}, "b-1"); m.Type != "ack" {
		t.Fatalf("bo's guess: %+v", m)
	}
	if g := getRoom(t, base, r.ID); len(g.Log) != 1 || g.Log[0].Player != "bo" {
		t.Errorf("the socket's guess logged as %+v, want bo's", g.Log)
	}
	if m := sendWS(t, c, map[string]any{"type": "next_round", "round": 1, "request_id": "b-2"}, "b-2"); m.Type != "error" || m.Code != "forbidden" {
		t.Errorf("bo's next round: %+v, want error forbidden", m)
	}
}

// TestSessionsWorkOnEveryFrontend: frontends that share the session key
// recognise each other's sessions: a session from one frontend plays on
// the other, over the API and the websocket, as one player.
func TestSessionsWorkOnEveryFrontend(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 2})
	one, two := s.URLs()[0], s.URLs()[1]
	ana, bo, host := newPlayer(t, one, "ana"), newPlayer(t, two, "bo"), newPlayer(t, two, "host")
	var r room
	mustDoAs(t, host, "POST", two+"/api/rooms", map[string]any{"word": "ox", "max_lives": 9}, http.StatusCreated, &r)
	mustDoAs(t, bo, "POST", one+"/api/rooms/"+r.ID+"/guesses", map[string]any{"letter": "q"}, http.StatusOK, nil)
	mustDoAs(t, ana, "POST", one+"/api/rooms/"+r.ID+"/guesses", map[string]any{"letter": "z"}, http.StatusOK, nil)
	c := dialWS(t, two, r.ID, bo.Token)
	readMsg(t, c)
	if m := sendWS(t, c, map[string]any{"type": "guess", "letter": "o", "request_id": "b-1"}, "b-1"); m.Type != "ack" {
		t.Fatalf("bo's guess on the other frontend's socket: %+v", m)
	}
	now := getRoom(t, one, r.ID)
	if !slices.Equal(playerNames(now), []string{"host", "bo", "ana"}) {
		t.Errorf("players %v, want [host bo ana]: each session one player on both frontends", playerNames(now))
	}
	var who []string
	for _, e := range now.Log {
		who = append(who, e.Player+":"+e.Letter)
	}
	if !slices.Equal(who, []string{"bo:q", "ana:z", "bo:o"}) {
		t.Errorf("log %v, want [bo:q ana:z bo:o]", who)
	}
}

// noRedirects is an HTTP client with a cookie jar that does not follow
// redirects, as a form post's answer is read.
func noRedirects(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 20 * time.Second, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post sends a form and returns the status and redirect target.
func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// getPage gets a page and returns its body.
func getPage(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
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

// TestFormsActAsTheSession: a form post without a session is sent to the
// home page, with the room's code, to pick a nickname, and changes
// nothing; with one it acts as the session, whatever player field it
// posts. The nickname form issues the session, and the room page makes it
// a player of record at once, unless its name is someone else's there:
// then the page says so and asks for another nickname, which renames the
// session.
func TestFormsActAsTheSession(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ana := newPlayer(t, base, "ana")
	var r room
	mustDoAs(t, ana, "POST", base+"/api/rooms", map[string]any{"word": "ox"}, http.StatusCreated, &r)
	roomPath := "/rooms/" + r.ID

	anon := noRedirects(t)
	for _, action := range []string{"guesses", "rounds", "leave"} {
		code, to := post(t, anon, base+roomPath+"/"+action, url.Values{"letter": {"o"}, "round": {"1"}, "player": {"ana"}})
		if code != http.StatusSeeOther || to != "/?code="+r.ID {
			t.Errorf("POST %s without a session: %d to %q, want 303 to /?code=%s", action, code, to, r.ID)
		}
	}
	if home := getPage(t, anon, base+"/?code="+r.ID); !strings.Contains(home, "Pick a nickname to play.") || !strings.Contains(home, `value="`+r.ID+`"`) {
		t.Error("the home page after a refused form asks for no nickname, or lost the room's code")
	}
	if now := getRoom(t, base, r.ID); now.Version != r.Version {
		t.Fatalf("forms without a session changed the room: version %d", now.Version)
	}

	// The nickname form: a session under "ana", whose name ana has in the
	// room, watches and is asked for another nickname.
	code, to := post(t, anon, base+"/join", url.Values{"code": {strings.ToLower(r.ID)}, "player": {"ana"}})
	if code != http.StatusSeeOther || to != roomPath {
		t.Fatalf("POST /join: %d to %q, want 303 to %s", code, to, roomPath)
	}
	p := getPage(t, anon, base+roomPath)
	if !strings.Contains(p, "Someone else plays in this room under that nickname") || !strings.Contains(p, "Pick another nickname to play here") ||
		!strings.Contains(p, `data-player=""`) {
		t.Errorf("the room page of a taken name does not say so, or plays as someone")
	}
	// Another nickname renames the session: it joins.
	if code, to := post(t, anon, base+"/join", url.Values{"code": {r.ID}, "player": {"bo"}}); code != http.StatusSeeOther || to != roomPath {
		t.Fatalf("POST /join as bo: %d to %q", code, to)
	}
	if p := getPage(t, anon, base+roomPath); !strings.Contains(p, `data-player="bo"`) {
		t.Error("the room page after renaming to bo does not play as bo")
	}
	if now := getRoom(t, base, r.ID); !slices.Equal(playerNames(now), []string{"ana", "bo"}) {
		t.Errorf("after the room page: players %v, want [ana bo]", playerNames(now))
	}
	// A guess names ana in its player field: it is bo's.
	if code, to := post(t, anon, base+roomPath+"/guesses", url.Values{"letter": {"o"}, "round": {"1"}, "player": {"ana"}}); code != http.StatusSeeOther || to != roomPath {
		t.Errorf("bo's guess form: %d to %q", code, to)
	}
	if now := getRoom(t, base, r.ID); len(now.Log) != 1 || now.Log[0].Player != "bo" {
		t.Errorf("the form's guess logged as %+v, want bo's", now.Log)
	}
	// bo is not the host: the next round is refused, with the reason.
	post(t, anon, base+roomPath+"/rounds", url.Values{"round": {"1"}})
	if p := getPage(t, anon, base+roomPath); !strings.Contains(p, "Only the room") {
		t.Error("the room page after a non-host's next round does not say only the host may")
	}
	// bo leaves; ana stays.
	if code, to := post(t, anon, base+roomPath+"/leave", nil); code != http.StatusSeeOther || to != "/" {
		t.Errorf("leave: %d to %q, want 303 to /", code, to)
	}
	if now := getRoom(t, base, r.ID); !slices.Equal(playerNames(now), []string{"ana"}) {
		t.Errorf("after bo left: players %v, want [ana]", playerNames(now))
	}
}
