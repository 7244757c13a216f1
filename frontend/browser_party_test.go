package frontend_test

// Browser tests of the party game: the lobby (joining, invites,
// spectators, private rooms), matches (a host who watches, podium and
// rematch), honest status (a guess kept through a quorum loss, a room that
// is gone) and the phone layout, each at desktop and phone size.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

// brSizes are the screens every party test runs on.
var brSizes = []struct {
	name string
	opt  tabOption
}{
	{"desktop", tabOption{width: 1280, height: 900}},
	{"phone", tabOption{width: 390, height: 844, mobile: true}},
}

// brVisibleJS is true when the element of selector sel is rendered.
func brVisibleJS(sel string) string {
	return fmt.Sprintf(`(e => !!e && e.getClientRects().length > 0 && !e.closest('[hidden]'))(document.querySelector(%q))`, sel)
}

// brStatusJS is the room's status attribute.
const brStatusJS = `document.querySelector('#room .room-body').getAttribute('data-status')`

// brPlayersJS lists the player rows of the room, name and "online" or
// "offline".
const brPlayersJS = `[...document.querySelectorAll('#room .player')].map(p => p.getAttribute('data-player-name') + ':' + (p.getAttribute('data-online') === 'true' ? 'online' : 'offline'))`

// brPlayRound clicks keys, most frequent letters first, until the round is
// over, waiting for each guess to be answered.
func brPlayRound(t *testing.T, tab *brTab) {
	t.Helper()
	for _, l := range strings.Split("etaoinshrdlucmfwypvbgkqjxz", "") {
		if brEval[string](tab, "read the status", brStatusJS) != "playing" {
			return
		}
		if !brEval[bool](tab, "look at the key "+l, fmt.Sprintf(`(k => !!k && !k.disabled)(%s)`, brKeyJS(l))) {
			continue
		}
		// Clicked from the page: a pushed state may replace the keys at any
		// moment, which a click by node id would miss.
		tab.eval("click "+l, fmt.Sprintf(`%s.click()`, brKeyJS(l)))
		tab.waitJS(brStepTimeout, "the guess of "+l+" answered", fmt.Sprintf(`(k => !k || k.classList.contains('key--hit') ||
			k.classList.contains('key--miss'))(%s) || %s !== 'playing'`, brKeyJS(l), brStatusJS))
	}
	if got := brEval[string](tab, "read the status", brStatusJS); got == "playing" {
		t.Fatalf("tab %s: the round is still played after every letter", tab.name)
	}
}

