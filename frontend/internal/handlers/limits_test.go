package handlers

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gallows-game/gallows/frontend/internal/limits"
	"github.com/gallows-game/gallows/frontend/internal/session"
)

// TestSessionMessageLimitSpansSockets opens several sockets of one session
// and sends on each within its own rate: together they are over the
// session's, so the session's surplus is dropped with rate_limited errors,
// while a socket of another session is unaffected.
func TestSessionMessageLimitSpansSockets(t *testing.T) {
	const sockets, each, sessionBurst = 5, 10, 8
	sessions, err := session.New(session.NewKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := sessions.Issue("ana")
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := sessions.Issue("bo")
	if err != nil {
		t.Fatal(err)
	}
	lim := limits.New(limits.Config{
		SessionMessages: limits.Rate{PerSecond: 0.001, Burst: sessionBurst},
		SocketMessages:  limits.Rate{PerSecond: 0.001, Burst: each},
	}, nil, slog.New(slog.DiscardHandler))
	h := New(Config{ID: "f-limits", Game: &fakeGame{}, Logger: slog.New(slog.DiscardHandler), Sessions: sessions, Limits: lim, SocketRate: lim.Config().SocketMessages})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/rooms/" + fuzzRoomID
	dial := func(token string) *websocket.Conn {
		t.Helper()
		ws, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		_ = resp.Body.Close()
		t.Cleanup(func() { _ = ws.Close() })
		return ws
	}
	// read returns the code of the next answer ("" for an ack).
	read := func(ws *websocket.Conn) string {
		t.Helper()
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var a wsAnswer
			if err := json.Unmarshal(data, &a); err != nil {
				t.Fatalf("answer %s: %v", data, err)
			}
			switch a.Type {
			case "ack":
				return ""
			case "error":
				return a.Code
			}
		}
	}

	var conns []*websocket.Conn
	for range sockets {
		conns = append(conns, dial(token))
	}
	answered, limited := 0, 0
	for i := range each {
		for j, ws := range conns {
			msg := `{"type":"guess","letter":"e","request_id":"r-` + strconv.Itoa(i) + "-" + strconv.Itoa(j) + `"}`
			if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			if code := read(ws); code == "rate_limited" {
				limited++
			} else {
				answered++
			}
		}
	}
	if answered != sessionBurst || limited != sockets*each-sessionBurst {
		t.Errorf("%d messages answered and %d rate limited; want the session's burst of %d answered and the other %d limited",
			answered, limited, sessionBurst, sockets*each-sessionBurst)
	}
	// Another session has a budget of its own.
	bo := dial(other)
	if err := bo.WriteMessage(websocket.TextMessage, []byte(`{"type":"guess","letter":"a","request_id":"bo-1"}`)); err != nil {
		t.Fatal(err)
	}
	if code := read(bo); code == "rate_limited" {
		t.Error("another session's message was rate limited")
	}
}
