package frontend_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gallows-game/gallows/frontend"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

// httpClientFrom is an HTTP client whose connections come from the loopback
// address ip (Linux routes all of 127/8 to loopback), so that a frontend
// sees it as another client IP.
func httpClientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16},
	}
}

// rateClient calls the JSON API with its own HTTP client, as one session
// (its bearer token, once it has one).
type rateClient struct {
	hc    *http.Client
	base  string
	token string
}

// newRateClient starts a session named name through hc: POST /api/players.
func newRateClient(t *testing.T, hc *http.Client, base, name string) *rateClient {
	t.Helper()
	c := &rateClient{hc: hc, base: base}
	var p struct {
		Token string `json:"token"`
	}
	c.must(t, "POST", "/api/players", map[string]string{"name": name}, http.StatusCreated, &p)
	if p.Token == "" {
		t.Fatalf("POST /api/players gave no token")
	}
	c.token = p.Token
	return c
}

// call sends a request with an optional JSON body and the session's token,
// and times the answer.
func (c *rateClient) call(method, path string, body any) (response, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return response{}, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{}, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, time.Since(start), err
}

// must is call, failing the test unless the answer has status want; out,
// when set, receives the decoded body.
func (c *rateClient) must(t *testing.T, method, path string, body any, want int, out any) response {
	t.Helper()
	resp, _, err := c.call(method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.Status, want, resp.Body)
	}
	if out != nil {
		if err := resp.JSON(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp
}

// pacedPlayer plays one room through the JSON API as its own session,
// timing every request: a guess, then a read of the room, and a next
// round whenever the round is over.
type pacedPlayer struct {
	t     *testing.T
	api   *rateClient
	name  string
	room  room
	seq   int
	times []time.Duration
}

// step sends one guess (or next round) and one read.
func (p *pacedPlayer) step() {
	p.t.Helper()
	path := "/api/rooms/" + p.room.ID
	var write struct {
		path string
		body any
	}
	if p.room.Status != "playing" {
		write.path, write.body = path+"/rounds", map[string]any{"round": p.room.Round}
	} else {
		letter := ""
		for _, l := range "etaoinshrdlucmfwypvbgkjqxz" {
			if !slices.Contains(p.room.Guessed, string(l)) && !slices.Contains(p.room.Wrong, string(l)) {
				letter = string(l)
				break
			}
		}
		p.seq++
		write.path, write.body = path+"/guesses", map[string]any{"letter": letter, "round": p.room.Round, "request_id": fmt.Sprintf("%s-%d", p.name, p.seq)}
	}
	for _, req := range []struct {
		method, path string
		body         any
	}{{"POST", write.path, write.body}, {"GET", path, nil}} {
		resp, took, err := p.api.call(req.method, req.path, req.body)
		if err != nil {
			p.t.Fatalf("%s %s: %v", req.method, req.path, err)
		}
		if resp.Status != http.StatusOK {
			p.t.Fatalf("%s %s: %d %s (the normal player must never be refused)", req.method, req.path, resp.Status, resp.Body)
		}
		if err := resp.JSON(&p.room); err != nil {
			p.t.Fatal(err)
		}
		p.times = append(p.times, took)
	}
}

// play takes n steps, one every interval, and returns the times of
// their requests.
func (p *pacedPlayer) play(n int, interval time.Duration) []time.Duration {
	p.t.Helper()
	p.times = p.times[:0]
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for range n {
		p.step()
		<-tick.C
	}
	return slices.Clone(p.times)
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// TestFloodDoesNotSlowOthers floods one frontend from one client IP
// (several goroutines from 127.0.0.1 reading, guessing and creating rooms
// as fast as they can) while a normal player plays from another
// (127.0.0.2) at a person's pace. The flooder is refused with 429 and
// Retry-After; the normal player is never refused and its 99th
// quantile stays within twice what it was without the flood (or 20 ms
// more, on a busy two-core machine).
func TestFloodDoesNotSlowOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	// The default limits, five times over, so that the normal player's
	// samples come five times faster; the flooder (three goroutines as
	// fast as they go) is still far past them.
	limits := frontend.Limits{}.Scaled(5)
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1, Frontend: func(fc *frontend.Config) { fc.Limits = limits }})
	base := s.URLs()[0]

	normalHTTP := httpClientFrom("127.0.0.2")
	defer normalHTTP.CloseIdleConnections()
	normal := &pacedPlayer{t: t, api: newRateClient(t, normalHTTP, base, "norm"), name: "norm"}
	normal.api.must(t, "POST", "/api/rooms", map[string]any{"category": "animals", "difficulty": "hard"}, http.StatusCreated, &normal.room)

	floodHTTP := httpClientFrom("127.0.0.1")
	defer floodHTTP.CloseIdleConnections()
	flooder := newRateClient(t, floodHTTP, base, "flood")
	var floodRoom room
	flooder.must(t, "POST", "/api/rooms", map[string]any{"category": "animals", "difficulty": "easy"}, http.StatusCreated, &floodRoom)
	floods := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/rooms/" + floodRoom.ID, nil},
		{"POST", "/api/rooms/" + floodRoom.ID + "/guesses", map[string]any{"letter": "q"}},
		{"POST", "/api/rooms", map[string]any{"word": "flood"}},
	}
	var sent, refused, badRetry atomic.Int64
	// flood runs the flooder's goroutines until the returned func stops
	// them. It returns once the flooder has spent its bursts, when each
	// kind of request it sends has been refused: what is measured is the
	// flood as it goes on, not the bursts any client may send.
	flood := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		var (
			wg       sync.WaitGroup
			firstErr atomic.Pointer[error]
			limited  [3]atomic.Bool
			left     atomic.Int32
			spent    = make(chan struct{})
		)
		left.Store(int32(len(floods)))
		for g := range 3 {
			wg.Go(func() {
				for i := g; ctx.Err() == nil; i++ {
					f := floods[i%len(floods)]
					resp, _, err := flooder.call(f.method, f.path, f.body)
					if err != nil {
						if ctx.Err() == nil {
							firstErr.CompareAndSwap(nil, &err)
						}
						return
					}
					sent.Add(1)
					if resp.Status == http.StatusTooManyRequests {
						refused.Add(1)
						if !limited[i%len(floods)].Swap(true) && left.Add(-1) == 0 {
							close(spent)
						}
						var e apiErr
						if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 || resp.JSON(&e) != nil || e.Error.Code != "rate_limited" {
							badRetry.Add(1)
						}
					}
				}
			})
		}
		stop = func() {
			cancel()
			wg.Wait()
			if p := firstErr.Load(); p != nil {
				t.Fatalf("flooder: %v", *p)
			}
		}
		select {
		case <-spent:
		case <-time.After(20 * time.Second):
			stop()
			t.Fatal("the flooder was not refused within 20 s")
		}
		return stop
	}

	// Quiet and flooded spells take turns, so that whatever else the
	// machine is doing weighs on both alike. A step is two requests, a
	// write and a read: 25 steps a second stay within the normal player's
	// budget (50 writes and 100 reads a second).
	const spells, steps, interval = 3, 50, 40 * time.Millisecond
	var quiet, flooded []time.Duration
	for range spells {
		quiet = append(quiet, normal.play(steps, interval)...)
		stop := flood()
		flooded = append(flooded, normal.play(steps, interval)...)
		stop()
	}

	unloaded, loaded := quantile(quiet, 0.99), quantile(flooded, 0.99)
	bound := max(2*unloaded, unloaded+20*time.Millisecond)
	t.Logf("normal player p99: %v unloaded, %v under the flood (bound %v), %d requests each; flooder: %d requests, %d refused with 429",
		unloaded, loaded, bound, len(quiet), sent.Load(), refused.Load())
	if refused.Load() == 0 {
		t.Errorf("the flooder sent %d requests and none was refused", sent.Load())
	}
	if n := badRetry.Load(); n > 0 {
		t.Errorf("%d refusals lacked a Retry-After of at least 1 s or a rate_limited error", n)
	}
	if loaded > bound {
		t.Errorf("normal player's p99 %v under the flood, over %v (unloaded %v)", loaded, bound, unloaded)
	}
}