// TestBrowserLobby: joining shows the player in every tab before any
// guess; the invite link and QR code lead into the room; a spectator gets
// no keyboard; a private room is not listed.
func TestBrowserLobby(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	for _, size := range brSizes {
		t.Run(size.name, func(t *testing.T) {
			ps := brPlayers(t, base, "ana", "bo")
			public := brAPIAs(t, ps["ana"], "POST", base+"/api/rooms", map[string]any{"category": "animals", "rounds": 3}, http.StatusCreated)
			private := brAPIAs(t, ps["ana"], "POST", base+"/api/rooms", map[string]any{"category": "animals", "private": true}, http.StatusCreated)
			b := brStartBrowser(t, int(size.opt.width), int(size.opt.height))
			host, guest, watcher := b.newTab("host", size.opt), b.newTab("guest", size.opt), b.newTab("watcher", size.opt)
			brOpenRoom(t, host, base, public.ID, ps["ana"])

			// The guest follows the invite link: joined at once, seen by the
			// host before any guess, online, and counted on the players chip.
			link := brEval[string](host, "read the invite link", `document.getElementById('invite-link').value`)
			if want := base + "/rooms/" + public.ID; link != want {
				t.Errorf("invite link %q, want %q", link, want)
			}
			host.waitJS(brStepTimeout, "the QR code to load", `(i => i.complete && i.naturalWidth >= 100)(document.querySelector('.invite__qr'))`)
			if !brEval[bool](host, "look for the copy button", brVisibleJS(`[data-copy="invite-link"]`)) {
				t.Error("no copy button next to the invite link")
			}
			guest.do("set the session cookie", brSetSession(base, ps["bo"]))
			guest.navigate(link)
			guest.waitSocket("/ws/rooms/"+public.ID, brStepTimeout)
			host.waitJS(brStepTimeout, "bo listed and online in the host's tab", fmt.Sprintf(`%s.join() === 'ana:online,bo:online'`, brPlayersJS))
			host.waitJS(brStepTimeout, "the players chip to count 2", `document.querySelector('[data-players-count]').textContent === '2'`)
			if v := brAPI(t, "GET", base+"/api/rooms/"+public.ID, nil, http.StatusOK); len(v.Guessed) != 0 {
				t.Errorf("guesses %v: the join must show before any guess", v.Guessed)
			}
			// Players are one tap away: the chip leads to the list.
			if !brEval[bool](host, "look for the players chip", brVisibleJS(`a.chip[href="#players"]`)) && size.name == "phone" {
				t.Error("phone: no players chip at the top of the room")
			}

			// A visitor without a nickname watches: no keyboard at all, a
			// form to pick a nickname, and the game updates live.
			watcher.navigate(base + "/rooms/" + public.ID)
			watcher.waitSocket("/ws/rooms/"+public.ID, brStepTimeout)
			if n := brEval[int](watcher, "count the keys", `[...document.querySelectorAll('#room button[name="letter"]')].filter(k => k.getClientRects().length > 0).length`); n != 0 {
				t.Errorf("a spectator sees %d keys, want none", n)
			}
			if !brEval[bool](watcher, "look for the nickname form", brVisibleJS(`#room-join-player`)) {
				t.Error("a spectator has no form to pick a nickname")
			}
			guest.eval("guess a", brKeyJS("a")+`.click()`)
			watcher.waitJS(brStepTimeout, "the spectator to see the guess", `[...document.querySelectorAll('#room .log__letter')].some(e => e.textContent === 'a')`)
			if n := brEval[int](watcher, "count the keys", `[...document.querySelectorAll('#room button[name="letter"]')].filter(k => k.getClientRects().length > 0).length`); n != 0 {
				t.Errorf("a spectator sees %d keys after an update, want none", n)
			}

			// The home page lists the public room, not the private one, which
			// its link still opens.
			watcher.navigate(base + "/")
			listed := brEval[[]string](watcher, "list the rooms", `[...document.querySelectorAll('.rooms .code')].map(e => e.textContent)`)
			if !slices.Contains(listed, public.ID) || slices.Contains(listed, private.ID) {
				t.Errorf("home lists %v: want the public %s and not the private %s", listed, public.ID, private.ID)
			}
			watcher.navigate(base + "/rooms/" + private.ID)
			if got := brEval[string](watcher, "read the invite hint", `document.querySelector('.invite .hint').textContent`); !strings.Contains(got, "private") {
				t.Errorf("private room's invite says %q", got)
			}
			for _, tab := range []*brTab{host, guest, watcher} {
				tab.noExceptions()
			}
		})
	}
}

// TestBrowserCustomWordHostWatches: the host who chose the word has no
// keyboard and is told why; the API refuses the host's guess with a code
// of its own; the others play.
func TestBrowserCustomWordHostWatches(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	for _, size := range brSizes {
		t.Run(size.name, func(t *testing.T) {
			ps := brPlayers(t, base, "mo", "ana")
			room := brAPIAs(t, ps["mo"], "POST", base+"/api/rooms", map[string]any{"word": "lantern"}, http.StatusCreated)
			b := brStartBrowser(t, int(size.opt.width), int(size.opt.height))
			host, player := b.newTab("host", size.opt), b.newTab("player", size.opt)
			brOpenRoom(t, host, base, room.ID, ps["mo"])
			brOpenRoom(t, player, base, room.ID, ps["ana"])
			if n := brEval[int](host, "count the host's keys", `[...document.querySelectorAll('#room button[name="letter"]')].filter(k => k.getClientRects().length > 0).length`); n != 0 {
				t.Errorf("the host of a custom word sees %d keys, want none", n)
			}
			if !brEval[bool](host, "look for the note", brVisibleJS(`#room .watch-note`)) {
				t.Error("the host is not told why there is no keyboard")
			}
			var refused struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			mustDoAs(t, ps["mo"], "POST", base+"/api/rooms/"+room.ID+"/guesses", map[string]any{"letter": "l", "request_id": "mo-l"}, http.StatusForbidden, &refused)
			if refused.Error.Code != "host_watches" || strings.Contains(refused.Error.Message, room.ID) {
				t.Errorf("host's guess refused with %+v, want code host_watches and words for a player", refused.Error)
			}
			brGuessUntilSeen(t, player, "n", []*brTab{host}, brStepTimeout)
			// After a guess the host still has no keyboard (the live
			// fragment is the same for every tab).
			if n := brEval[int](host, "count the host's keys", `[...document.querySelectorAll('#room button[name="letter"]')].filter(k => k.getClientRects().length > 0).length`); n != 0 {
				t.Errorf("after an update the host sees %d keys, want none", n)
			}
			host.noExceptions()
			player.noExceptions()
		})
	}
}

