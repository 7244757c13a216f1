package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// waitTimeout bounds every wait for something to happen in these tests.
const waitTimeout = 10 * time.Second

// serveResult is what one Serve call returned.
type serveResult struct {
	topic string
	err   error
}

// testServer is a Hub behind a real HTTP server. Sockets connect to
// /ws?topic=T&since=N; sndbuf=N shrinks the server's TCP send buffer of that
// socket. The handler calls Serve, or Start if the server was made by
// newStartTestServer.
type testServer struct {
	hub     *Hub
	srv     *httptest.Server
	results chan serveResult
	cancel  context.CancelFunc // ends the ctx every Serve runs in
}

func newTestServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return newTestServerWith(t, cfg, false)
}

func newStartTestServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return newTestServerWith(t, cfg, true)
}

func newTestServerWith(t testing.TB, cfg Config, useStart bool) *testServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{hub: New(cfg), results: make(chan serveResult, 1024), cancel: cancel}
	up := NewUpgrader(func(*http.Request) bool { return true })
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		since, _ := strconv.ParseUint(q.Get("since"), 10, 64)
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		if n, _ := strconv.Atoi(q.Get("sndbuf")); n > 0 {
			if err := ws.NetConn().(*net.TCPConn).SetWriteBuffer(n); err != nil {
				t.Errorf("SetWriteBuffer: %v", err)
			}
		}
		topic := q.Get("topic")
		if useStart {
			s.hub.Start(ctx, topic, ws, since, func(err error) { s.results <- serveResult{topic: topic, err: err} })
			return
		}
		s.results <- serveResult{topic: topic, err: s.hub.Serve(ctx, topic, ws, since)}
	}))
	t.Cleanup(func() {
		s.hub.Close()
		s.srv.Close()
		cancel()
	})
	return s
}

func (s *testServer) url(topic string, since uint64, extra string) string {
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws?topic=" + url.QueryEscape(topic) +
		"&since=" + strconv.FormatUint(since, 10)
	if extra != "" {
		u += "&" + extra
	}
	return u
}

// dial connects a client socket to topic and closes it at the end of the test.
func (s *testServer) dial(t testing.TB, topic string, since uint64) *websocket.Conn {
	t.Helper()
	return s.dialWith(t, websocket.DefaultDialer, s.url(topic, since, ""))
}

func (s *testServer) dialWith(t testing.TB, d *websocket.Dialer, u string) *websocket.Conn {
	t.Helper()
	ws, _, err := d.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// nextResult returns the result of the next Serve call to return.
func (s *testServer) nextResult(t testing.TB) serveResult {
	t.Helper()
	select {
	case r := <-s.results:
		return r
	case <-time.After(waitTimeout):
		t.Fatal("no Serve call returned in time")
		return serveResult{}
	}
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitChan waits for ch to deliver or be closed.
func waitChan[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// testFrame returns a frame whose data starts with "<version>|", padded with
// tag to size bytes.
func testFrame(version uint64, tag string, size int) Frame {
	b := []byte(strconv.FormatUint(version, 10) + "|" + tag)
	for len(b) < size {
		b = append(b, '.')
	}
	return Frame{Version: version, Data: b}
}

// frameVersion parses the version of a testFrame; 0 if msg is not one.
func frameVersion(msg []byte) uint64 {
	i := bytes.IndexByte(msg, '|')
	if i < 0 {
		return 0
	}
	v, _ := strconv.ParseUint(string(msg[:i]), 10, 64)
	return v
}

// read reads the next message within waitTimeout.
func read(t testing.TB, ws *websocket.Conn) []byte {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(waitTimeout))
	_, msg, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return msg
}

// readClose reads until the socket fails and returns that error.
func readClose(t testing.TB, ws *websocket.Conn) error {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return err
		}
	}
}

