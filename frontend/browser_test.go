package frontend_test

// Browser tests: a real headless Chromium (Debian's chromium) against real
// backends and frontends (internal/localcluster). They check what a player
// sees: live updates across frontends, a leader kill that no tab notices
// beyond a short wait, the game without JavaScript, and screenshots of the
// main pages for docs/screenshots. The harness is in browser_harness_test.go.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

// brRoom is the part of the JSON API's room that these tests read.
type brRoom struct {
	ID      string   `json:"id"`
	Version uint64   `json:"version"`
	Round   int      `json:"round"`
	Status  string   `json:"status"`
	Masked  string   `json:"masked"`
	Guessed []string `json:"guessed"`
	Wrong   []string `json:"wrong"`
	Word    string   `json:"word"`
}

// brAPI calls the JSON API and decodes the room it answers.
func brAPI(t *testing.T, method, url string, body any, want int) brRoom {
	t.Helper()
	var r brRoom
	mustDo(t, method, url, body, want, &r)
	return r
}

// brAPIAs calls the JSON API as player p and decodes the room it answers.
func brAPIAs(t *testing.T, p apiPlayer, method, url string, body any, want int) brRoom {
	t.Helper()
	var r brRoom
	mustDoAs(t, p, method, url, body, want, &r)
	return r
}

// brGuessAPI guesses a letter through the JSON API, as another player would.
func brGuessAPI(t *testing.T, base, room string, p apiPlayer, letter string) brRoom {
	t.Helper()
	return brAPIAs(t, p, "POST", base+"/api/rooms/"+room+"/guesses",
		map[string]string{"letter": letter, "request_id": p.Name + "-" + letter}, http.StatusOK)
}

// brPlayers starts a session on base for each name.
func brPlayers(t *testing.T, base string, names ...string) map[string]apiPlayer {
	t.Helper()
	out := map[string]apiPlayer{}
	for _, n := range names {
		out[n] = newPlayer(t, base, n)
	}
	return out
}

// brVersionJS is true once #room shows version v.
func brVersionJS(v uint64) string {
	return fmt.Sprintf(`document.getElementById('room').getAttribute('data-version') === '%d'`, v)
}

// brKey selects the on-screen key of a letter inside #room.
func brKey(letter string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`#room button[name="letter"][value=%q]`, letter))
}

// brKeyJS is a JavaScript expression for the key of a letter.
func brKeyJS(letter string) string {
	return fmt.Sprintf(`document.querySelector('#room button[name="letter"][value=%q]')`, letter)
}

// brKeyHitJS is true once the tab shows letter as a correct guess: marked
// hit and no longer pressable.
func brKeyHitJS(letter string) string {
	return fmt.Sprintf(`(k => !!k && k.classList.contains('key--hit') && k.disabled)(%s)`, brKeyJS(letter))
}

// brMarkPage stores a random id in the page, to tell later that the page
// was not reloaded, and returns it.
func brMarkPage(tab *brTab) string {
	return brEval[string](tab, "mark the page", `window.__pageId = window.__pageId || (Math.random().toString(36).slice(2) + Date.now())`)
}

// brWatchVersions records every version #room shows from now on into
// window.__versions: the current one, then the new value of each change of
// its data-version attribute, in order.
func brWatchVersions(tab *brTab) uint64 {
	return brEval[uint64](tab, "watch #room's versions", `(() => {
		const room = document.getElementById('room');
		const current = () => Number(room.getAttribute('data-version'));
		window.__versions = [current()];
		new MutationObserver(records => {
			records.forEach((r, i) => {
				// Each record's new value is the next record's old one.
				window.__versions.push(i + 1 < records.length ? Number(records[i + 1].oldValue) : current());
			});
		}).observe(room, {attributes: true, attributeFilter: ['data-version'], attributeOldValue: true});
		return window.__versions[0];
	})()`)
}

// brOpenRoom loads a room page as player p (its session cookie) and waits
// for its websocket. Opening the page makes p a player of record.
func brOpenRoom(t *testing.T, tab *brTab, base, room string, p apiPlayer) {
	t.Helper()
	tab.do("set the session cookie", brSetSession(base, p))
	tab.navigate(base + "/rooms/" + room)
	tab.waitSocket("/ws/rooms/"+room, brStepTimeout)
	if got := brEval[string](tab, "read the player", `document.getElementById('room').getAttribute('data-player')`); got != p.Name {
		t.Fatalf("tab %s: #room plays as %q, want %q", tab.name, got, p.Name)
	}
}

// brGuessUntilSeen clicks letter's key in clicker until the guess is
// acknowledged (a refusal, e.g. no_quorum while a leader is elected, is
// shown in #status and the key can be pressed again), then waits until every
// tab shows it. The letter must be in the word.
func brGuessUntilSeen(t *testing.T, clicker *brTab, letter string, tabs []*brTab, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	left := func() time.Duration { return max(time.Until(deadline), time.Second) }
	settled := fmt.Sprintf(`(k => !!k && (k.classList.contains('key--hit') ||
		(!k.classList.contains('key--pending') && document.getElementById('status').textContent !== '')))(%s)`, brKeyJS(letter))
	for attempt := 1; ; attempt++ {
		// Clicked from the page: a pushed state (a new version, or who is
		// online) may replace the keys at any moment, which a click by
		// node id would miss.
		clicker.eval("click "+letter, brKeyJS(letter)+`.click()`)
		clicker.waitJS(left(), "the guess of "+letter+" to be answered", settled)
		if brEval[bool](clicker, "read the key", brKeyHitJS(letter)) {
			break
		}
		msg := brEval[string](clicker, "read the status", `document.getElementById('status').textContent`)
		t.Logf("tab %s: guess %q, attempt %d refused: %q", clicker.name, letter, attempt, msg)
		if time.Now().After(deadline) {
			t.Fatalf("tab %s: guess %q still refused after %v", clicker.name, letter, timeout)
		}
		// Clear the message so that the next refusal is seen as new.
		clicker.eval("clear the status", `document.getElementById('status').textContent = ''`)
	}
	for _, tab := range tabs {
		tab.waitJS(left(), "the key "+letter+" marked hit", brKeyHitJS(letter))
	}
}