// TestSlowBodyIsDropped trickles a request body slower than the body
// timeout allows: the frontend drops the connection once the timeout has
// passed, long before the body is done.
func TestSlowBodyIsDropped(t *testing.T) {
	const timeout = 300 * time.Millisecond
	fe, err := frontend.Start(frontend.Config{
		ID: "f-slow", HTTPAddr: "127.0.0.1:0", Backends: []string{"127.0.0.1:1"}, Logger: localtest.Logger(),
		Limits: frontend.Limits{BodyTimeout: timeout}, Insecure: true, // no backend answers anyway
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fe.Close() })

	for _, path := range []string{"/api/rooms", "/rooms"} {
		t.Run(path, func(t *testing.T) {
			conn, err := net.Dial("tcp", fe.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{", path, fe.Addr())
			// Trickle a byte every 20 ms (the whole body would take 80 s)
			// until the frontend closes the connection.
			closed := make(chan error, 1)
			go func() {
				_, err := io.Copy(io.Discard, bufio.NewReader(conn))
				closed <- err
			}()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			limit := time.NewTimer(10 * time.Second)
			defer limit.Stop()
			for {
				select {
				case err := <-closed:
					took := time.Since(start)
					t.Logf("connection closed after %v (body timeout %v), read error %v", took, timeout, err)
					if took < timeout {
						t.Errorf("closed after %v, before the body timeout of %v", took, timeout)
					}
					return
				case <-limit.C:
					t.Fatalf("connection still open after 10 s of a trickled body (body timeout %v)", timeout)
				case <-tick.C:
					_, _ = conn.Write([]byte(" ")) // fails once the frontend has closed
				}
			}
		})
	}
}

// TestWebsocketOutlivesRequestDeadlines checks that the body and write
// deadlines of plain requests do not cut websockets: a socket keeps
// answering well past both.
func TestWebsocketOutlivesRequestDeadlines(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s := localtest.Start(t, localcluster.Config{Backends: 1, Frontends: 1, Frontend: func(fc *frontend.Config) {
		fc.Limits.BodyTimeout, fc.Limits.WriteTimeout = timeout, timeout
	}})
	base := s.URLs()[0]
	ana := newRateClient(t, httpClient, base, "ana")
	var r room
	ana.must(t, "POST", "/api/rooms", map[string]any{"category": "animals", "difficulty": "easy"}, http.StatusCreated, &r)
	ws, resp, err := websocket.DefaultDialer.Dial(wsURL(base, r.ID), http.Header{"Authorization": {"Bearer " + ana.token}})
	if err != nil {
		t.Fatalf("dial websocket: %v (response %v)", err, resp)
	}
	defer ws.Close()
	if m, _ := readMsg(t, ws); m.Type != "state" {
		t.Fatalf("first message %+v, want the state", m)
	}
	// Ask and be answered (an unknown message type is refused at once,
	// without a backend) until three timeouts have passed.
	start := time.Now()
	for i := 0; time.Since(start) < 3*timeout; i++ {
		id := "x-" + strconv.Itoa(i)
		if err := ws.WriteJSON(map[string]string{"type": "dance", "request_id": id}); err != nil {
			t.Fatalf("write after %v: %v", time.Since(start), err)
		}
		if m, _ := readMsg(t, ws); m.Type != "error" || m.RequestID != id {
			t.Fatalf("answer %+v, want an error for %s", m, id)
		}
	}
}

// TestStrictInputs checks the JSON API's refusals of what it used to
// accept: a body not sent as application/json, and look-alike letters.
func TestStrictInputs(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 1, Frontends: 1})
	base := s.URLs()[0]
	ana := newRateClient(t, httpClient, base, "ana")
	// The host chose the word, so watches: ana guesses.
	host := newRateClient(t, httpClient, base, "host")
	var r room
	host.must(t, "POST", "/api/rooms", map[string]any{"word": "kiwi"}, http.StatusCreated, &r)

	post := func(path, contentType, body string) response {
		t.Helper()
		req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Authorization", "Bearer "+ana.token)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	guess := "/api/rooms/" + r.ID + "/guesses"
	n := 0
	letter := func(l string) string {
		n++
		return fmt.Sprintf(`{"letter":%q,"request_id":"strict-%d"}`, l, n)
	}
	tests := []struct {
		name, path, contentType, body string
		status                        int
		code                          string
	}{
		{"no content type", guess, "", letter("a"), 415, "unsupported_media_type"},
		{"text/plain", guess, "text/plain", letter("a"), 415, "unsupported_media_type"},
		{"form", "/api/rooms", "application/x-www-form-urlencoded", `{"word":"kiwi"}`, 415, "unsupported_media_type"},
		{"new player as text", "/api/players", "text/plain", `{"name":"bo"}`, 415, "unsupported_media_type"},
		{"json look-alike", guess, "application/jsonp", letter("a"), 415, "unsupported_media_type"},
		{"malformed", guess, "application/json; charset", letter("a"), 415, "unsupported_media_type"},
		{"kelvin sign", guess, "application/json", letter("\u212a"), 400, "invalid_letter"},
		{"dotted capital I", guess, "application/json", letter("\u0130"), 400, "invalid_letter"},
		{"sharp s", guess, "application/json", letter("ß"), 400, "invalid_letter"},
		{"full-width k", guess, "application/json", letter("ｋ"), 400, "invalid_letter"},
		{"two letters", guess, "application/json", letter("ab"), 400, "invalid_letter"},
		{"look-alike in a word", "/api/rooms", "application/json", `{"word":"\u212aiwi"}`, 400, "bad_request"},
		{"json with charset", guess, "application/json; charset=utf-8", letter("i "), 200, ""},
		{"json in capitals", guess, "Application/JSON", letter("K"), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(tt.path, tt.contentType, tt.body)
			if resp.Status != tt.status {
				t.Fatalf("%d %s, want %d", resp.Status, resp.Body, tt.status)
			}
			if tt.code != "" {
				var e apiErr
				if err := resp.JSON(&e); err != nil || e.Error.Code != tt.code {
					t.Fatalf("answer %s, want code %s", resp.Body, tt.code)
				}
			}
		})
	}
	var after room
	ana.must(t, "GET", "/api/rooms/"+r.ID, nil, http.StatusOK, &after)
	if !slices.Equal(after.Guessed, []string{"i", "k"}) {
		t.Errorf("guessed %v, want [i k]: only the two ASCII letters", after.Guessed)
	}
}