func TestPublishReachesEverySocketOfTheTopic(t *testing.T) {
	s := newTestServer(t, Config{})
	var a, b []*websocket.Conn
	for range 3 {
		a = append(a, s.dial(t, "a", 0))
	}
	for range 2 {
		b = append(b, s.dial(t, "b", 0))
	}
	waitFor(t, "sockets to join", func() bool { return s.hub.Sockets("a") == 3 && s.hub.Sockets("b") == 2 })
	if got := s.hub.Topics(); got != 2 {
		t.Fatalf("Topics() = %d, want 2", got)
	}

	for v := uint64(1); v <= 5; v++ {
		f := testFrame(v, "room a", 2048)
		s.hub.Publish("a", f)
		for i, ws := range a {
			if got := read(t, ws); !bytes.Equal(got, f.Data) {
				t.Fatalf("socket %d of a got %.20q, want frame %d", i, got, v)
			}
		}
	}
	if f, ok := s.hub.Latest("a"); !ok || f.Version != 5 {
		t.Fatalf("Latest(a) = %d, %v; want version 5", f.Version, ok)
	}
	if _, ok := s.hub.Latest("b"); ok {
		t.Fatal("Latest(b) has a frame; want none")
	}

	// Sockets of b got none of a's frames: the first thing they get is b's.
	fb := testFrame(1, "room b", 100)
	s.hub.Publish("b", fb)
	for i, ws := range b {
		if got := read(t, ws); !bytes.Equal(got, fb.Data) {
			t.Fatalf("socket %d of b got %.20q, want b's frame", i, got)
		}
	}
}

func TestVersionsNeverGoBackwards(t *testing.T) {
	s := newTestServer(t, Config{})
	s1 := s.dial(t, "room", 0)
	waitFor(t, "socket to join", func() bool { return s.hub.Sockets("room") == 1 })

	s.hub.Publish("room", testFrame(5, "five", 10))
	if v := frameVersion(read(t, s1)); v != 5 {
		t.Fatalf("s1 got version %d, want 5", v)
	}
	s.hub.Publish("room", testFrame(3, "three", 10))
	if f, _ := s.hub.Latest("room"); f.Version != 5 {
		t.Fatalf("Latest = %d after publishing 3 over 5, want 5", f.Version)
	}

	// s2 is up to date with 5: it must get nothing before 6. s3 knows
	// nothing: it gets 5 at once.
	s2 := s.dial(t, "room", 5)
	s3 := s.dial(t, "room", 0)
	if v := frameVersion(read(t, s3)); v != 5 {
		t.Fatalf("s3 (since 0) got version %d first, want 5", v)
	}
	waitFor(t, "sockets to join", func() bool { return s.hub.Sockets("room") == 3 })
	s.hub.Publish("room", testFrame(6, "six", 10))
	for name, ws := range map[string]*websocket.Conn{"s1": s1, "s2": s2, "s3": s3} {
		if v := frameVersion(read(t, ws)); v != 6 {
			t.Fatalf("%s got version %d, want 6", name, v)
		}
	}
}

func TestSlowSocketDoesNotDelayOthers(t *testing.T) {
	const (
		frames    = 40
		frameSize = 64 << 10
	)
	s := newTestServer(t, Config{WriteTimeout: time.Minute})

	// The slow client never reads until the end, and both TCP buffers of
	// its connection are small, so its writer blocks on the first frame.
	slowDialer := *websocket.DefaultDialer
	slowDialer.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return c, c.(*net.TCPConn).SetReadBuffer(4096)
	}
	slow := s.dialWith(t, &slowDialer, s.url("room", 0, "sndbuf=4096"))
	var fast []*websocket.Conn
	for range 5 {
		fast = append(fast, s.dial(t, "room", 0))
	}
	waitFor(t, "sockets to join", func() bool { return s.hub.Sockets("room") == 6 })

	// Each frame reaches every fast socket promptly while the slow one is
	// stuck.
	for v := uint64(1); v <= frames; v++ {
		start := time.Now()
		s.hub.Publish("room", testFrame(v, "big", frameSize))
		for i, ws := range fast {
			_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, msg, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("fast socket %d, frame %d: %v", i, v, err)
			}
			if got := frameVersion(msg); got != v {
				t.Fatalf("fast socket %d got version %d, want %d", i, got, v)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("frame %d took %v to reach the fast sockets", v, d)
		}
	}

	// The slow socket catches up with the latest frame, skipping the ones
	// published while it was stuck.
	var seen []uint64
	for len(seen) == 0 || seen[len(seen)-1] != frames {
		msg := read(t, slow)
		v := frameVersion(msg)
		if len(msg) != frameSize {
			t.Fatalf("slow socket got a %d-byte frame, want %d", len(msg), frameSize)
		}
		if len(seen) > 0 && v <= seen[len(seen)-1] {
			t.Fatalf("slow socket got version %d after %v", v, seen)
		}
		seen = append(seen, v)
	}
	if len(seen) >= frames {
		t.Fatalf("slow socket got every frame (%v); want intermediate ones skipped", seen)
	}
	t.Logf("slow socket got versions %v", seen)
}