// After "Next round", keyboard focus goes to the new round's keyboard in
// the host's tab, which had it on the next-round button: not to the page
// and not to the host's "Skip", where another Enter would skip the round
// that just began. The other player's tab shows no next-round button (the
// host's form is hidden there) but says who starts the next round.
func TestBrowserFocusAfterNextRound(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ps := brPlayers(t, base, "mo", "ana")
	// A room of random words, where the host plays too.
	room := brAPIAs(t, ps["mo"], "POST", base+"/api/rooms", map[string]any{"category": "animals"}, http.StatusCreated)
	b := brStartBrowser(t, 1280, 900)
	host, other := b.newTab("host", tabOption{}), b.newTab("other", tabOption{})
	brOpenRoom(t, host, base, room.ID, ps["mo"])
	brOpenRoom(t, other, base, room.ID, ps["ana"])
	// ana plays the round to its end, won or lost.
	for _, l := range strings.Split("etaoinshrdlucmfwypvbgkqjxz", "") {
		if r := brGuessAPI(t, base, room.ID, ps["ana"], l); r.Status != "playing" {
			break
		}
	}
	const nextButton = `[...document.querySelectorAll('#room form[data-ws="next_round"]:not([hidden]) button')][0]`
	const waitNote = `[...document.querySelectorAll('#room .next-round-wait:not([hidden])')].map(e => e.textContent.trim()).join()`
	host.waitJS(brStepTimeout, "the next-round button", `!!`+nextButton)
	other.waitJS(brStepTimeout, "the round over", `document.querySelector('#room .room-body').getAttribute('data-status') !== 'playing'`)
	if brEval[bool](other, "look for a next-round button", `!!`+nextButton) {
		t.Error("the other player's tab shows a next-round button: only the host starts the next round")
	}
	if got := brEval[string](other, "read the wait note", waitNote); got != "The host, mo, starts the next round." {
		t.Errorf("the other player's tab says %q, want who starts the next round", got)
	}
	if got := brEval[string](host, "read the wait note", waitNote); got != "" {
		t.Errorf("the host's tab says %q, want no wait note", got)
	}
	host.eval("focus the next-round button", nextButton+`.focus()`)
	host.eval("start the next round", nextButton+`.click()`)
	for _, tab := range []*brTab{host, other} {
		tab.waitJS(brStepTimeout, "round 2 shown", `!!document.querySelector('#room [data-round="2"]')`)
		tab.noExceptions()
	}
	got := brEval[string](host, "read the focused element", `(e => e.tagName + ' ' + (e.name || '') + ' ' + e.disabled + ' ' + e.textContent.trim())(document.activeElement)`)
	if !strings.HasPrefix(got, "BUTTON letter false") {
		t.Errorf("host's tab: focus on %q after the next round began, want an enabled letter key", got)
	}
}

