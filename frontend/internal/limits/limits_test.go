package limits

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clock is a manual clock for the limiters.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newTestLimiters returns limiters of cfg on a manual clock.
func newTestLimiters(cfg Config) (*Limiters, *clock) {
	l := New(cfg, nil, slog.New(slog.DiscardHandler))
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l.now = c.now
	return l, c
}

// request is a request from remote (host:port) with optional headers
// ("Name: value").
func request(method, path, remote string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = remote
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		r.Header.Add(name, value)
	}
	return r
}

func TestClassOf(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		path    string
		headers []string
		body    bool
		want    Class
	}{
		{"home page", "GET", "/", nil, false, Read},
		{"api read", "GET", "/api/rooms", nil, false, Read},
		{"head", "HEAD", "/rooms/ABCDE", nil, false, Read},
		{"websocket", "GET", "/ws/rooms/ABCDE", []string{"Upgrade: websocket", "Connection: Upgrade"}, false, Upgrade},
		{"websocket, any case", "GET", "/ws/cluster", []string{"Upgrade: WebSocket"}, false, Upgrade},
		{"ws path without upgrade", "GET", "/ws/rooms/ABCDE", nil, false, Read},
		{"upgrade header on a post", "POST", "/api/rooms/ABCDE/guesses", []string{"Upgrade: websocket"}, false, Write},
		{"upgrade header with a body", "GET", "/ws/rooms/ABCDE", []string{"Upgrade: websocket"}, true, Read},
		{"create form", "POST", "/rooms", nil, false, Create},
		{"create api", "POST", "/api/rooms", nil, false, Create},
		{"create api, slash", "POST", "/api/rooms/", nil, false, Create},
		{"guess", "POST", "/api/rooms/ABCDE/guesses", nil, false, Write},
		{"next round form", "POST", "/rooms/ABCDE/rounds", nil, false, Write},
		{"delete", "DELETE", "/api/rooms/ABCDE", nil, false, Write},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.method, tt.path, "192.0.2.1:1234", tt.headers...)
			if tt.body {
				r.ContentLength = 10
			}
			if got := ClassOf(r); got != tt.want {
				t.Errorf("ClassOf(%s %s) = %v, want %v", tt.method, tt.path, got, tt.want)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"ipv4", nil, "192.0.2.7:5555", nil, "192.0.2.7"},
		{"ipv6 counts with its /64", nil, "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:443", nil, "2001:db8:1:2::"},
		{"mapped ipv4", nil, "[::ffff:192.0.2.9]:80", nil, "192.0.2.9"},
		{"no port", nil, "192.0.2.8", nil, "192.0.2.8"},
		{"garbage", nil, "pipe", nil, "0.0.0.0"},
		{"forwarded-for ignored by default", nil, "192.0.2.7:1", []string{"203.0.113.5"}, "192.0.2.7"},
		{"forwarded-for from an untrusted peer", proxies, "192.0.2.7:1", []string{"203.0.113.5"}, "192.0.2.7"},
		{"trusted proxy", proxies, "10.1.2.3:1", []string{"203.0.113.5"}, "203.0.113.5"},
		{"rightmost untrusted hop", proxies, "10.1.2.3:1", []string{"198.51.100.1, 203.0.113.5, 10.9.9.9"}, "203.0.113.5"},
		{"hops over two headers", proxies, "10.1.2.3:1", []string{"198.51.100.1", "203.0.113.6"}, "203.0.113.6"},
		{"malformed hop stops the walk", proxies, "10.1.2.3:1", []string{"203.0.113.5, bogus, 10.0.0.2"}, "10.0.0.2"},
		{"trusted proxy without the header", proxies, "10.1.2.3:1", nil, "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newTestLimiters(Config{TrustedProxies: tt.trusted})
			var headers []string
			for _, h := range tt.xff {
				headers = append(headers, "X-Forwarded-For: "+h)
			}
			if got := l.ClientIP(request("GET", "/", tt.remote, headers...)).String(); got != tt.want {
				t.Errorf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSessionKey(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		same    string // a name of another case with the same key
		empty   bool
	}{
		{name: "none", empty: true},
		{name: "cookie", headers: []string{"Cookie: gallows_session=tok-1"}},
		{name: "other cookie", headers: []string{"Cookie: gallows_player=ana"}, empty: true},
		{name: "bearer", headers: []string{"Authorization: Bearer tok-1"}},
		{name: "bearer, lower case", headers: []string{"Authorization: bearer tok-1"}, same: "bearer"},
		{name: "bearer wins over cookie", headers: []string{"Authorization: Bearer tok-1", "Cookie: gallows_session=tok-2"}, same: "bearer"},
		{name: "basic auth", headers: []string{"Authorization: Basic dG9rLTE="}, empty: true},
	}
	keys := map[string]string{}
	for _, tt := range tests {
		k := SessionKey(request("GET", "/", "192.0.2.1:1", tt.headers...))
		keys[tt.name] = k
		if (k == "") != tt.empty {
			t.Errorf("%s: key %q, want empty=%v", tt.name, k, tt.empty)
		}
		if strings.Contains(k, "tok-") {
			t.Errorf("%s: key %q holds the raw token", tt.name, k)
		}
	}
	for _, tt := range tests {
		if tt.same != "" && keys[tt.name] != keys[tt.same] {
			t.Errorf("%s: key differs from %s's", tt.name, tt.same)
		}
	}
	if keys["cookie"] == keys["bearer"] {
		t.Error("a cookie and a bearer token with the same value share a key")
	}
}

func TestAllow(t *testing.T) {
	cfg := Config{
		Reads:   Rate{PerSecond: 2, Burst: 3},
		Writes:  Rate{PerSecond: 1, Burst: 2},
		Creates: Rate{PerSecond: 0.5, Burst: 1},
	}
	const (
		ana   = "192.0.2.1:1000"
		bo    = "192.0.2.2:1000"
		token = "Authorization: Bearer s3cret"
	)
	type step struct {
		name    string
		advance time.Duration
		method  string
		path    string
		remote  string
		headers []string
		ok      bool
		wait    time.Duration // when refused
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"reads burst then wait", []step{
			{"1", 0, "GET", "/", ana, nil, true, 0},
			{"2", 0, "GET", "/", ana, nil, true, 0},
			{"3", 0, "GET", "/", ana, nil, true, 0},
			{"over", 0, "GET", "/", ana, nil, false, 500 * time.Millisecond},
			{"other IP", 0, "GET", "/", bo, nil, true, 0},
			{"refilled", 500 * time.Millisecond, "GET", "/", ana, nil, true, 0},
		}},
		{"reads and writes are separate budgets", []step{
			{"r1", 0, "GET", "/", ana, nil, true, 0},
			{"r2", 0, "GET", "/", ana, nil, true, 0},
			{"r3", 0, "GET", "/", ana, nil, true, 0},
			{"w1", 0, "POST", "/api/rooms/A/guesses", ana, nil, true, 0},
			{"w2", 0, "POST", "/api/rooms/A/guesses", ana, nil, true, 0},
			{"w3", 0, "POST", "/api/rooms/A/guesses", ana, nil, false, time.Second},
		}},
		{"a session is limited across addresses", []step{
			{"1", 0, "POST", "/rooms/A/guesses", ana, []string{token}, true, 0},
			{"2", 0, "POST", "/rooms/A/guesses", bo, []string{token}, true, 0},
			{"3 from a third address", 0, "POST", "/rooms/A/guesses", "192.0.2.3:1", []string{token}, false, time.Second},
			{"without the session", 0, "POST", "/rooms/A/guesses", "192.0.2.3:1", nil, true, 0},
		}},
		{"creates draw on writes and creates", []step{
			{"create", 0, "POST", "/api/rooms", ana, nil, true, 0},
			{"second create", 0, "POST", "/api/rooms", ana, nil, false, 2 * time.Second},
			// The refused create took no write token: one write is left.
			{"write", 0, "POST", "/api/rooms/A/guesses", ana, nil, true, 0},
			{"write over", 0, "POST", "/api/rooms/A/guesses", ana, nil, false, time.Second},
			{"create again", 2 * time.Second, "POST", "/rooms", ana, nil, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, clk := newTestLimiters(cfg)
			for _, s := range tt.steps {
				clk.advance(s.advance)
				ok, wait := l.Allow(request(s.method, s.path, s.remote, s.headers...), ClassOf(request(s.method, s.path, s.remote)))
				if ok != s.ok || (!ok && wait != s.wait) {
					t.Fatalf("step %s: Allow = %v, %v; want %v, %v", s.name, ok, wait, s.ok, s.wait)
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		wait time.Duration
		want string
	}{
		{0, "1"}, {time.Millisecond, "1"}, {time.Second, "1"}, {1001 * time.Millisecond, "2"}, {90 * time.Second, "90"},
	} {
		if got := RetryAfter(tt.wait); got != tt.want {
			t.Errorf("RetryAfter(%v) = %s, want %s", tt.wait, got, tt.want)
		}
	}
}

func TestMessages(t *testing.T) {
	l, clk := newTestLimiters(Config{SessionMessages: Rate{PerSecond: 1, Burst: 2}})
	withSession := request("GET", "/ws/rooms/A", "192.0.2.1:1", "Cookie: gallows_session=abc")
	sameSessionElsewhere := request("GET", "/ws/rooms/B", "198.51.100.1:1", "Cookie: gallows_session=abc")
	anonymous := request("GET", "/ws/rooms/A", "192.0.2.1:2")
	if l.MessageKey(withSession) != l.MessageKey(sameSessionElsewhere) {
		t.Fatal("two sockets of one session have different message keys")
	}
	if l.MessageKey(withSession) == l.MessageKey(anonymous) {
		t.Fatal("a session shares its message key with its IP")
	}
	key := l.MessageKey(withSession)
	if !l.AllowMessage(key) || !l.AllowMessage(l.MessageKey(sameSessionElsewhere)) {
		t.Fatal("burst of 2 refused")
	}
	if l.AllowMessage(key) {
		t.Fatal("third message of the session allowed")
	}
	if !l.AllowMessage(l.MessageKey(anonymous)) {
		t.Fatal("the IP's own budget was spent by the session")
	}
	clk.advance(time.Second)
	if !l.AllowMessage(key) {
		t.Fatal("not refilled after a second")
	}
}

// TestTablesAreBounded floods the limiters with new addresses and new
// session tokens: each table keeps at most MaxKeys keys, and forgets idle
// keys once they have been idle for IdleTTL.
func TestTablesAreBounded(t *testing.T) {
	const maxKeys = 100
	l, clk := newTestLimiters(Config{MaxKeys: maxKeys, IdleTTL: time.Minute})
	for i := range 10 * maxKeys {
		ip := fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)
		l.Allow(request("GET", "/", ip, "Authorization: Bearer random-"+strconv.Itoa(i)), Read)
		l.Allow(request("POST", "/api/rooms", ip), Create)
		l.AllowMessage(l.MessageKey(request("GET", "/ws/cluster", ip)))
	}
	tables := map[string]*table{
		"reads by IP": l.readsByIP, "reads by session": l.readsBySession, "writes by IP": l.writesByIP,
		"creates by IP": l.createsByIP, "messages": l.messagesBySession,
	}
	for name, tb := range tables {
		if n := tb.len(); n != maxKeys {
			t.Errorf("%s holds %d keys after a flood, want %d", name, n, maxKeys)
		}
	}

	// The most recent keys are the ones kept: the last address is still
	// limited (its read bucket is not new).
	last := request("GET", "/", "10.0.3.231:1")
	for range DefaultReads.Burst - 1 {
		if ok, _ := l.Allow(last, Read); !ok {
			t.Fatal("last address refused within its burst")
		}
	}
	if ok, _ := l.Allow(last, Read); ok {
		t.Fatal("last address was forgotten: a new bucket let it past its burst")
	}

	// Idle keys are forgotten: a minute later, one new client leaves one key.
	clk.advance(time.Minute + time.Second)
	l.Allow(request("GET", "/", "192.0.2.200:1"), Read)
	if n := l.readsByIP.len(); n != 1 {
		t.Errorf("reads by IP holds %d keys after every other key idled out, want 1", n)
	}
}

func TestIdleTTLCoversRefill(t *testing.T) {
	c := Config{IdleTTL: time.Second, Creates: Rate{PerSecond: 0.01, Burst: 5}}.WithDefaults()
	if c.IdleTTL < 500*time.Second {
		t.Errorf("IdleTTL %v is shorter than the creates bucket takes to refill (500s)", c.IdleTTL)
	}
}

func TestScaled(t *testing.T) {
	c := Config{}.Scaled(10)
	if c.Reads != (Rate{PerSecond: 200, Burst: 600}) || c.SocketMessages != (Rate{PerSecond: 100, Burst: 200}) {
		t.Errorf("Scaled(10) = %+v", c)
	}
	if c.BodyTimeout != DefaultBodyTimeout {
		t.Errorf("Scaled changed the body timeout to %v", c.BodyTimeout)
	}
}

func TestHandlerRefuses(t *testing.T) {
	l, _ := newTestLimiters(Config{Reads: Rate{PerSecond: 1, Burst: 1}, Upgrades: Rate{PerSecond: 0.25, Burst: 1}})
	h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	tests := []struct {
		name        string
		path        string
		headers     []string
		contentType string
		retryAfter  string
	}{
		{"api", "/api/rooms", nil, "application/json", "1"},
		{"page", "/", nil, "text/plain; charset=utf-8", "1"},
		{"websocket", "/ws/cluster", []string{"Upgrade: websocket"}, "text/plain; charset=utf-8", "4"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote := fmt.Sprintf("192.0.2.%d:1", i+1)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, request("GET", tt.path, remote, tt.headers...))
			if rec.Code != http.StatusNoContent {
				t.Fatalf("first request: %d", rec.Code)
			}
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, request("GET", tt.path, remote, tt.headers...))
			if rec.Code != http.StatusTooManyRequests {
				t.Fatalf("second request: %d, want 429", rec.Code)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if tt.contentType == "application/json" {
				var body struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "rate_limited" || body.Error.Message == "" {
					t.Errorf("body %s (%v), want a rate_limited error", rec.Body, err)
				}
			}
		})
	}
}

// TestMadeUpTokensCostNoMoreThanTheirIP floods from one address with a new
// made-up session token on every request: past the address's burst the
// requests are refused without a session bucket being made for them.
func TestMadeUpTokensCostNoMoreThanTheirIP(t *testing.T) {
	l, _ := newTestLimiters(Config{Writes: Rate{PerSecond: 1, Burst: 10}})
	allowed := 0
	for i := range 10_000 {
		if ok, _ := l.Allow(request("POST", "/api/rooms/A/guesses", "192.0.2.1:1", "Authorization: Bearer made-up-"+strconv.Itoa(i)), Write); ok {
			allowed++
		}
	}
	if allowed != 10 {
		t.Errorf("%d requests allowed, want the burst of 10", allowed)
	}
	if n := l.writesBySession.len(); n != 10 {
		t.Errorf("%d sessions remembered after a flood of made-up tokens, want 10 (one per allowed request)", n)
	}
}