// TestBrowserMatchPodiumRematch plays a whole match of two rounds in the
// browser: the podium at the end in every tab, the rematch button for the
// host only, and a rematch that keeps the players and starts from zero.
// On a phone, the end of a round does not scroll the board away.
func TestBrowserMatchPodiumRematch(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	for _, size := range brSizes {
		t.Run(size.name, func(t *testing.T) {
			ps := brPlayers(t, base, "ana", "bo")
			room := brAPIAs(t, ps["ana"], "POST", base+"/api/rooms", map[string]any{"category": "animals", "difficulty": "easy", "rounds": 2}, http.StatusCreated)
			b := brStartBrowser(t, int(size.opt.width), int(size.opt.height))
			host, other := b.newTab("host", size.opt), b.newTab("other", size.opt)
			brOpenRoom(t, host, base, room.ID, ps["ana"])
			brOpenRoom(t, other, base, room.ID, ps["bo"])
			if got := brEval[string](host, "read the round", `document.querySelector('#room .room-info__round').textContent.replace(/\s+/g, ' ').trim()`); got != "Round 1 of 2" {
				t.Errorf("round line %q, want Round 1 of 2", got)
			}
			if !brEval[bool](host, "find the scoring rules", `!!document.querySelector('#room details.scoring') && /10 points/.test(document.querySelector('#room details.scoring').textContent)`) {
				t.Error("no 'how scoring works' in the room")
			}

			// Round 1, played from the other tab; its end keeps the page
			// where it was.
			other.eval("scroll to the top", `window.scrollTo(0, 0)`)
			brPlayRound(t, other)
			if y := brEval[float64](other, "read the scroll", `window.scrollY`); y != 0 {
				t.Errorf("the end of the round scrolled the page to %v", y)
			}
			if !brEval[bool](other, "see the word", `(r => r.top >= 0 && r.bottom <= window.innerHeight)(document.querySelector('#room .word').getBoundingClientRect())`) {
				t.Error("the word is off screen at the end of the round")
			}
			host.waitJS(brStepTimeout, "the next-round button", brVisibleJS(`#room form[data-ws="next_round"] button`))
			host.do("start round 2", chromedp.Click(`#room form[data-ws="next_round"] button`))
			other.waitJS(brStepTimeout, "round 2", `!!document.querySelector('#room [data-round="2"]')`)

			// Round 2 ends the match: a podium in both tabs, the rematch
			// button for the host only.
			brPlayRound(t, host)
			for _, tab := range []*brTab{host, other} {
				tab.waitJS(brStepTimeout, "the podium", brVisibleJS(`#room .podium`))
			}
			podium := brEval[[]string](other, "read the podium", `[...document.querySelectorAll('#room .podium__name')].map(e => e.textContent)`)
			if len(podium) == 0 || len(podium) > 2 {
				t.Errorf("podium %v, want the players who scored", podium)
			}
			if brEval[bool](other, "look for a rematch button", brVisibleJS(`#room form[data-ws="rematch"]`)) {
				t.Error("a player who does not host sees the rematch button")
			}
			if brEval[bool](host, "look for a next-round button", brVisibleJS(`#room form[data-ws="next_round"]`)) {
				t.Error("the host is offered a next round after the match")
			}
			host.do("rematch", chromedp.Click(`#room form[data-ws="rematch"] button`))
			for _, tab := range []*brTab{host, other} {
				tab.waitJS(brStepTimeout, "the rematch", `!!document.querySelector('#room [data-round="1"][data-match="2"]')`)
				if got := brEval[string](tab, "read the players", `[...document.querySelectorAll('#room .player')].map(p => p.getAttribute('data-player-name') + '=' + p.querySelector('.player__points').firstChild.textContent.trim()).join()`); got != "ana=0,bo=0" {
					t.Errorf("tab %s: after the rematch players %q, want ana=0,bo=0", tab.name, got)
				}
				tab.noExceptions()
			}
		})
	}
}

