package web

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	return buf.String()
}

func mustContain(t *testing.T, html string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(html, s) {
			t.Errorf("HTML lacks %q", s)
		}
	}
}

func mustNotContain(t *testing.T, html string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(html, s) {
			t.Errorf("HTML contains %q", s)
		}
	}
}

// keys builds the a..z keyboard with the given letters hit and missed.
func keys(hits, misses string) []Key {
	var ks []Key
	for c := 'a'; c <= 'z'; c++ {
		st := "unused"
		switch {
		case strings.ContainsRune(hits, c):
			st = "hit"
		case strings.ContainsRune(misses, c):
			st = "miss"
		}
		ks = append(ks, Key{Letter: string(c), State: st})
	}
	return ks
}

// masked builds the cells of word with the letters in shown revealed. The
// hidden cells still carry their letter, as a careless handler might, to
// prove that the template never prints them.
func masked(word, shown string) []MaskCell {
	var cells []MaskCell
	for _, r := range word {
		c := MaskCell{Char: string(r)}
		switch {
		case r == ' ' || r == '-' || r == '\'':
			c.Separator = true
		case !strings.ContainsRune(shown, r):
			c.Hidden = true
		}
		cells = append(cells, c)
	}
	return cells
}

func playingRoom() RoomView {
	return RoomView{
		ID: "ABCDE", Version: 42, Round: 3, Status: "playing",
		Masked:    masked("PLATYPUS", "PA"),
		LivesLeft: 4, MaxLives: 6, Stage: 2,
		Keys:  keys("pa", "eo"),
		Wrong: []string{"E", "O"},
		Players: []PlayerView{
			{Name: "ana", Points: 12, Host: true},
			{Name: "bo", Points: 3},
		},
		Log: []LogView{
			{Player: "ana", Letter: "E", Hit: false},
			{Player: "bo", Letter: "P", Hit: true},
			{Player: "ana", Letter: "A", Hit: true},
			{Player: "bo", Letter: "O", Hit: false},
		},
		Category: "animals", Difficulty: "medium", Host: "ana",
		ServedBy: "b2", Announce: "bo guessed O: miss",
	}
}

func TestRoomBodyHidesWordWhilePlaying(t *testing.T) {
	html := render(t, RoomBody(playingRoom(), "bo"))
	for _, w := range []string{"PLATYPUS", "platypus", "Platypus"} {
		if strings.Contains(html, w) {
			t.Errorf("secret %q leaked while playing", w)
		}
	}
	// The hidden letters must not appear in any cell either.
	for _, cell := range regexp.MustCompile(`<span class="cell[^"]*"[^>]*>([^<]*)</span>`).FindAllStringSubmatch(html, -1) {
		if strings.ContainsAny(cell[1], "LTYUS") {
			t.Errorf("hidden letter shown in cell %q", cell[0])
		}
	}
	mustContain(t, html,
		`aria-label="Word: P, blank, A, blank, blank, P, blank, blank"`,
		`Lives left <strong class="lives__n">4</strong> of 6`,
		"served by node <code>b2</code>",
		`data-announce="bo guessed O: miss"`,
		`data-version="42"`,
	)
	mustNotContain(t, html, "banner--", "Next round")
}

func TestRoomBodyRevealsWordWhenOver(t *testing.T) {
	for _, status := range []string{"lost", "won"} {
		t.Run(status, func(t *testing.T) {
			v := playingRoom()
			v.Status, v.Word, v.Masked = status, "PLATYPUS", masked("PLATYPUS", "PLATYUS")
			html := render(t, RoomBody(v, "bo"))
			// Only the host starts the next round: bo is told who does.
			mustContain(t, html, "PLATYPUS", "banner--"+status, "The host, <strong>ana</strong>, starts the next round.")
			mustNotContain(t, html, `action="/rooms/ABCDE/rounds"`)
			if n := strings.Count(html, " disabled"); n != 26 {
				t.Errorf("%d keys disabled after the round, want 26", n)
			}
			host := render(t, RoomBody(v, "ana"))
			mustContain(t, host, `action="/rooms/ABCDE/rounds"`, ">Next round</button>")
			mustNotContain(t, host, "starts the next round")
		})
	}
}