// testSource is a Source that reports its runs.
type testSource struct {
	runs    atomic.Int32
	started chan string   // topic, on every run
	stopped chan struct{} // on every run that ended because ctx ended
	// run is the body of run n (1-based); nil: publish n and wait for ctx.
	run func(ctx context.Context, n int, publish func(Frame)) error
}

func newTestSource() *testSource {
	return &testSource{started: make(chan string, 16), stopped: make(chan struct{}, 16)}
}

func (s *testSource) Source(ctx context.Context, topic string, publish func(Frame)) error {
	n := int(s.runs.Add(1))
	s.started <- topic
	var err error
	if s.run != nil {
		err = s.run(ctx, n, publish)
	} else {
		publish(testFrame(uint64(n), "run", 10))
		<-ctx.Done()
	}
	if ctx.Err() != nil {
		s.stopped <- struct{}{}
	}
	return err
}

func TestSourceLifecycle(t *testing.T) {
	src := newTestSource()
	s := newTestServer(t, Config{Source: src.Source})

	c1 := s.dial(t, "room", 0)
	if topic := waitChan(t, "source start", src.started); topic != "room" {
		t.Fatalf("source started for %q, want room", topic)
	}
	if v := frameVersion(read(t, c1)); v != 1 {
		t.Fatalf("c1 got version %d, want 1", v)
	}
	c2 := s.dial(t, "room", 0)
	if v := frameVersion(read(t, c2)); v != 1 {
		t.Fatalf("c2 got version %d, want 1", v)
	}

	_ = c1.Close()
	waitFor(t, "c1 to leave", func() bool { return s.hub.Sockets("room") == 1 })
	select {
	case <-src.stopped:
		t.Fatal("source stopped while the topic still has a socket")
	default:
	}
	_ = c2.Close()
	waitChan(t, "source to stop after the last socket left", src.stopped)
	waitFor(t, "topic to go", func() bool { return s.hub.Topics() == 0 })
	if n := src.runs.Load(); n != 1 {
		t.Fatalf("source ran %d times, want 1", n)
	}

	// A new socket starts it again.
	c3 := s.dial(t, "room", 0)
	waitChan(t, "source restart", src.started)
	if v := frameVersion(read(t, c3)); v != 2 {
		t.Fatalf("c3 got version %d, want 2", v)
	}
	s.hub.Close()
	waitChan(t, "source to stop on Close", src.stopped)
}

func TestSourceRestartsAfterError(t *testing.T) {
	src := newTestSource()
	src.run = func(ctx context.Context, n int, publish func(Frame)) error {
		publish(testFrame(uint64(n), "run", 10))
		if n < 3 {
			return fmt.Errorf("run %d failed", n)
		}
		<-ctx.Done()
		return ctx.Err()
	}
	s := newTestServer(t, Config{Source: src.Source})
	// The source starts as the socket connects: time from before the dial.
	start := time.Now()
	ws := s.dial(t, "room", 0)
	for v := uint64(0); v != 3; {
		v = frameVersion(read(t, ws))
	}
	// Two failures: backoff 100ms then 200ms.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("three runs took %v; want at least the 300ms of backoff", d)
	}
	if n := src.runs.Load(); n != 3 {
		t.Fatalf("source ran %d times, want 3", n)
	}
	_ = ws.Close()
	waitChan(t, "source to stop", src.stopped)
}