// TestBrowserGuessDuringQuorumLoss: with two of three backends down, a
// guess stays pending, visibly, with the reason in plain words; once the
// majority is back it is sent again with its request id and applied once.
func TestBrowserGuessDuringQuorumLoss(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ps := brPlayers(t, base, "host", "ana")
	room := brAPIAs(t, ps["host"], "POST", base+"/api/rooms", map[string]any{"word": "majority"}, http.StatusCreated)
	b := brStartBrowser(t, 390, 844)
	tab := b.newTab("phone", tabOption{width: 390, height: 844, mobile: true})
	brOpenRoom(t, tab, base, room.ID, ps["ana"])
	before := brAPI(t, "GET", base+"/api/rooms/"+room.ID, nil, http.StatusOK)
	tab.waitJS(brStepTimeout, "the page at the current version", brVersionJS(before.Version))

	leader := s.Leader().ID()
	var down []string
	for _, id := range s.IDs() {
		if id != leader && len(down) < 2 {
			down = append(down, id)
		}
	}
	down = append(down[:1], leader) // one follower and the leader: one node left
	for _, id := range down {
		s.Kill(id)
	}
	t.Logf("killed %v", down)
	tab.eval("guess m", brKeyJS("m")+`.click()`)
	tab.waitJS(45*time.Second, "the plain reason", `/waiting for a majority/.test(document.getElementById('status').textContent)`)
	status := brEval[string](tab, "read the status", `document.getElementById('status').textContent`)
	if !strings.Contains(status, "1 of 3 game servers up") || !strings.Contains(status, "M") {
		t.Errorf("status %q: want how many servers are up and the waiting guess", status)
	}
	if !brEval[bool](tab, "see the pending key", brKeyJS("m")+`.classList.contains('key--pending')`) {
		t.Error("the waiting guess is not shown as pending")
	}
	for _, id := range down {
		s.Restart(id)
	}
	tab.waitJS(60*time.Second, "the guess applied", brKeyHitJS("m"))
	after := brAPI(t, "GET", base+"/api/rooms/"+room.ID, nil, http.StatusOK)
	if n := strings.Count(strings.Join(after.Guessed, ""), "m"); n != 1 || after.Version != before.Version+1 {
		t.Errorf("after recovery: guessed %v at version %d, want m once at version %d", after.Guessed, after.Version, before.Version+1)
	}
	tab.noExceptions()
}