// TestBrowserLiveAcrossFrontends: a guess in a tab served by one frontend
// shows up in a tab served by another within a second, with no reload.
func TestBrowserLiveAcrossFrontends(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 2})
	f1, f2 := s.URLs()[0], s.URLs()[1]
	room := brAPIAs(t, newPlayer(t, f1, "host"), "POST", f1+"/api/rooms", map[string]any{"word": "quick brown fox", "max_lives": 8}, http.StatusCreated)

	b := brStartBrowser(t, 1280, 900)
	a := b.newTab("A", tabOption{})
	bo := b.newTab("B", tabOption{})

	// A joins through the home page's "Join by code" form on frontend 1:
	// the form starts A's session, and the room page makes A a player.
	a.navigate(f1 + "/")
	a.do("fill the join form",
		chromedp.SendKeys(chromedp.ID("join-code"), strings.ToLower(room.ID)),
		chromedp.SendKeys(chromedp.ID("join-player"), "ana"))
	if u := a.submit("join the room", chromedp.Click(chromedp.CSS(`form[action="/join"] button[type="submit"]`))); !strings.HasSuffix(u, "/rooms/"+room.ID) {
		t.Fatalf("joining led to %s, want the room %s", u, room.ID)
	}
	if got := brEval[string](a, "read who plays", `document.querySelector('.whoami strong').textContent`); got != "ana" {
		t.Errorf("header says playing as %q, want ana", got)
	}
	// B follows a link to the room on frontend 2 and picks a nickname in
	// the room page's form: frontend 2 starts B's session.
	bo.navigate(f2 + "/rooms/" + room.ID)
	bo.do("fill the nickname", chromedp.SendKeys(chromedp.ID("room-join-player"), "bo"))
	if u := bo.submit("join the room", chromedp.Click(chromedp.CSS(`form.join-inline button[type="submit"]`))); !strings.HasSuffix(u, "/rooms/"+room.ID) {
		t.Fatalf("joining led to %s, want the room %s", u, room.ID)
	}
	// Both joined: version 3.
	for _, tc := range []struct {
		tab    *brTab
		player string
	}{{a, "ana"}, {bo, "bo"}} {
		tc.tab.waitSocket("/ws/rooms/"+room.ID, brStepTimeout)
		tc.tab.waitJS(brStepTimeout, "both players joined", brVersionJS(3))
		if got := brEval[string](tc.tab, "read the room", `document.getElementById('room').getAttribute('data-player')`); got != tc.player {
			t.Errorf("tab %s: #room plays as %q, want %q", tc.tab.name, got, tc.player)
		}
	}
	idA, idB := brMarkPage(a), brMarkPage(bo)
	navA, openA, closedA, _ := a.stats()
	navB, openB, closedB, _ := bo.stats()

	// A round trip first: B's guess reaches both tabs, so both sockets and
	// both frontends' room watches are live.
	start := time.Now()
	brGuessUntilSeen(t, bo, "o", []*brTab{a, bo}, brStepTimeout)
	t.Logf("warm-up: B's guess O seen in both tabs after %v", time.Since(start).Round(time.Millisecond))

	// Now measure: A clicks Q; when does B's DOM show it? Both moments are
	// taken in the pages, on the same clock: a capturing click listener in
	// A, a MutationObserver in B.
	a.eval("time the click", `window.__clickAt = 0; document.addEventListener('click', e => {
		if (!window.__clickAt && e.target.closest && e.target.closest('button[name="letter"][value="q"]')) window.__clickAt = performance.timeOrigin + performance.now();
	}, true)`)
	bo.eval("time the update", fmt.Sprintf(`(() => {
		window.__hitAt = 0;
		const room = document.getElementById('room');
		const check = () => { if (!window.__hitAt && %s) window.__hitAt = performance.timeOrigin + performance.now(); };
		new MutationObserver(check).observe(room, {childList: true, subtree: true, attributes: true});
		check();
	})()`, brKeyHitJS("q")))
	seen := make(chan error, 1)
	var seenAt time.Time
	go func() {
		err := bo.tryWaitJS(brStepTimeout, "window.__hitAt > 0")
		seenAt = time.Now()
		seen <- err
	}()
	clickAt := time.Now()
	a.eval("click Q", brKeyJS("q")+`.click()`)
	if err := <-seen; err != nil {
		t.Fatalf("tab B never showed A's guess Q: %v%s", err, bo.debugState())
	}
	outer := seenAt.Sub(clickAt)
	clickMs := brEval[float64](a, "read the click time", `window.__clickAt`)
	hitMs := brEval[float64](bo, "read the update time", `window.__hitAt`)
	if clickMs == 0 {
		t.Fatal("tab A saw no click on Q")
	}
	latency := time.Duration((hitMs - clickMs) * float64(time.Millisecond))
	t.Logf("latency from A's click on Q to B's DOM showing it: %v in the pages (%v measured from the test, CDP round trips included)",
		latency.Round(100*time.Microsecond), outer.Round(time.Millisecond))
	if latency < 0 || latency >= time.Second {
		t.Errorf("B showed A's guess %v after the click, want under 1s", latency)
	}
	a.waitJS(brStepTimeout, "A to show its own guess", brKeyHitJS("q"))

	// The guesses went over the websockets: no page was reloaded, no socket
	// dropped, nothing thrown.
	for _, tc := range []struct {
		tab                       *brTab
		id                        string
		navWas, openWas, closeWas int
		version                   uint64
	}{{a, idA, navA, openA, closedA, 5}, {bo, idB, navB, openB, closedB, 5}} {
		if got := brEval[string](tc.tab, "read the page id", `window.__pageId || ''`); got != tc.id {
			t.Errorf("tab %s was reloaded", tc.tab.name)
		}
		nav, opened, closed, _ := tc.tab.stats()
		if nav != tc.navWas || opened != tc.openWas || closed != tc.closeWas {
			t.Errorf("tab %s: %d navigations during play, %d websockets opened, %d closed; want none",
				tc.tab.name, nav-tc.navWas, opened-tc.openWas, closed-tc.closeWas)
		}
		tc.tab.waitJS(brStepTimeout, fmt.Sprintf("version %d", tc.version), fmt.Sprintf(`document.getElementById('room').getAttribute('data-version') === '%d'`, tc.version))
		tc.tab.noExceptions()
	}
}

// TestBrowserSurvivesLeaderKill: the Raft leader dies mid-game; both tabs
// keep playing without a reload, and no tab ever shows an older version
// than one it showed before.
func TestBrowserSurvivesLeaderKill(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 2})
	f1, f2 := s.URLs()[0], s.URLs()[1]
	ps := brPlayers(t, f1, "host", "ana", "bo")
	room := brAPIAs(t, ps["host"], "POST", f1+"/api/rooms", map[string]any{"word": "quick brown fox", "max_lives": 10}, http.StatusCreated)

	b := brStartBrowser(t, 1280, 900)
	a := b.newTab("A", tabOption{})
	bo := b.newTab("B", tabOption{})
	brOpenRoom(t, a, f1, room.ID, ps["ana"])
	brOpenRoom(t, bo, f2, room.ID, ps["bo"])
	tabs := []*brTab{a, bo}
	ids := map[*brTab]string{}
	navs := map[*brTab]int{}
	for _, tab := range tabs {
		ids[tab] = brMarkPage(tab)
		// Opening the pages made ana and bo players: version 3.
		tab.waitJS(brStepTimeout, "both players joined", brVersionJS(3))
		if v := brWatchVersions(tab); v != 3 {
			t.Fatalf("tab %s starts at version %d, want 3", tab.name, v)
		}
		navs[tab], _, _, _ = tab.stats()
	}

	for i, l := range []string{"q", "u", "i"} {
		brGuessUntilSeen(t, tabs[i%2], l, tabs, brStepTimeout)
	}

	leader := s.Leader()
	killedAt := time.Now()
	s.Kill(leader.ID())
	t.Logf("killed the leader %s", leader.ID())

	for i, l := range []string{"c", "k", "b", "r"} {
		brGuessUntilSeen(t, tabs[i%2], l, tabs, 45*time.Second)
		if i == 0 {
			t.Logf("first guess after the kill seen in both tabs %v after the kill", time.Since(killedAt).Round(time.Millisecond))
		}
	}
	t.Logf("new leader: %s", s.Leader().ID())

	final := brAPI(t, "GET", f1+"/api/rooms/"+room.ID, nil, http.StatusOK)
	for _, l := range []string{"q", "u", "i", "c", "k", "b", "r"} {
		if !slices.Contains(final.Guessed, l) {
			t.Errorf("the room lost the guess %q: guessed %v", l, final.Guessed)
		}
	}
	if final.Version != 10 {
		t.Errorf("room version %d after 2 joins and 7 guesses, want 10", final.Version)
	}
	for _, tab := range tabs {
		tab.waitJS(brStepTimeout, fmt.Sprintf("version %d", final.Version),
			fmt.Sprintf(`document.getElementById('room').getAttribute('data-version') === '%d'`, final.Version))
		if got := brEval[string](tab, "read the page id", `window.__pageId || ''`); got != ids[tab] {
			t.Errorf("tab %s was reloaded", tab.name)
		}
		nav, opened, closed, _ := tab.stats()
		if nav != navs[tab] {
			t.Errorf("tab %s navigated %d times during play, want 0", tab.name, nav-navs[tab])
		}
		versions := brEval[[]uint64](tab, "read the versions shown", `window.__versions`)
		t.Logf("tab %s showed versions %v (websockets opened %d, closed %d)", tab.name, versions, opened, closed)
		for i := 1; i < len(versions); i++ {
			if versions[i] < versions[i-1] {
				t.Errorf("tab %s went back in time: version %d after %d (all: %v)", tab.name, versions[i], versions[i-1], versions)
			}
		}
		if len(versions) == 0 || versions[len(versions)-1] != final.Version {
			t.Errorf("tab %s: versions shown %v, want to end at %d", tab.name, versions, final.Version)
		}
		tab.noExceptions()
	}
}