// TestPaging creates rooms and reads them back page by page through the
// JSON API, and the home page's open rooms a page at a time.
func TestPaging(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 1, Frontends: 1})
	base := s.URLs()[0]
	ana := newRateClient(t, httpClient, base, "ana")
	const rooms = 23
	var ids []string
	for i := range rooms {
		var r room
		ana.must(t, "POST", "/api/rooms", map[string]any{"word": "page", "request_id": fmt.Sprint("p-", i)}, http.StatusCreated, &r)
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	// Win one room (bo does: ana, the host, chose the word and watches),
	// so that the home page lists rooms-1 open rooms.
	bo := newRateClient(t, httpClient, base, "bo")
	for _, l := range []string{"p", "a", "g", "e"} {
		bo.must(t, "POST", "/api/rooms/"+ids[0]+"/guesses", map[string]string{"letter": l}, http.StatusOK, nil)
	}

	type page struct {
		Rooms      []room  `json:"rooms"`
		NextCursor *string `json:"next_cursor"`
	}
	for _, limit := range []int{1, 5, 23, 200} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []string
			path := fmt.Sprintf("/api/rooms?limit=%d", limit)
			for pages := 0; ; pages++ {
				if pages > rooms {
					t.Fatal("paging does not end")
				}
				var p page
				ana.must(t, "GET", path, nil, http.StatusOK, &p)
				if len(p.Rooms) > limit {
					t.Fatalf("%d rooms in a page of %d", len(p.Rooms), limit)
				}
				for _, r := range p.Rooms {
					got = append(got, r.ID)
				}
				if p.NextCursor == nil {
					break
				}
				if *p.NextCursor == "" {
					t.Fatal(`next_cursor is "": it must be left out on the last page`)
				}
				path = fmt.Sprintf("/api/rooms?limit=%d&cursor=%s", limit, *p.NextCursor)
			}
			if !slices.Equal(got, ids) {
				t.Fatalf("pages gave %v, want %v", got, ids)
			}
		})
	}
	var def page
	ana.must(t, "GET", "/api/rooms", nil, http.StatusOK, &def)
	if len(def.Rooms) != rooms || def.NextCursor != nil {
		t.Errorf("default page: %d rooms, next_cursor %v; want all %d (the default limit is 50)", len(def.Rooms), def.NextCursor, rooms)
	}

	for _, tc := range []struct {
		query, code string
	}{
		{"limit=0", "invalid_limit"},
		{"limit=201", "invalid_limit"},
		{"limit=-1", "invalid_limit"},
		{"limit=ten", "invalid_limit"},
		{"cursor=nope!", "invalid_cursor"},
		{"cursor=" + strings.Repeat("A", 100), "invalid_cursor"},
		{"level=fresh", "bad_request"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var e apiErr
			ana.must(t, "GET", "/api/rooms?"+tc.query, nil, http.StatusBadRequest, &e)
			if e.Error.Code != tc.code || e.Error.Message == "" {
				t.Errorf("error %+v, want %s with a message", e, tc.code)
			}
		})
	}

	// The home page lists 20 open rooms and links to the rest.
	home := ana.must(t, "GET", "/", nil, http.StatusOK, nil)
	listed := func(body []byte) []string {
		var out []string
		for _, id := range ids {
			if bytes.Contains(body, []byte(`href="/rooms/`+id+`"`)) {
				out = append(out, id)
			}
		}
		return out
	}
	if got := listed(home.Body); !slices.Equal(got, ids[1:21]) {
		t.Fatalf("home page lists %v, want the first 20 open rooms %v", got, ids[1:21])
	}
	more := `href="/?after=` + ids[20] + `#rooms-title"`
	if !bytes.Contains(home.Body, []byte(more)) {
		t.Fatalf("home page has no link %s to more rooms", more)
	}
	rest := ana.must(t, "GET", "/?after="+ids[20], nil, http.StatusOK, nil)
	if got := listed(rest.Body); !slices.Equal(got, ids[21:]) {
		t.Fatalf("next page lists %v, want %v", got, ids[21:])
	}
	if bytes.Contains(rest.Body, []byte(`href="/?after=`)) {
		t.Error("the last page of rooms links to more")
	}
}