// TestBrowserRoomGone: a tab whose room no longer exists (the system was
// stopped and started afresh at the same address, as a restarted gallows
// dev is) says so and offers the home page, instead of reconnecting for
// good.
func TestBrowserRoomGone(t *testing.T) {
	brChromium(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	first := localtest.Start(t, localcluster.Config{Backends: 1, Frontends: 1, FrontendAddrs: []string{addr}})
	base := first.URLs()[0]
	ps := brPlayers(t, base, "ana")
	room := brAPIAs(t, ps["ana"], "POST", base+"/api/rooms", map[string]any{"category": "animals"}, http.StatusCreated)
	b := brStartBrowser(t, 390, 844)
	tab := b.newTab("phone", tabOption{width: 390, height: 844, mobile: true})
	brOpenRoom(t, tab, base, room.ID, ps["ana"])
	if err := first.Close(); err != nil {
		t.Logf("stop the first system: %v", err)
	}
	tab.waitJS(brStepTimeout, "the tab to notice", `/Reconnecting/.test(document.getElementById('conn').textContent)`)
	localtest.Start(t, localcluster.Config{Backends: 1, Frontends: 1, FrontendAddrs: []string{addr}})
	tab.waitJS(30*time.Second, "the tab to say the room is gone", `/no longer exists/.test(document.getElementById('status').textContent)`)
	if !brEval[bool](tab, "find the way home", `!!document.querySelector('#status a[href="/"]')`) {
		t.Error("no link to the home page")
	}
	if got := brEval[string](tab, "read the connection line", `document.getElementById('conn').textContent`); got != "" {
		t.Errorf("still %q once the room is known to be gone", got)
	}
	_, opened, _, _ := tab.stats()
	tab.noExceptions()
	t.Logf("websockets opened: %d", opened)
}

// TestBrowserCreateErrorKeepsInput: a refused room creation says what to
// change in a player's words, not an error chain, and the form keeps what
// was typed and picked.
func TestBrowserCreateErrorKeepsInput(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	b := brStartBrowser(t, 1280, 900)
	for _, size := range brSizes {
		tab := b.newTab(size.name, size.opt)
		tab.navigate(base + "/")
		tab.do("fill in the form",
			chromedp.SendKeys(`#create-player`, "ana"),
			chromedp.SendKeys(`#create-word`, "x"),
			chromedp.SetValue(`#create-rounds`, "3"),
			chromedp.SetValue(`#create-turn`, "30"),
			chromedp.Click(`input[name="private"]`),
		)
		// The page comes back with the form and a 4xx status.
		ctx, cancel := context.WithTimeout(tab.ctx, brStepTimeout)
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(`form[action="/rooms"] button[type="submit"]`))
		cancel()
		if err != nil || resp.Status != http.StatusBadRequest {
			t.Fatalf("%s: create with a bad word: %v, %+v; want the form again with 400", size.name, err, resp)
		}
		msg := brEval[string](tab, "read the error", `(e => e ? e.textContent : '')(document.querySelector('.alert'))`)
		if !strings.Contains(msg, "2 to 32 characters") || strings.Contains(msg, "create room") || strings.Contains(msg, "invalid word") {
			t.Errorf("%s: error %q, want what to change in a player's words", size.name, msg)
		}
		type form struct {
			Player, Word, Rounds, Turn string
			Private                    bool
		}
		got := brEval[form](tab, "read the form", `({
			Player: document.getElementById('create-player').value, Word: document.getElementById('create-word').value,
			Rounds: document.getElementById('create-rounds').value, Turn: document.getElementById('create-turn').value,
			Private: document.querySelector('input[name="private"]').checked})`)
		if want := (form{"ana", "x", "3", "30", true}); got != want {
			t.Errorf("%s: form after the error %+v, want %+v", size.name, got, want)
		}
		tab.noExceptions()
	}
}