func TestOnMessageAndSend(t *testing.T) {
	type got struct {
		topic, msg string
	}
	msgs := make(chan got, 16)
	s := newTestServer(t, Config{OnMessage: func(ctx context.Context, c *Conn, msg []byte) {
		msgs <- got{c.Topic(), string(msg)}
		if string(msg) == "bye" {
			c.Close(4000, "bye")
			return
		}
		c.Send([]byte("ack:" + string(msg)))
	}})
	c1 := s.dial(t, "room", 0)
	c2 := s.dial(t, "room", 0)
	waitFor(t, "sockets to join", func() bool { return s.hub.Sockets("room") == 2 })

	if err := c1.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if g := waitChan(t, "OnMessage", msgs); g != (got{"room", "hello"}) {
		t.Fatalf("OnMessage got %+v", g)
	}
	if m := read(t, c1); string(m) != "ack:hello" {
		t.Fatalf("c1 got %q, want ack:hello", m)
	}
	// Had the ack gone to c2 too, c2 would get it before this frame.
	f := testFrame(1, "frame", 10)
	s.hub.Publish("room", f)
	for _, ws := range []*websocket.Conn{c1, c2} {
		if m := read(t, ws); !bytes.Equal(m, f.Data) {
			t.Fatalf("got %q, want the frame", m)
		}
	}

	// Conn.Close closes with the given code; Serve reports it.
	if err := c2.WriteMessage(websocket.TextMessage, []byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := readClose(t, c2); !websocket.IsCloseError(err, 4000) {
		t.Fatalf("c2 read error %v, want close 4000", err)
	}
	if r := s.nextResult(t); r.err == nil || !strings.Contains(r.err.Error(), "4000") {
		t.Fatalf("Serve returned %v, want an error with 4000", r.err)
	}
}

func TestMessageOverReadLimitCloses1009(t *testing.T) {
	s := newTestServer(t, Config{ReadLimit: 64})
	ws := s.dial(t, "room", 0)
	if err := ws.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), 4096)); err != nil {
		t.Fatal(err)
	}
	if err := readClose(t, ws); !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("read error %v, want close 1009", err)
	}
	_ = ws.Close() // a browser closes on the server's FIN; gorilla's client leaves it to us
	if r := s.nextResult(t); !errors.Is(r.err, websocket.ErrReadLimit) {
		t.Fatalf("Serve returned %v, want ErrReadLimit", r.err)
	}
}