// The next-round form is the host's alone: on the page of the host, with
// a button to skip a round being played; in the fragment every socket
// gets, hidden and marked for the script to show to the host, beside the
// others' note, marked for the script to hide from the host.
func TestRoomNextRoundIsTheHosts(t *testing.T) {
	over := playingRoom()
	over.Status, over.Word = "won", "PLATYPUS"
	tests := []struct {
		name       string
		html       string
		contain    []string
		notContain []string
	}{
		{"host while playing", render(t, RoomBody(playingRoom(), "ana")), []string{`action="/rooms/ABCDE/rounds"`, ">Skip to next round</button>"}, []string{"data-host-only", "starts the next round"}},
		{"player while playing", render(t, RoomBody(playingRoom(), "bo")), nil, []string{`action="/rooms/ABCDE/rounds"`, "starts the next round"}},
		{"spectator after the round", render(t, RoomBody(over, "")), []string{"starts the next round"}, []string{`action="/rooms/ABCDE/rounds"`}},
		{"fragment while playing", render(t, RoomFragment(playingRoom())), []string{`data-host-only="ana" hidden`, ">Skip to next round</button>"}, []string{"starts the next round"}},
		{"fragment after the round", render(t, RoomFragment(over)), []string{`data-host-only="ana" hidden`, ">Next round</button>", `data-not-host="ana"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustContain(t, tt.html, tt.contain...)
			mustNotContain(t, tt.html, tt.notContain...)
		})
	}
}

func TestRoomBodyKeyboard(t *testing.T) {
	html := render(t, RoomBody(playingRoom(), "bo"))
	mustContain(t, html,
		`<form class="keyboard" method="post" action="/rooms/ABCDE/guesses"`,
		`name="request_id"`,
	)
	// The player is the session: no form names one.
	mustNotContain(t, html, `name="player"`)
	if n := strings.Count(html, `name="letter"`); n != 26 {
		t.Errorf("%d letter buttons, want 26", n)
	}
	button := func(letter string) string {
		m := regexp.MustCompile(`<button[^>]*value="` + letter + `"[^>]*>`).FindString(html)
		if m == "" {
			t.Fatalf("no button for %q", letter)
		}
		return m
	}
	for _, tc := range []struct {
		letter, label string
		disabled      bool
	}{
		{"p", "p, correct", true},
		{"a", "a, correct", true},
		{"e", "e, wrong", true},
		{"o", "o, wrong", true},
		{"z", "z", false},
		{"t", "t", false},
	} {
		b := button(tc.letter)
		if got := strings.Contains(b, " disabled"); got != tc.disabled {
			t.Errorf("key %s disabled = %v, want %v: %s", tc.letter, got, tc.disabled, b)
		}
		if !strings.Contains(b, `aria-label="`+tc.label+`"`) {
			t.Errorf("key %s: want aria-label %q: %s", tc.letter, tc.label, b)
		}
	}
	// Hits and misses differ by shape, not only colour.
	mustContain(t, html, `key--hit`, `key--miss`, `aria-hidden="true">✓</span>`, `aria-hidden="true">✗</span>`)
	// Not the host: no skip button while playing.
	mustNotContain(t, html, "Skip to next round")
}

func TestRoomBodyHostCanSkip(t *testing.T) {
	html := render(t, RoomBody(playingRoom(), "ana"))
	mustContain(t, html, `action="/rooms/ABCDE/rounds"`, "Skip to next round")
}

func TestRoomBodySpectatorCannotGuess(t *testing.T) {
	// A spectator gets no keyboard at all, not one that looks usable.
	mustNotContain(t, render(t, RoomBody(playingRoom(), "")), `name="letter"`, "Guess a letter")
	// The host of a custom word watches; the other players guess.
	v := playingRoom()
	v.Custom = true
	mustNotContain(t, render(t, RoomBody(v, "ana")), `name="letter"`)
	mustContain(t, render(t, RoomBody(v, "ana")), "you watch this round")
	mustContain(t, render(t, RoomBody(v, "bo")), `name="letter"`)
	// The fragment shared by every tab marks the keyboard for the script:
	// for players only, and not for the host who chose the word.
	mustContain(t, render(t, RoomFragment(v)), "data-players-only", `data-watcher="ana"`)
}

func TestRoomBodyCustomWordAndSeparators(t *testing.T) {
	v := playingRoom()
	v.Custom, v.Masked = true, masked("JACK-O'LANTERN PIE", "A")
	html := render(t, RoomBody(v, "bo"))
	mustContain(t, html, "Custom word by <strong>ana</strong>",
		"blank, hyphen, blank, apostrophe, blank, A, blank, blank, blank, blank, blank, space, blank")
	mustNotContain(t, html, "JACK", "LANTERN")
}

func TestRoomPage(t *testing.T) {
	p := RoomPage{Page: Page{Title: "Room ABCDE", Frontend: "f1", Player: "bo"}, Room: playingRoom(), Error: "That letter has already been guessed."}
	html := render(t, Room(p))
	mustContain(t, html,
		`<html lang="en">`,
		`name="viewport"`,
		`<title>Room ABCDE · Gallows</title>`,
		`<main id="main"`,
		`href="#main"`,
		`<div id="room" data-room="ABCDE" data-version="42"`,
		`<div id="announce" class="visually-hidden" aria-live="polite"`,
		`<p id="status" class="status" role="status">That letter has already been guessed.</p>`,
		`id="conn" class="conn" role="status"`,
		"served by frontend <code>f1</code>",
		AssetURL("app.css"), AssetURL("app.js"),
	)
	// The live region and the status line are outside #room, so that
	// replacing its content keeps them.
	room := strings.Index(html, `<div id="room"`)
	body := strings.Index(html, `<div class="room-body`)
	end := strings.LastIndex(html, "served by node")
	for _, id := range []string{`id="announce"`, `id="status"`} {
		if i := strings.Index(html, id); i > room && i < end {
			t.Errorf("%s is inside #room", id)
		}
	}
	if !(room < body && body < end) {
		t.Error("RoomBody is not inside #room")
	}
	mustNotContain(t, html, "PLATYPUS", "Pick a nickname")
	mustNotContain(t, html, `="http`, `="//`, "url(")
}

func TestRoomPageSpectatorGetsNicknameForm(t *testing.T) {
	html := render(t, Room(RoomPage{Room: playingRoom()}))
	mustContain(t, html, "Pick a nickname", `action="/join"`, `name="code" value="ABCDE"`)
}

func TestGallowsStages(t *testing.T) {
	frame := []string{"base", "post", "beam", "rope"}
	figure := []string{"head", "body", "left-arm", "right-arm", "left-leg", "right-leg"}
	part := regexp.MustCompile(`data-part="([a-z-]+)"`)
	for stage := -1; stage <= 7; stage++ {
		t.Run(strconv.Itoa(stage), func(t *testing.T) {
			v := playingRoom()
			v.Stage = stage
			html := render(t, RoomBody(v, "bo"))
			var got []string
			for _, m := range part.FindAllStringSubmatch(html, -1) {
				got = append(got, m[1])
			}
			s := min(max(stage, 0), 6)
			want := append(append([]string{}, frame...), figure[:s]...)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("stage %d draws %v, want %v", stage, got, want)
			}
			mustContain(t, html, "gallows--stage-"+strconv.Itoa(s))
		})
	}
}

func sampleCluster() ClusterView {
	return ClusterView{
		Leader: "b1", ServedBy: "b2",
		Nodes: []NodeView{
			{ID: "b1", Role: "leader", SerfStatus: "alive", Term: 7, LastIndex: 120, CommitIndex: 120, AppliedIndex: 119, Leader: true},
			{ID: "b2", Role: "follower", SerfStatus: "alive", Term: 7, LastIndex: 120, CommitIndex: 119, AppliedIndex: 119, ServesThisTab: true},
			{ID: "b3", Role: "down", SerfStatus: "failed", Term: 6, LastIndex: 80, CommitIndex: 80, AppliedIndex: 80},
		},
	}
}

func TestClusterBodyMarksLeader(t *testing.T) {
	html := render(t, ClusterBody(sampleCluster()))
	rows := regexp.MustCompile(`(?s)<tr class="node[^"]*"[^>]*>.*?</tr>`).FindAllString(html, -1)
	if len(rows) != 3 {
		t.Fatalf("%d node rows, want 3", len(rows))
	}
	for i, want := range []struct {
		id, badge     string
		leader, thisT bool
	}{
		{"b1", "badge--leader", true, false},
		{"b2", "badge--follower", false, true},
		{"b3", "badge--down", false, false},
	} {
		r := rows[i]
		if !strings.Contains(r, `data-node="`+want.id+`"`) || !strings.Contains(r, want.badge) {
			t.Errorf("row %d: want node %s with %s: %s", i, want.id, want.badge, r)
		}
		if got := strings.Contains(r, `data-leader="true"`) && strings.Contains(r, ">leader</span>"); got != want.leader {
			t.Errorf("row %s: leader marked = %v, want %v", want.id, got, want.leader)
		}
		if got := strings.Contains(r, "serves this tab"); got != want.thisT {
			t.Errorf("row %s: serves this tab = %v, want %v", want.id, got, want.thisT)
		}
	}
	mustContain(t, rows[0], ">119</td>", ">7</td>", ">alive</span>")
	mustContain(t, rows[2], ">failed</span>", ">—</td>")
	// A node that is down has no term or indexes anyone knows.
	mustNotContain(t, rows[2], ">6</td>", ">80</td>")

	// With no leader known, it says so.
	v := sampleCluster()
	v.Leader, v.Nodes[0].Leader, v.Nodes[0].Role = "", false, "candidate"
	v.Error = "no quorum"
	html = render(t, ClusterBody(v))
	mustContain(t, html, "no leader", "badge--candidate", `role="alert">no quorum`)
	mustNotContain(t, html, `data-leader="true"`)
}

func TestClusterPage(t *testing.T) {
	html := render(t, Cluster(ClusterPage{Page: Page{Title: "Cluster", Frontend: "f1"}, Cluster: sampleCluster()}))
	mustContain(t, html, `<div id="cluster"><div class="cluster-body">`, `href="/cluster" aria-current="page"`, `<main id="main"`)
}

func TestHome(t *testing.T) {
	p := HomePage{
		Page:         Page{Title: "Home", Frontend: "f1", Player: "ana"},
		Categories:   []string{"animals", "fruit"},
		Difficulties: []string{"easy", "hard"},
		Rooms:        []RoomSummary{{ID: "XYZ12", Category: "fruit", Difficulty: "easy", Status: "playing", Players: 2, Round: 1}},
		Error:        "room not found",
		JoinCode:     "QQQQQ",
	}
	html := render(t, Home(p))
	mustContain(t, html,
		`<form class="card" method="post" action="/rooms"`,
		`<form class="card" method="post" action="/join"`,
		`name="player" type="text" value="ana"`,
		`<select id="create-category" name="category"><option value="animals">animals</option>`,
		`name="difficulty"`, `<option value="hard">hard</option>`,
		`name="word"`, "the others guess it",
		`name="code" type="text" value="QQQQQ"`,
		`href="/rooms/XYZ12"`,
		`href="/cluster"`, `href="/leaderboard"`,
		`role="alert">room not found</p>`,
		`href="/" aria-current="page"`,
	)
	// Every form control has a label.
	for _, m := range regexp.MustCompile(`<(?:input|select)[^>]*>`).FindAllString(html, -1) {
		if strings.Contains(m, `type="hidden"`) {
			continue
		}
		id := regexp.MustCompile(`id="([^"]+)"`).FindStringSubmatch(m)
		if id == nil || !strings.Contains(html, `<label for="`+id[1]+`"`) {
			t.Errorf("unlabelled control %s", m)
		}
	}
	if html2 := render(t, Home(HomePage{})); !strings.Contains(html2, "No open rooms yet") {
		t.Error("empty room list not explained")
	}
}

func TestLeaderboard(t *testing.T) {
	html := render(t, Leaderboard(LeaderboardPage{
		Page:    Page{Player: "bo"},
		Entries: []LeaderEntry{{Rank: 1, Name: "ana", Points: 40, Rooms: 3}, {Rank: 2, Name: "bo", Points: 12, Rooms: 1}},
	}))
	mustContain(t, html, ">ana", ">40</td>", `<tr data-name="bo" class="is-you">`, `href="/leaderboard" aria-current="page"`, `id="leaderboard" data-player="bo"`)
	// The fragment every tab gets marks no row; each row's tag waits hidden.
	shared := render(t, LeaderboardBody([]LeaderEntry{{Rank: 1, Name: "ana", Points: 40, Rooms: 3}}))
	mustContain(t, shared, `<tr data-name="ana">`, `<span class="tag" data-you hidden>you</span>`)
	if strings.Contains(shared, "is-you") {
		t.Error("the shared leaderboard fragment marks a row as the viewer's")
	}
}

func TestErrorPage(t *testing.T) {
	html := render(t, Error(ErrorPage{Page: Page{Title: "Not found"}, Status: http.StatusNotFound, Message: "no room <XYZ>"}))
	mustContain(t, html, `<span class="error-page__code">404</span> <span class="error-page__text">Not Found</span>`, "no room &lt;XYZ&gt;", `href="/"`)
	mustNotContain(t, html, "<XYZ>")
}

func TestEscaping(t *testing.T) {
	v := playingRoom()
	v.Players = append(v.Players, PlayerView{Name: `<script>alert(1)</script>`})
	v.ID = `A"B`
	html := render(t, RoomBody(v, `<b>`))
	mustNotContain(t, html, "<script>alert", `<b>`)
	mustContain(t, html, `action="/rooms/A%22B/guesses"`)
}

func TestStaticFiles(t *testing.T) {
	for _, name := range []string{"static/app.css", "static/app.js", "static/room.js"} {
		b, err := fs.ReadFile(Static, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			t.Errorf("%s is empty", name)
		}
		if bytes.Contains(b, []byte("http://")) || bytes.Contains(b, []byte("https://")) {
			t.Errorf("%s refers to an external resource", name)
		}
	}
}

func TestStaticHandler(t *testing.T) {
	srv := httptest.NewServer(StaticHandler())
	defer srv.Close()
	get := func(path string) *http.Response {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		return res
	}

	res := get(AssetURL("app.css"))
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Errorf("app.css: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned app.css: Cache-Control %q", cc)
	}
	if res := get("/static/app.js"); res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("ETag") == "" {
		t.Errorf("unversioned app.js: %d, Cache-Control %q, ETag %q", res.StatusCode, res.Header.Get("Cache-Control"), res.Header.Get("ETag"))
	}
	for _, p := range []string{"/static/", "/static/nope.js", "/static/../web.go"} {
		if res := get(p); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}
}

func TestScriptIsSmallAndSelfContained(t *testing.T) {
	all := ""
	for _, name := range []string{"app.js", "room.js"} {
		b, err := fs.ReadFile(Static, "static/"+name)
		if err != nil {
			t.Fatal(err)
		}
		js := string(b)
		all += js
		if n := strings.Count(js, "\n"); n > 300 {
			t.Errorf("%s has %d lines", name, n)
		}
		if !strings.HasPrefix(strings.TrimSpace(js[strings.Index(js, "(function"):]), "(function") || !strings.HasSuffix(strings.TrimSpace(js), "})();") {
			t.Errorf("%s is not wrapped in an IIFE", name)
		}
	}
	for _, s := range []string{"'use strict'", "/ws/rooms/", "?since=", "/ws/cluster", "crypto.getRandomValues", "request_id", "preventScroll"} {
		if !strings.Contains(all, s) {
			t.Errorf("the scripts lack %q", s)
		}
	}
}

func TestStylesheetRespectsPreferences(t *testing.T) {
	b, err := fs.ReadFile(Static, "static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"prefers-reduced-motion", "prefers-color-scheme: dark", ".visually-hidden", ".key--hit", ".key--miss", "min-height: 4"} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("app.css lacks %q", s)
		}
	}
}

// A page's title names the page and then the game, once.
func TestPageTitle(t *testing.T) {
	for in, want := range map[string]string{"": "Gallows", "Gallows": "Gallows", "Room ABCDE": "Room ABCDE · Gallows"} {
		if got := pageTitle(in); got != want {
			t.Errorf("pageTitle(%q) = %q, want %q", in, got, want)
		}
	}
}