// TestBrowserPhoneLayout: on a 390×844 phone the word, the drawing, the
// lives and the whole keyboard fit the first screen, the header is
// small, the players are one tap away and wrong letters stay legible (no
// strike-through: it makes an O look like θ).
func TestBrowserPhoneLayout(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ps := brPlayers(t, base, "mo", "ana")
	room := brAPIAs(t, ps["mo"], "POST", base+"/api/rooms", map[string]any{"word": "rock and roll", "rounds": 3}, http.StatusCreated)
	for _, l := range []string{"o", "x", "q"} {
		brGuessAPI(t, base, room.ID, ps["ana"], l)
	}
	b := brStartBrowser(t, 390, 844)
	tab := b.newTab("phone", tabOption{width: 390, height: 844, mobile: true})
	brOpenRoom(t, tab, base, room.ID, ps["ana"])
	type layout struct {
		Header    float64  `json:"header"`
		Inside    []string `json:"inside"`
		Outside   []string `json:"outside"`
		Keys      int      `json:"keys"`
		Struck    []string `json:"struck"`
		PlayersAt float64  `json:"playersAt"`
		Overflow  float64  `json:"overflow"`
	}
	got := brEval[layout](tab, "measure the room", `(() => {
		const fits = el => { const r = el.getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; };
		const parts = {word: '#room .word', drawing: '#room .gallows', lives: '#room .lives', wrong: '#room .wrong', keyboard: '#room .keyboard'};
		const inside = [], outside = [];
		for (const [name, sel] of Object.entries(parts)) (fits(document.querySelector(sel)) ? inside : outside).push(name);
		const keys = [...document.querySelectorAll('#room .key')].filter(fits).length;
		const struck = [...document.querySelectorAll('#room .wrong__letter, #room .key--miss .key__letter')]
			.filter(e => getComputedStyle(e).textDecorationLine.includes('line-through')).map(e => e.textContent.trim());
		const chip = document.querySelector('a.chip[href="#players"]');
		return {header: document.querySelector('.site-header').getBoundingClientRect().height, inside, outside, keys, struck,
			playersAt: chip && chip.getClientRects().length ? chip.getBoundingClientRect().bottom : -1,
			overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth};
	})()`)
	if len(got.Outside) > 0 || got.Keys != 26 {
		t.Errorf("phone: %v off the first screen, %d of 26 keys on it (on it: %v)", got.Outside, got.Keys, got.Inside)
	}
	if got.Header > 64 {
		t.Errorf("phone: the header is %vpx tall, want at most 64", got.Header)
	}
	if got.PlayersAt < 0 || got.PlayersAt > 844 {
		t.Errorf("phone: the players chip is not on the first screen (bottom at %v)", got.PlayersAt)
	}
	if len(got.Struck) > 0 {
		t.Errorf("phone: wrong letters %v are struck through", got.Struck)
	}
	if got.Overflow > 0 {
		t.Errorf("phone: the page is %vpx wider than the screen", got.Overflow)
	}
	// One tap on the chip shows the players.
	tab.eval("tap Players", `document.querySelector('a.chip[href="#players"]').click()`)
	if err := tab.tryWaitJS(5*time.Second, `(r => r.top > -2 && r.top < window.innerHeight)(document.getElementById('players').getBoundingClientRect())`); err != nil {
		t.Errorf("the players list is not on screen after tapping Players: %s", brEval[string](tab, "debug", `location.hash + ' y=' + window.scrollY + ' top=' + document.getElementById('players').getBoundingClientRect().top + ' h=' + document.documentElement.scrollHeight`))
	}
	tab.noExceptions()
}

// TestBrowserTurnCountdown: a room with a countdown shows the seconds
// left; when they run out the tabs report it and the room loses one life,
// once however many tabs report it.
func TestBrowserTurnCountdown(t *testing.T) {
	brChromium(t)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1})
	base := s.URLs()[0]
	ps := brPlayers(t, base, "ana", "bo")
	room := brAPIAs(t, ps["ana"], "POST", base+"/api/rooms", map[string]any{"category": "animals", "turn_seconds": 10}, http.StatusCreated)
	b := brStartBrowser(t, 1280, 900)
	tabs := []*brTab{b.newTab("ana", tabOption{}), b.newTab("bo", tabOption{width: 390, height: 844, mobile: true})}
	brOpenRoom(t, tabs[0], base, room.ID, ps["ana"])
	brOpenRoom(t, tabs[1], base, room.ID, ps["bo"])
	start := brAPI(t, "GET", base+"/api/rooms/"+room.ID, nil, http.StatusOK)
	for _, tab := range tabs {
		tab.waitJS(brStepTimeout, "the countdown", `/^\d+ s$/.test(document.querySelector('#room .countdown__n').textContent)`)
	}
	for _, tab := range tabs {
		tab.waitJS(30*time.Second, "the turn to run out", `[...document.querySelectorAll('#room .log__item')].some(e => /time ran out/.test(e.textContent))`)
	}
	after := brAPI(t, "GET", base+"/api/rooms/"+room.ID, nil, http.StatusOK)
	lives := brEval[string](tabs[0], "read the lives", `document.querySelector('#room .lives__n').textContent`)
	// One timeout applied: one more version, one life, whatever the tabs
	// sent (the next turn's countdown has 10 s to go).
	if after.Version != start.Version+1 || lives != "5" {
		t.Errorf("after the countdown ran out: version %d (from %d), lives %s; want one timeout applied", after.Version, start.Version, lives)
	}
	for _, tab := range tabs {
		tab.noExceptions()
	}
}