func TestRateLimit(t *testing.T) {
	var accepted sync.Map // *Conn → *atomic.Int32
	s := newTestServer(t, Config{
		RatePerSec:  1,
		RateBurst:   3,
		RateLimited: []byte("slow down"),
		OnMessage: func(ctx context.Context, c *Conn, msg []byte) {
			n, _ := accepted.LoadOrStore(c, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
			c.Send([]byte("ack:" + string(msg)))
		},
	})
	flooder := s.dial(t, "room", 0)
	calm := s.dial(t, "room", 0)
	waitFor(t, "sockets to join", func() bool { return s.hub.Sockets("room") == 2 })

	// Six at once with a burst of 3: at least two are dropped, each
	// answered with RateLimited, and the socket stays open.
	for i := range 6 {
		if err := flooder.WriteMessage(websocket.TextMessage, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	acks, limited := 0, 0
	for acks+limited < 6 {
		switch m := string(read(t, flooder)); {
		case strings.HasPrefix(m, "ack:"):
			acks++
		case m == "slow down":
			limited++
		default:
			t.Fatalf("flooder got %q", m)
		}
	}
	if acks < 3 || acks > 4 || limited < 2 {
		t.Fatalf("got %d acks and %d rate-limited replies for 6 messages, want 3-4 and the rest", acks, limited)
	}

	// A real flood: 3×burst drops in a row close the socket with 1008.
	for i := range 100 {
		if err := flooder.WriteMessage(websocket.TextMessage, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := readClose(t, flooder); !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
		t.Fatalf("flooder read error %v, want close 1008", err)
	}
	if r := s.nextResult(t); !errors.Is(r.err, ErrRateLimited) {
		t.Fatalf("Serve returned %v, want ErrRateLimited", r.err)
	}

	// The other socket is unaffected.
	if err := calm.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m := read(t, calm); string(m) != "ack:hi" {
		t.Fatalf("calm socket got %q, want ack:hi", m)
	}
	s.hub.Publish("room", testFrame(1, "frame", 10))
	if v := frameVersion(read(t, calm)); v != 1 {
		t.Fatalf("calm socket got version %d, want 1", v)
	}
}

// TestAdmitSharesALimit refuses messages through Config.Admit, as the
// frontend does for a session over all its sockets: a refused message is
// dropped and answered with RateLimited though the socket is within its
// own rate, and a socket that goes on sending is closed with 1008 once
// its drops pass the hard cap.
func TestAdmitSharesALimit(t *testing.T) {
	var budget atomic.Int32
	budget.Store(2)
	s := newTestServer(t, Config{
		RatePerSec:  1000,
		RateBurst:   3,
		RateLimited: []byte("slow down"),
		Admit:       func(context.Context) bool { return budget.Add(-1) >= 0 },
		OnMessage: func(ctx context.Context, c *Conn, msg []byte) {
			c.Send([]byte("ack:" + string(msg)))
		},
	})
	a, b := s.dial(t, "room", 0), s.dial(t, "room", 0)
	waitFor(t, "sockets to join", func() bool { return s.hub.Sockets("room") == 2 })
	for i, ws := range []*websocket.Conn{a, b} {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		if m := string(read(t, ws)); m != "ack:"+strconv.Itoa(i) {
			t.Fatalf("socket %d got %q, want an ack", i, m)
		}
	}
	// The shared budget is spent: b, well within its own rate, is refused.
	if err := b.WriteMessage(websocket.TextMessage, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if m := string(read(t, b)); m != "slow down" {
		t.Fatalf("socket over the shared limit got %q, want the rate-limited reply", m)
	}
	// Going on: 3×burst drops (the hard cap) and the socket is closed.
	for i := range 3*3 + 1 {
		if err := b.WriteMessage(websocket.TextMessage, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := readClose(t, b); !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
		t.Fatalf("flooding socket read error %v, want close 1008", err)
	}
	if r := s.nextResult(t); !errors.Is(r.err, ErrRateLimited) {
		t.Fatalf("Serve returned %v, want ErrRateLimited", r.err)
	}
}

func TestCloseEndsEveryServe(t *testing.T) {
	t.Run("Serve", func(t *testing.T) { testCloseEndsEverySocket(t, false) })
	t.Run("Start", func(t *testing.T) { testCloseEndsEverySocket(t, true) })
}

func testCloseEndsEverySocket(t *testing.T, useStart bool) {
	src := newTestSource()
	s := newTestServerWith(t, Config{Source: src.Source}, useStart)
	var clients []*websocket.Conn
	for i := range 5 {
		clients = append(clients, s.dial(t, fmt.Sprintf("room%d", i%2), 0))
	}
	waitFor(t, "sockets to join", func() bool { return s.hub.Sockets("room0")+s.hub.Sockets("room1") == 5 })

	// The clients read, so they answer the close frames at once.
	readErrs := make([]chan error, len(clients))
	for i, ws := range clients {
		readErrs[i] = make(chan error, 1)
		go func() { readErrs[i] <- readClose(t, ws) }()
	}
	start := time.Now()
	s.hub.Close() // returns once every Serve (or Start's done) has
	if d := time.Since(start); d >= closeGrace {
		t.Errorf("Close took %v: the close handshakes did not complete", d)
	}
	if n := len(s.results); useStart && n != 5 {
		t.Fatalf("%d done funcs called when Close returned, want 5", n)
	}
	for range 5 {
		if r := s.nextResult(t); r.err != nil {
			t.Fatalf("Serve(%s) returned %v, want nil", r.topic, r.err)
		}
	}
	for i := range clients {
		if err := waitChan(t, "client to see the close", readErrs[i]); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("client %d read error %v, want close 1001", i, err)
		}
	}
	for range 2 {
		waitChan(t, "sources to stop", src.stopped)
	}
	if n := s.hub.Topics(); n != 0 {
		t.Fatalf("Topics() = %d after Close, want 0", n)
	}

	// Sockets arriving after Close are turned away.
	ws := s.dial(t, "room0", 0)
	if err := readClose(t, ws); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("late client read error %v, want close 1001", err)
	}
	if r := s.nextResult(t); !errors.Is(r.err, ErrClosed) {
		t.Fatalf("late Serve returned %v, want ErrClosed", r.err)
	}
}

func TestServeContextEndClosesSocket(t *testing.T) {
	s := newTestServer(t, Config{})
	ws := s.dial(t, "room", 0)
	waitFor(t, "socket to join", func() bool { return s.hub.Sockets("room") == 1 })
	s.cancel()
	if err := readClose(t, ws); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("read error %v, want close 1001", err)
	}
	if r := s.nextResult(t); r.err != nil {
		t.Fatalf("Serve returned %v, want nil", r.err)
	}
	waitFor(t, "topic to go", func() bool { return s.hub.Topics() == 0 })
}

func TestPeerCloseReturnsNil(t *testing.T) {
	s := newTestServer(t, Config{})
	ws := s.dial(t, "room", 0)
	waitFor(t, "socket to join", func() bool { return s.hub.Sockets("room") == 1 })
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := readClose(t, ws); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("read error %v, want the close 1000 echoed", err)
	}
	if r := s.nextResult(t); r.err != nil {
		t.Fatalf("Serve returned %v, want nil", r.err)
	}
}

func TestPingsKeepAliveAndSilenceTimesOut(t *testing.T) {
	s := newTestServer(t, Config{PingInterval: 20 * time.Millisecond, PongWait: 100 * time.Millisecond})

	// A client that answers pings (gorilla's default) outlives PongWait
	// many times over.
	alive := s.dial(t, "room", 0)
	var pings atomic.Int32
	alive.SetPingHandler(func(data string) error {
		pings.Add(1)
		return alive.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	// A client that never answers is dropped after PongWait.
	mute := s.dial(t, "room", 0)
	mute.SetPingHandler(func(string) error { return nil })

	readErr := make(chan error, 1)
	go func() {
		_, _, err := alive.ReadMessage() // runs the ping handler
		readErr <- err
	}()
	if err := readClose(t, mute); err == nil {
		t.Fatal("mute client was not dropped")
	}
	r := s.nextResult(t)
	var ne net.Error
	if !errors.As(r.err, &ne) || !ne.Timeout() {
		t.Fatalf("Serve of the mute client returned %v, want a read timeout", r.err)
	}
	waitFor(t, "pings over 5×PongWait", func() bool { return pings.Load() >= 25 })
	s.hub.Publish("room", testFrame(1, "still here", 10))
	if err := <-readErr; err != nil {
		t.Fatalf("alive client: %v", err)
	}
	if n := s.hub.Sockets("room"); n != 1 {
		t.Fatalf("Sockets = %d, want 1", n)
	}
}

func TestSendQueueDropsOldest(t *testing.T) {
	c := &Conn{notify: make(chan struct{}, 1), ctx: context.Background()}
	for i := range 20 {
		c.Send([]byte(strconv.Itoa(i)))
	}
	q := c.takeQueue()
	if len(q) != sendQueueLen || string(q[0]) != "4" || string(q[len(q)-1]) != "19" {
		t.Fatalf("queue = %q, want 4..19", q)
	}
}