// TestBrowserNoJavaScript plays a whole round with JavaScript off: every
// action is a plain form post that reloads the page.
func TestBrowserNoJavaScript(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]

	b := brStartBrowser(t, 1280, 900)
	host := b.newTab("noscript-host", tabOption{noScript: true})
	host.navigate(base + "/")
	host.do("fill the create form",
		chromedp.SendKeys(chromedp.ID("create-player"), "mo"),
		chromedp.SendKeys(chromedp.ID("create-word"), "ox"))
	u := host.submit("create the room", chromedp.Click(chromedp.CSS(`form[action="/rooms"] button[type="submit"]`)))
	code, ok := strings.CutPrefix(u, base+"/rooms/")
	if !ok || len(code) == 0 || strings.ContainsAny(code, "?/") {
		t.Fatalf("creating a room led to %s, want a room page", u)
	}
	t.Logf("room %s", code)

	// state reads what the page shows.
	type state struct {
		Version string   `json:"version"`
		Round   string   `json:"round"`
		Status  string   `json:"status"`
		Word    string   `json:"word"`
		Lives   string   `json:"lives"`
		Wrong   []string `json:"wrong"`
		Hit     []string `json:"hit"`
		Miss    []string `json:"miss"`
		Enabled int      `json:"enabled"`
		Banner  string   `json:"banner"`
		Next    string   `json:"next"`
		Meta    string   `json:"meta"`
		Watch   bool     `json:"watch"`
	}
	read := func(tab *brTab) state {
		t.Helper()
		return brEval[state](tab, "read the room", `(() => {
			const body = document.querySelector('#room .room-body');
			const texts = sel => [...document.querySelectorAll(sel)].map(e => e.textContent.trim());
			const keys = state => [...document.querySelectorAll('#room .key--' + state)].map(k => k.value);
			const next = document.querySelector('#room form.next-round button');
			const banner = document.querySelector('#room .banner');
			return {
				version: body.getAttribute('data-version'),
				round: body.getAttribute('data-round'),
				status: body.getAttribute('data-status'),
				word: texts('#room .word .cell').map(c => c || '_').join(''),
				lives: document.querySelector('#room .lives__n').textContent,
				wrong: texts('#room .wrong__letter'),
				hit: keys('hit'),
				miss: keys('miss'),
				enabled: document.querySelectorAll('#room button[name="letter"]:not(:disabled)').length,
				watch: !!document.querySelector('#room .watch-note'),
				banner: banner ? banner.textContent.replace(/\s+/g, ' ').trim() : '',
				next: next ? next.textContent.trim() : '',
				meta: document.querySelector('#room .room-info__meta').textContent.replace(/\s+/g, ' ').trim(),
			};
		})()`)
	}
	// The host chose the word: no keyboard, a note saying why, and the
	// host may skip the round (without JavaScript the form is there).
	st := read(host)
	if st.Round != "1" || st.Status != "playing" || st.Word != "__" || st.Lives != "6" || st.Enabled != 0 || !st.Watch || st.Meta != "Custom word by mo" {
		t.Fatalf("new room shows its host %+v", st)
	}
	if st.Next != "Skip to next round" {
		t.Errorf("host's skip button = %q", st.Next)
	}

	// Another player comes by the code and picks a nickname: joined.
	tab := b.newTab("noscript", tabOption{noScript: true})
	tab.navigate(base + "/rooms/" + code)
	tab.do("pick a nickname", chromedp.SendKeys(chromedp.ID("room-join-player"), "ana"))
	tab.submit("join", chromedp.Click(chromedp.CSS(`form.join-inline button[type="submit"]`)))
	if st := read(tab); st.Version != "2" || st.Enabled != 26 || st.Watch || st.Next != "" {
		t.Fatalf("the player who joined sees %+v", st)
	}

	// post submits a form and reads the page it leads to: the room, at
	// version want. Room reads go to the leader, so the page after the
	// redirect already shows the player's own write.
	post := func(tab *brTab, what string, action chromedp.Action[chromedp.Void], want int) state {
		t.Helper()
		room := base + "/rooms/" + code
		if u := tab.submit(what, action); u != room {
			t.Fatalf("%s led to %s, want %s", what, u, room)
		}
		st := read(tab)
		if v, _ := strconv.Atoi(st.Version); v != want {
			t.Fatalf("%s: the page after the redirect shows version %s, want %d (a stale read)", what, st.Version, want)
		}
		return st
	}
	click := func(letter string, want int) state {
		t.Helper()
		return post(tab, "guess "+letter, chromedp.Click(brKey(letter)), want)
	}
	st = click("a", 3)
	if st.Lives != "5" || !slices.Equal(st.Miss, []string{"a"}) || !slices.Equal(st.Wrong, []string{"a"}) || st.Word != "__" || st.Enabled != 25 {
		t.Errorf("after the miss A the page shows %+v", st)
	}
	st = click("o", 4)
	if st.Word != "o_" || !slices.Equal(st.Hit, []string{"o"}) || st.Status != "playing" {
		t.Errorf("after the hit O the page shows %+v", st)
	}
	st = click("x", 5)
	if st.Status != "won" || st.Word != "ox" || st.Enabled != 0 || !strings.Contains(st.Banner, "Solved!") ||
		!strings.Contains(st.Banner, "The word was ox.") || st.Next != "" || st.Version != "5" {
		t.Fatalf("after the last letter the page shows %+v", st)
	}

	host.navigate(base + "/rooms/" + code)
	if st := read(host); st.Next != "Next round" {
		t.Fatalf("the host's page after the win shows %+v", st)
	}
	// The host of a custom-word room types each round's word.
	host.do("type the next word", chromedp.SendKeys(chromedp.ID("next-word"), "raft"))
	post(host, "next round", chromedp.Click(chromedp.CSS(`#room form.next-round button`)), 6)
	tab.navigate(base + "/rooms/" + code)
	st = read(tab)
	if st.Round != "2" || st.Status != "playing" || st.Banner != "" || len(st.Hit)+len(st.Miss) != 0 || st.Enabled != 26 ||
		st.Lives != "6" || strings.Trim(st.Word, "_ -'") != "" {
		t.Errorf("the next round shows %+v", st)
	}
	if got := brEval[string](tab, "read the round", `document.querySelector('#room .room-info__round').textContent.replace(/\s+/g, " ").trim()`); got != "Round 2 of 5" {
		t.Errorf("round line = %q, want Round 2 of 5 (the form makes matches of 5 rounds)", got)
	}
	if r := brAPI(t, "GET", base+"/api/rooms/"+code, nil, http.StatusOK); r.Round != 2 || r.Status != "playing" {
		t.Errorf("API room after next round: %+v", r)
	}

	// Without JavaScript the page never opened a websocket, and every
	// action above was a page load.
	nav, opened, _, _ := tab.stats()
	if opened != 0 {
		t.Errorf("%d websockets opened with JavaScript disabled", opened)
	}
	if nav < 6 {
		t.Errorf("%d page loads, want at least 6 (room, join, 3 guesses, round 2)", nav)
	}
}

