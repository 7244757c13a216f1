package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gallows-game/gallows/frontend/internal/timeline"
)

// fakeFaults records the actions it is asked for; b1 and b2 exist, b2 is
// down.
type fakeFaults struct {
	mu   sync.Mutex
	done []string
}

func (f *fakeFaults) act(id, what string, running bool) error {
	switch {
	case id != "b1" && id != "b2":
		return NodeError(ErrUnknownNode, "no backend "+id)
	case running && id == "b2":
		return NodeError(ErrNodeState, "b2 is not running: restart it first")
	case !running && id == "b1":
		return NodeError(ErrNodeState, "b1 is running: kill it first")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done = append(f.done, what+" "+id)
	return nil
}

func (f *fakeFaults) Kill(_ context.Context, id string) error    { return f.act(id, "kill", true) }
func (f *fakeFaults) Restart(_ context.Context, id string) error { return f.act(id, "restart", false) }
func (f *fakeFaults) Freeze(_ context.Context, id string, d time.Duration) error {
	return f.act(id, "freeze "+d.String(), true)
}
func (f *fakeFaults) Cut(_ context.Context, id string, d time.Duration) error {
	return f.act(id, "cut "+d.String(), true)
}

func TestFaultEndpoints(t *testing.T) {
	faults := &fakeFaults{}
	tl := timeline.New()
	on := New(Config{ID: "f1", Game: &fakeGame{}, Logger: slog.New(slog.DiscardHandler), Faults: faults, Timeline: tl})
	off := New(Config{ID: "f1", Game: &fakeGame{}, Logger: slog.New(slog.DiscardHandler)})
	post := func(h http.Handler, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", path, nil))
		return w
	}
	for _, tc := range []struct {
		h        http.Handler
		path     string
		code     int
		body     string // a part of the body
		location string // the redirect, for forms
	}{
		{on, "/api/cluster/nodes/b1/kill", 202, `{"action":"kill","node":"b1"}`, ""},
		{on, "/api/cluster/nodes/b1/freeze", 202, `"action":"freeze"`, ""},
		{on, "/api/cluster/nodes/b1/cut", 202, `"action":"cut"`, ""},
		{on, "/api/cluster/nodes/b2/restart", 202, `"action":"restart"`, ""},
		{on, "/api/cluster/nodes/b1/explode", 400, `"code":"bad_request"`, ""},
		{on, "/api/cluster/nodes/b9/kill", 404, `"message":"no backend b9"`, ""},
		{on, "/api/cluster/nodes/b2/kill", 409, `"message":"b2 is not running: restart it first"`, ""},
		{on, "/api/cluster/nodes/b1/restart", 409, `"code":"conflict"`, ""},
		{off, "/api/cluster/nodes/b1/kill", 404, `"code":"not_found"`, ""},
		{on, "/cluster/nodes/b1/kill", 303, "", "/cluster"},
		{on, "/cluster/nodes/b2/kill", 303, "", "/cluster"},
		{on, "/cluster/nodes/b9/kill", 404, "", ""},
		{off, "/cluster/nodes/b1/kill", 404, "", ""},
	} {
		w := post(tc.h, tc.path)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.body) || w.Header().Get("Location") != tc.location {
			t.Errorf("POST %s: %d %q (Location %q), want %d with %q (Location %q)",
				tc.path, w.Code, w.Body.String(), w.Header().Get("Location"), tc.code, tc.body, tc.location)
		}
	}
	want := []string{"kill b1", "freeze 5s b1", "cut 10s b1", "restart b2", "kill b1"}
	if got := strings.Join(faults.done, ","); got != strings.Join(want, ",") {
		t.Errorf("faults done: %s, want %s", got, strings.Join(want, ","))
	}
	var texts []string
	for _, e := range tl.Events() {
		texts = append(texts, e.Text)
	}
	for _, want := range []string{"b1 killed (kill -9)", "b1 frozen for 5 s", "b1 cut off for 10 s", "b2 restarted"} {
		if !strings.Contains(strings.Join(texts, "\n"), want) {
			t.Errorf("timeline lacks %q: %q", want, texts)
		}
	}
	// The refused form shows why on the panel.
	w := post(on, "/cluster/nodes/b2/kill")
	var flash string
	for _, c := range w.Result().Cookies() {
		if c.Name == flashCookie {
			flash = c.Value
		}
	}
	if !strings.Contains(flash, "restart+it+first") && !strings.Contains(flash, "restart%20it%20first") {
		t.Errorf("the refused form's flash is %q", flash)
	}
}

// The cluster panel's hint fits whether it has fault buttons (with
// Faults; web's tests check the buttons), and the timeline is there
// either way.
func TestClusterPanelButtons(t *testing.T) {
	tl := timeline.New()
	tl.Fault(time.Now(), "kill", "b1", 0)
	for _, tc := range []struct {
		faults  Faults
		buttons bool
	}{{&fakeFaults{}, true}, {nil, false}} {
		h := New(Config{ID: "f1", Game: &fakeGame{}, Logger: slog.New(slog.DiscardHandler), Faults: tc.faults, Timeline: tl})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/cluster", nil))
		html := w.Body.String()
		if !strings.Contains(html, "b1 killed (kill -9)") {
			t.Errorf("faults %v: the timeline is not on the page", tc.faults != nil)
		}
		if tc.buttons != strings.Contains(html, "Press <strong>kill -9</strong> on the leader") {
			t.Errorf("faults %v: the hint does not fit", tc.faults != nil)
		}
	}
}

// The 202 of a fault names the action and the node, and nothing else.
func TestFaultJSON(t *testing.T) {
	h := New(Config{ID: "f1", Game: &fakeGame{}, Logger: slog.New(slog.DiscardHandler), Faults: &fakeFaults{}})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/api/cluster/nodes/b1/kill", nil))
	var got map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got) != 2 || got["action"] != "kill" || got["node"] != "b1" {
		t.Errorf("202 body %q: %v", w.Body.String(), err)
	}
}