// TestBrowserScreenshots shoots the main pages (for docs/screenshots; set
// GALLOWS_SCREENSHOTS to keep them) and checks what each one shows.
func TestBrowserScreenshots(t *testing.T) {
	brChromium(t)
	dir := os.Getenv("GALLOWS_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]

	// Rooms: an open one from a category, one mid-game, one lost.
	ps := brPlayers(t, base, "ana", "bo", "cy", "mo")
	open := brAPIAs(t, ps["cy"], "POST", base+"/api/rooms", map[string]any{"category": "animals", "difficulty": "easy"}, http.StatusCreated)
	mid := brAPIAs(t, ps["mo"], "POST", base+"/api/rooms", map[string]any{"word": "raft consensus"}, http.StatusCreated)
	for _, g := range [][2]string{{"bo", "s"}, {"ana", "z"}, {"bo", "n"}, {"cy", "k"}, {"bo", "r"}} {
		brGuessAPI(t, base, mid.ID, ps[g[0]], g[1])
	}
	lost := brAPIAs(t, ps["mo"], "POST", base+"/api/rooms", map[string]any{"word": "gallows"}, http.StatusCreated)
	for _, g := range [][2]string{{"bo", "g"}, {"ana", "a"}, {"bo", "e"}, {"cy", "i"}, {"bo", "u"}, {"ana", "t"}, {"bo", "y"}} {
		brGuessAPI(t, base, lost.ID, ps[g[0]], g[1])
	}

	b := brStartBrowser(t, 1280, 900)
	desk := b.newTab("desktop", tabOption{})
	phone := b.newTab("phone", tabOption{width: 390, height: 844, mobile: true})
	for _, tab := range []*brTab{desk, phone} {
		// Light scheme, no motion: the same pixels on every run.
		tab.do("emulate media", brCall(emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}, {Name: "prefers-reduced-motion", Value: "reduce"}},
		}))
		tab.do("set the session cookie", brSetSession(base, ps["ana"]))
	}

	shoot := func(tab *brTab, name string) {
		t.Helper()
		// Settled: fonts loaded, no animation running, no horizontal scroll.
		tab.waitJS(brStepTimeout, "the page to settle", `document.fonts.status === 'loaded' &&
			document.getAnimations().every(a => a.playState !== 'running')`)
		// And painted: two animation frames.
		tab.await("wait for a paint", `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`)
		if over := brEval[int](tab, "measure the overflow", `document.documentElement.scrollWidth - document.documentElement.clientWidth`); over > 0 {
			t.Errorf("%s: the page is %dpx wider than the viewport", name, over)
		}
		png, err := brRun(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		p := filepath.Join(dir, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s (%d KiB)", p, len(png)>>10)
	}

	// Mid-game: ana guesses one more letter live, then the page shows hits
	// and misses.
	brOpenRoom(t, desk, base, mid.ID, ps["ana"])
	brGuessUntilSeen(t, desk, "a", []*brTab{desk}, brStepTimeout)
	type roomFacts struct {
		Status  string   `json:"status"`
		Word    string   `json:"word"`
		Hit     []string `json:"hit"`
		Miss    []string `json:"miss"`
		Marks   string   `json:"marks"`
		Parts   int      `json:"parts"`
		Hearts  string   `json:"hearts"`
		Banner  string   `json:"banner"`
		Players []string `json:"players"`
		Served  string   `json:"served"`
		Skip    bool     `json:"skip"`
		Broken  int      `json:"broken"`
	}
	facts := func(tab *brTab) roomFacts {
		t.Helper()
		return brEval[roomFacts](tab, "read the room", `(() => {
			const q = s => document.querySelector('#room ' + s);
			const all = s => [...document.querySelectorAll('#room ' + s)];
			const banner = q('.banner');
			return {
				status: q('.room-body').getAttribute('data-status'),
				word: all('.word .cell').map(c => c.textContent || '_').join(''),
				hit: all('.key--hit').map(k => k.value),
				miss: all('.key--miss').map(k => k.value),
				marks: all('.key__mark').map(m => m.textContent).join(''),
				parts: all('.gallows__figure .part').length,
				hearts: q('.hearts').textContent.replace(/\s+/g, ''),
				banner: banner ? banner.textContent.replace(/\s+/g, ' ').trim() : '',
				// * marks the row in bold, + shows the "you" tag.
				players: all('.player').map(p => p.getAttribute('data-player-name') +
					(p.classList.contains('player--you') ? '*' : '') +
					([...p.querySelectorAll('.tag--you')].some(t => t.getClientRects().length > 0) ? '+' : '')),
				served: q('.served code').textContent,
				skip: all('form.next-round').some(f => f.getClientRects().length > 0),
				// Words of the answer drawn over more than one line.
				broken: all('.word__group').filter(g =>
					new Set([...g.children].map(c => Math.round(c.getBoundingClientRect().top))).size > 1).length,
			};
		})()`)
	}
	f := facts(desk)
	if f.Status != "playing" || f.Word != "ra__ __ns_ns_s" || !slices.Equal(f.Hit, []string{"a", "n", "r", "s"}) ||
		!slices.Equal(f.Miss, []string{"k", "z"}) || f.Marks != "✓✗✓✓✓✗" || f.Parts != 2 || f.Hearts != "♥♥♥♥♡♡" {
		t.Errorf("mid-game room shows %+v", f)
	}
	// The page shows the live state: ana's row marked as hers, no skip
	// button (mo hosts), the answer broken between its words only.
	if !slices.Equal(f.Players, []string{"mo", "bo", "ana*+", "cy"}) || !strings.HasPrefix(f.Served, "b") || f.Skip || f.Broken != 0 {
		t.Errorf("mid-game room: players %v (* bold, + tagged you), served by %q, skip button shown %v, words broken %d",
			f.Players, f.Served, f.Skip, f.Broken)
	}
	desk.waitJS(brStepTimeout, "ana shown online", `document.querySelector('#room .player[data-player-name="ana"]').getAttribute('data-online') === 'true'`)
	shoot(desk, "room-playing")

	// The same room on a phone.
	brOpenRoom(t, phone, base, mid.ID, ps["ana"])
	// The page may come from a follower a version behind; the socket then
	// brings it up to date.
	phone.waitJS(brStepTimeout, "the phone to show version 7", `document.getElementById('room').getAttribute('data-version') === '7'`)
	if f := facts(phone); f.Word != "ra__ __ns_ns_s" || len(f.Hit) != 4 || len(f.Miss) != 2 ||
		!slices.Equal(f.Players, []string{"mo", "bo", "ana*+", "cy"}) || f.Skip || f.Broken != 0 {
		t.Errorf("phone room shows %+v", f)
	}
	// The keys must all fit: each one inside the viewport and at least 44px.
	if bad := brEval[[]string](phone, "measure the keys", `[...document.querySelectorAll('#room .key')].filter(k => {
		const r = k.getBoundingClientRect();
		return r.left < 0 || r.right > window.innerWidth || r.width < 44 || r.height < 44;
	}).map(k => k.value)`); len(bad) > 0 {
		t.Errorf("phone: keys %v overflow or are smaller than 44px", bad)
	}
	phone.waitJS(brStepTimeout, "ana shown online", `document.querySelector('#room .player[data-player-name="ana"]').getAttribute('data-online') === 'true'`)
	shoot(phone, "room-playing-phone")

	// Lost: ana's last wrong guess hangs the figure and reveals the word.
	brOpenRoom(t, desk, base, lost.ID, ps["ana"])
	desk.eval("guess the last wrong letter", brKeyJS("d")+`.click()`)
	desk.waitJS(brStepTimeout, "the round to be lost", `document.querySelector('#room .room-body').getAttribute('data-status') === 'lost'`)
	f = facts(desk)
	if !strings.Contains(f.Banner, "Hanged!") || !strings.Contains(f.Banner, "The word was gallows.") || f.Word != "gallows" ||
		f.Parts != 6 || f.Hearts != "♡♡♡♡♡♡" || len(f.Miss) != 6 {
		t.Errorf("lost room shows %+v", f)
	}
	if n := brEval[int](desk, "count the usable keys", `document.querySelectorAll('#room button[name="letter"]:not(:disabled)').length`); n != 0 {
		t.Errorf("%d keys still usable after the round was lost", n)
	}
	// mo hosts: ana is told who starts the next round, and has no button.
	if got := brEval[string](desk, "read the next round button", `(b => b ? b.textContent.trim() : '')(document.querySelector('#room form.next-round:not([hidden]) button'))`); got != "" {
		t.Errorf("lost room shows ana the button %q; only the host, mo, starts the next round", got)
	}
	if got := brEval[string](desk, "read the wait note", `(e => e ? e.textContent.trim() : '')(document.querySelector('#room .next-round-wait:not([hidden])'))`); got != "The host, mo, starts the next round." {
		t.Errorf("lost room's note = %q, want who starts the next round", got)
	}
	shoot(desk, "room-lost")

	// The end of a one-round match: the podium, and the host's rematch.
	match := brAPIAs(t, ps["ana"], "POST", base+"/api/rooms", map[string]any{"word": "podium", "rounds": 1}, http.StatusCreated)
	for _, g := range [][2]string{{"bo", "o"}, {"cy", "p"}, {"bo", "d"}, {"mo", "x"}, {"cy", "i"}, {"mo", "u"}, {"bo", "m"}} {
		brGuessAPI(t, base, match.ID, ps[g[0]], g[1])
	}
	brOpenRoom(t, desk, base, match.ID, ps["ana"])
	desk.waitJS(brStepTimeout, "the podium", `!!document.querySelector('#room .podium')`)
	if got := brEval[string](desk, "read the podium", `[...document.querySelectorAll('#room .podium__name')].map(e => e.textContent).join()`); got != "bo,cy,mo" {
		t.Errorf("podium %q, want bo,cy,mo", got)
	}
	desk.waitJS(brStepTimeout, "ana shown online", `document.querySelector('#room .player[data-player-name="ana"]').getAttribute('data-online') === 'true'`)
	shoot(desk, "room-podium")
	brOpenRoom(t, phone, base, match.ID, ps["ana"])
	phone.waitJS(brStepTimeout, "the podium", `!!document.querySelector('#room .podium')`)
	phone.waitJS(brStepTimeout, "ana shown online", `document.querySelector('#room .player[data-player-name="ana"]').getAttribute('data-online') === 'true'`)
	shoot(phone, "room-podium-phone")

	// Home: the rooms still played are listed, the lost one is not.
	want := []string{mid.ID, open.ID}
	slices.Sort(want)
	// The list is read from the leader, so it already knows of the loss.
	desk.navigate(base + "/")
	if home := brEval[[]string](desk, "list the rooms", `[...document.querySelectorAll('.rooms .room-card .code')].map(e => e.textContent).sort()`); !slices.Equal(home, want) {
		t.Fatalf("home lists rooms %v, want the open ones %v (not the lost %s)", home, want, lost.ID)
	}
	if got := brEval[string](desk, "read the nickname", `document.getElementById('create-player').value + '/' + document.querySelector('.whoami strong').textContent`); got != "ana/ana" {
		t.Errorf("nickname field/header = %q, want ana/ana", got)
	}
	shoot(desk, "home")

	// The cluster panel: three nodes, one leader, the one the backends agree on.
	leader := s.Leader().ID()
	desk.navigate(base + "/cluster")
	desk.waitSocket("/ws/cluster", brStepTimeout)
	desk.waitJS(brStepTimeout, "three nodes with one leader and two followers", `
		document.querySelectorAll('#cluster tr.node').length === 3 &&
		document.querySelectorAll('#cluster tr.node[data-leader="true"]').length === 1 &&
		document.querySelectorAll('#cluster tr.node--follower').length === 2`)
	type clusterFacts struct {
		Nodes  []string `json:"nodes"`
		Leader string   `json:"leader"`
		Badge  string   `json:"badge"`
	}
	cf := brEval[clusterFacts](desk, "read the cluster", `({
		nodes: [...document.querySelectorAll('#cluster tr.node')].map(r => r.getAttribute('data-node')).sort(),
		leader: document.querySelector('#cluster tr.node[data-leader="true"]').getAttribute('data-node'),
		badge: document.querySelector('#cluster .badge--leader').textContent.replace('★', '').trim(),
	})`)
	if !slices.Equal(cf.Nodes, []string{"b1", "b2", "b3"}) || cf.Leader != leader || cf.Badge != leader {
		t.Errorf("cluster panel shows %+v, want nodes b1..b3 led by %s", cf, leader)
	}
	// A table on a wide screen: each row's cells under the headings.
	if bad := brEval[[]string](desk, "align the table", `(() => {
		const left = el => Math.round(el.getBoundingClientRect().left);
		const heads = [...document.querySelectorAll('#cluster thead th')].map(left);
		return [...document.querySelectorAll('#cluster tbody tr')].filter(r => [...r.children].map(left).join() !== heads.join()).map(r => r.getAttribute('data-node'));
	})()`); len(bad) > 0 {
		t.Errorf("cluster rows %v are not aligned with the headings", bad)
	}
	shoot(desk, "cluster")

	// The leaderboard, live from the scores gossip: ana's row is marked.
	desk.navigate(base + "/leaderboard")
	desk.waitSocket("/ws/leaderboard", brStepTimeout)
	desk.waitJS(brStepTimeout, "ana's row marked as the viewer's", `!!document.querySelector('#leaderboard tr.is-you[data-name="ana"]')`)
	shoot(desk, "leaderboard")

	for _, tab := range []*brTab{desk, phone} {
		tab.noExceptions()
	}
}

// TestBrowserProfilesAreTwoPlayers: a player is a session, kept in a
// browser profile's cookie. Two tabs of one profile are one player: the
// second tab plays as the first one's nickname without asking. Another
// profile is another player, even under the same nickname, which the room
// refuses to it (the name is taken there) until it picks another.
func TestBrowserProfilesAreTwoPlayers(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	created := brAPIAs(t, newPlayer(t, base, "host"), "POST", base+"/api/rooms", map[string]any{"word": "quick brown fox", "max_lives": 10}, http.StatusCreated)
	roomURL := base + "/rooms/" + created.ID

	b := brStartBrowser(t, 1280, 900)
	a1 := b.newTab("A1", tabOption{})
	other := b.newTab("B", tabOption{})

	// pick fills the room page's nickname form and submits it.
	pick := func(tab *brTab, name string) {
		t.Helper()
		tab.do("fill the nickname", chromedp.SendKeys(chromedp.ID("room-join-player"), name))
		if u := tab.submit("pick "+name, chromedp.Click(chromedp.CSS(`form.join-inline button[type="submit"]`))); u != roomURL {
			t.Fatalf("tab %s: picking %s led to %s, want %s", tab.name, name, u, roomURL)
		}
	}
	// facts reads who the page plays as and whether it asks for a nickname.
	type facts struct {
		Player string `json:"player"`
		Asks   bool   `json:"asks"`
		Status string `json:"status"`
	}
	read := func(tab *brTab) facts {
		t.Helper()
		return brEval[facts](tab, "read the page", `({
			player: document.getElementById('room').getAttribute('data-player'),
			asks: !!document.querySelector('form.join-inline'),
			status: document.getElementById('status').textContent.trim(),
		})`)
	}

	a1.navigate(roomURL)
	if f := read(a1); f.Player != "" || !f.Asks {
		t.Fatalf("a first visit shows %+v, want a form asking for a nickname", f)
	}
	pick(a1, "ana")
	a1.waitSocket("/ws/rooms/"+created.ID, brStepTimeout)
	if f := read(a1); f.Player != "ana" || f.Asks {
		t.Fatalf("after picking ana, tab A1 shows %+v", f)
	}

	// A second tab of the same profile is the same player, at once.
	a2 := b.sibling(a1, "A2")
	a2.navigate(roomURL)
	a2.waitSocket("/ws/rooms/"+created.ID, brStepTimeout)
	if f := read(a2); f.Player != "ana" || f.Asks {
		t.Errorf("a second tab of A's profile shows %+v, want it to play as ana", f)
	}

	// Another profile has no session: it is asked, and ana is taken.
	other.navigate(roomURL)
	if f := read(other); f.Player != "" || !f.Asks {
		t.Fatalf("another profile shows %+v, want a form asking for a nickname", f)
	}
	pick(other, "ana")
	if f := read(other); f.Player != "" || !f.Asks || !strings.Contains(f.Status, "Someone else plays in this room under that nickname") {
		t.Errorf("another profile picking ana shows %+v, want the name refused", f)
	}
	pick(other, "bo")
	other.waitSocket("/ws/rooms/"+created.ID, brStepTimeout)
	if f := read(other); f.Player != "bo" || f.Asks {
		t.Fatalf("after picking bo, the other profile shows %+v", f)
	}

	// Guesses from both tabs of A are ana's; B's are bo's.
	tabs := []*brTab{a1, a2, other}
	brGuessUntilSeen(t, a2, "q", tabs, brStepTimeout)
	brGuessUntilSeen(t, a1, "u", tabs, brStepTimeout)
	brGuessUntilSeen(t, other, "i", tabs, brStepTimeout)
	var r room
	mustDo(t, "GET", base+"/api/rooms/"+created.ID, nil, http.StatusOK, &r)
	var log []string
	for _, e := range r.Log {
		log = append(log, e.Player+":"+e.Letter)
	}
	if names := playerNames(r); !slices.Equal(names, []string{"host", "ana", "bo"}) || !slices.Equal(log, []string{"ana:q", "ana:u", "bo:i"}) {
		t.Errorf("players %v and log %v; want [host ana bo] and [ana:q ana:u bo:i]", names, log)
	}
	for _, tab := range tabs {
		tab.noExceptions()
	}
}

// In real browsers: a player who joins shows in the other player's tab
// before guessing, online; when the joiner's frontend is killed they turn
// offline there within 15 s, and online again once their tab is opened on
// the other frontend. The leaderboard page updates live.
func TestBrowserPresenceAndLiveLeaderboard(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 2})
	f1, f2 := s.URLs()[0], s.URLs()[1]
	ana, bo := newPlayer(t, f2, "ana"), newPlayer(t, f1, "bo")
	created := brAPIAs(t, ana, "POST", f2+"/api/rooms", map[string]any{"word": "quick brown fox", "max_lives": 10}, http.StatusCreated)

	b := brStartBrowser(t, 1280, 900)
	anaTab := b.newTab("ana", tabOption{})
	boTab := b.newTab("bo", tabOption{})
	board := b.newTab("board", tabOption{})
	brOpenRoom(t, anaTab, f2, created.ID, ana)

	state := func(name string) string {
		return `(() => { const li = document.querySelector('#room li[data-player-name="` + name + `"]');
			return li ? li.getAttribute('data-online') : 'absent'; })()`
	}
	// bo joins through f1: ana's tab on f2 shows bo at once, online,
	// before bo guesses anything.
	brOpenRoom(t, boTab, f1, created.ID, bo)
	anaTab.waitJS(10*time.Second, "bo online in ana's tab", state("bo")+` === 'true'`)

	board.do("open the leaderboard", chromedp.Navigate(f1+"/leaderboard"))
	board.waitSocket("/ws/leaderboard", brStepTimeout)
	points := `(() => { const td = document.querySelector('#leaderboard tr[data-name="bo"] td[data-label="Points"]');
		return td ? Number(td.textContent) : 0; })()`
	if got := brEval[float64](board, "bo's points before his guess", points); got != 0 {
		t.Fatalf("bo has %v points on the leaderboard before guessing", got)
	}
	brGuessAPI(t, f1, created.ID, bo, "q")
	board.waitJS(10*time.Second, "bo's points on the live leaderboard", points+` > 0`)

	if err := s.KillFrontend(0); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	anaTab.waitJS(20*time.Second, "bo offline in ana's tab", state("bo")+` === 'false'`)
	if gone := time.Since(killed); gone > 15*time.Second {
		t.Errorf("bo turned offline %v after his frontend died, want within 15 s", gone)
	}
	brOpenRoom(t, boTab, f2, created.ID, bo)
	anaTab.waitJS(10*time.Second, "bo online again in ana's tab", state("bo")+` === 'true'`)
	anaTab.noExceptions()
	boTab.noExceptions()
}
