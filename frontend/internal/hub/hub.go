// Package hub fans room states out to the websocket connections of a
// Gallows frontend.
//
// A Hub holds the websocket connections ("sockets") of browser tabs, grouped
// by topic (a room). For each topic it keeps only the latest Frame: the room
// state rendered once, with its version. Every socket has its own writer
// goroutine that writes the topic's latest frame whenever it is newer than the
// last one that socket got, so
//
//   - a state is rendered once and the same bytes (framed once, as a
//     websocket.PreparedMessage) are written to every socket of the topic;
//   - a slow socket is never queued up: while it is busy, newer frames replace
//     older ones and it gets the latest when it can take it; it never delays
//     the producer or the other sockets;
//   - the versions a socket sees only go up.
//
// A topic's frames come from its Source, which the hub runs while the topic
// has at least one socket (and restarts with backoff when it fails), or from
// Hub.Publish.
//
// HTTP handlers upgrade with the Upgrader from NewUpgrader (small buffers and
// a shared write buffer pool, so an idle socket costs little) and then hand
// the connection to Hub.Start, which serves it in its own goroutines, and
// return (Hub.Serve does the same but blocks, keeping net/http's buffers for
// the connection alive as long as the socket):
//
//	up := hub.NewUpgrader(sameSite)
//	mux.HandleFunc("GET /rooms/{id}/ws", func(w http.ResponseWriter, r *http.Request) {
//		ws, err := up.Upgrade(w, r, nil)
//		if err != nil {
//			return // the upgrader has replied
//		}
//		since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
//		h.Start(context.WithoutCancel(r.Context()), r.PathValue("id"), ws, since, nil)
//	})
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Defaults used when a Config leaves a field zero.
const (
	// DefaultReadLimit is the default Config.ReadLimit, in bytes.
	DefaultReadLimit = 1024
	// DefaultWriteTimeout is the default Config.WriteTimeout.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultPingInterval is the default Config.PingInterval.
	DefaultPingInterval = 25 * time.Second
	// DefaultPongWait is the default Config.PongWait.
	DefaultPongWait = 60 * time.Second
	// DefaultRatePerSec is the default Config.RatePerSec.
	DefaultRatePerSec = 10
	// DefaultRateBurst is the default Config.RateBurst.
	DefaultRateBurst = 20
)

// Source restart backoff: it starts at minBackoff, doubles on each failure
// up to maxBackoff, and starts over when a run lasted at least maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// closeGrace is how long a socket the hub is closing has to answer the close
// frame before its TCP connection is closed regardless.
const closeGrace = time.Second

// sendQueueLen is the capacity of a socket's personal queue (Conn.Send).
const sendQueueLen = 16

// dropRefill is how fast a socket regains its budget of messages dropped
// for rate (see Config.RatePerSec).
const dropRefill = rate.Limit(1)

// Errors returned by Serve.
var (
	// ErrClosed is returned by Serve on a closed Hub.
	ErrClosed = errors.New("hub: closed")
	// ErrRateLimited is returned by Serve when the socket was closed for
	// sending too many messages.
	ErrRateLimited = errors.New("hub: socket closed for exceeding the message rate")
)

// Frame is one rendered message for every socket of a topic.
type Frame struct {
	// Version orders the frames of a topic; a socket only ever gets frames
	// of increasing versions. Versions start at 1.
	Version uint64
	// Sub orders refreshes of one version: a frame of the same Version
	// and a higher Sub (the room's state unchanged, who is online
	// changed) replaces the one before.
	Sub uint64
	// Data is the text message written to the sockets. The hub does not
	// copy it: it must not be modified once published.
	Data []byte
}

// Source produces a topic's frames while the topic has at least one socket:
// the hub starts it (in its own goroutine) when the first socket joins and
// cancels ctx when the last leaves. It should publish the topic's current
// state first, then every change. If it returns early with an error and the
// topic still has sockets, the hub logs and restarts it with backoff (100ms
// doubling to 2s); if it returns nil early, the topic simply gets no more
// frames until its sockets leave and a socket joins again.
type Source func(ctx context.Context, topic string, publish func(Frame)) error

// Config configures a Hub. Zero fields take the defaults above.
type Config struct {
	// Source produces the frames of each topic; nil: frames come only from
	// Hub.Publish.
	Source Source
	// OnMessage is called with each text message a socket sends, on that
	// socket's reader goroutine (so one at a time per socket); ctx ends
	// when the socket closes. nil: messages are ignored.
	OnMessage func(ctx context.Context, c *Conn, msg []byte)
	// ReadLimit is the largest incoming message in bytes (default 1024); a
	// bigger one closes the socket with 1009 (message too big).
	ReadLimit int64
	// WriteTimeout bounds each write (default 10s); a socket that cannot
	// take a write in time is closed.
	WriteTimeout time.Duration
	// PingInterval is how often each socket is pinged (default 25s).
	PingInterval time.Duration
	// PongWait is the read deadline, extended by every pong and message
	// (default 60s). It must be longer than PingInterval.
	PongWait time.Duration
	// RatePerSec is how many messages per second a socket may send
	// (default 10), with bursts of RateBurst (default 20). A message over
	// the limit (or refused by Admit) is dropped and the socket is sent
	// RateLimited (if set). Drops have a budget of their own, the hard
	// cap: 3×RateBurst, regained at one a second; a socket that spends it
	// (one that keeps flooding) is closed with 1008 (policy violation).
	RatePerSec float64
	// RateBurst is the burst of the message rate limit (default 20).
	RateBurst int
	// Admit, if set, is asked about each message the socket's own rate
	// allows, with the socket's context (see Start), on its reader
	// goroutine: false drops the message as over the rate. The frontend
	// uses it for a limit shared by every socket of a session.
	Admit func(ctx context.Context) bool
	// RateLimited is sent to a socket whose message was dropped for rate
	// (optional).
	RateLimited []byte
	// Logger receives the hub's logs (default slog.Default()).
	Logger *slog.Logger
}

// Hub holds the sockets of every topic and fans frames out to them. Its
// methods are safe for concurrent use.
type Hub struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	topics  map[string]*topic
	closed  bool
	serving sync.WaitGroup // sockets being served (Serve and Start)
	sources sync.WaitGroup // Source goroutines

	// plainWrites makes writers use WriteMessage instead of one shared
	// PreparedMessage per frame; only for comparing the two in benchmarks.
	plainWrites bool
}

// topic is the state of one topic while it has sockets.
type topic struct {
	name   string
	latest atomic.Pointer[frame]
	cancel context.CancelFunc // stops the Source
	gone   atomic.Bool        // removed from the hub: its Source's publishes are dropped

	mu    sync.RWMutex
	conns []*Conn // each Conn's idx is its position
}

// frame is a published Frame with its wire form, built once by the first
// writer that needs it.
type frame struct {
	Frame
	once sync.Once
	pm   *websocket.PreparedMessage
	err  error
}

func (f *frame) prepared() (*websocket.PreparedMessage, error) {
	f.once.Do(func() {
		f.pm, f.err = websocket.NewPreparedMessage(websocket.TextMessage, f.Data)
	})
	return f.pm, f.err
}

// New returns a Hub configured by cfg.
func New(cfg Config) *Hub {
	if cfg.ReadLimit <= 0 {
		cfg.ReadLimit = DefaultReadLimit
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.PongWait <= 0 {
		cfg.PongWait = DefaultPongWait
	}
	if cfg.RatePerSec <= 0 {
		cfg.RatePerSec = DefaultRatePerSec
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = DefaultRateBurst
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Hub{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "hub"),
		topics: make(map[string]*topic),
	}
}

// writeBufferPool is shared by every Upgrader from NewUpgrader: a socket holds
// a write buffer only while it writes a message of its own (Conn.Send);
// frames go out as prepared messages and need none.
var writeBufferPool = &sync.Pool{}

// NewUpgrader returns the websocket.Upgrader HTTP handlers should use for
// sockets given to Serve: 1 KiB read and write buffers, write buffers taken
// from a shared pool only while writing, no compression, and checkOrigin to
// accept or refuse the request's Origin (nil: gorilla's same-origin check).
func NewUpgrader(checkOrigin func(*http.Request) bool) *websocket.Upgrader {
	return &websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
		WriteBufferPool:  writeBufferPool,
		CheckOrigin:      checkOrigin,
	}
}

// Publish sets the topic's latest frame if f.Version is greater than the
// current one and wakes the topic's writers. It never blocks on sockets and
// is safe from any goroutine. A topic without sockets keeps no state, so a
// frame published to it is dropped (its Source publishes the current state
// when a socket joins).
func (h *Hub) Publish(topicName string, f Frame) {
	h.mu.Lock()
	t := h.topics[topicName]
	h.mu.Unlock()
	if t != nil {
		t.publish(f)
	}
}

// after reports whether frame f comes after g: a later version, or a
// later refresh of the same version.
func after(f, g Frame) bool {
	return f.Version > g.Version || f.Version == g.Version && f.Sub > g.Sub
}

// publish stores f as the latest frame if it is newer and wakes every socket.
func (t *topic) publish(f Frame) {
	nf := &frame{Frame: f}
	for {
		cur := t.latest.Load()
		if cur != nil && !after(f, cur.Frame) {
			return
		}
		if t.latest.CompareAndSwap(cur, nf) {
			break
		}
	}
	t.mu.RLock()
	for _, c := range t.conns {
		c.wake()
	}
	t.mu.RUnlock()
}

// Latest returns the topic's latest frame, if the topic has sockets and a
// frame was published since the first of them joined.
func (h *Hub) Latest(topicName string) (Frame, bool) {
	h.mu.Lock()
	t := h.topics[topicName]
	h.mu.Unlock()
	if t == nil {
		return Frame{}, false
	}
	f := t.latest.Load()
	if f == nil {
		return Frame{}, false
	}
	return f.Frame, true
}

// Sockets returns how many sockets the topic has.
func (h *Hub) Sockets(topicName string) int {
	h.mu.Lock()
	t := h.topics[topicName]
	h.mu.Unlock()
	if t == nil {
		return 0
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.conns)
}

// Topics returns how many topics have sockets.
func (h *Hub) Topics() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.topics)
}

// Close closes every socket with 1001 (going away), stops every Source and
// waits for the Serve calls, the done funcs of Start and the Sources to
// return. Serve calls after Close return ErrClosed.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	var conns []*Conn
	for _, t := range h.topics {
		t.mu.RLock()
		conns = append(conns, t.conns...)
		t.mu.RUnlock()
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.closeWith(websocket.CloseGoingAway, "server shutting down", nil)
	}
	h.serving.Wait()
	h.sources.Wait()
}

// join adds c to its topic, creating the topic (and starting its Source) if
// c is the first socket.
func (h *Hub) join(c *Conn, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	t := h.topics[name]
	if t == nil {
		t = &topic{name: name}
		h.topics[name] = t
		ctx, cancel := context.WithCancel(context.Background())
		t.cancel = cancel
		if h.cfg.Source != nil {
			h.sources.Add(1)
			go h.runSource(ctx, t)
		}
	}
	c.t = t
	t.mu.Lock()
	c.idx = len(t.conns)
	t.conns = append(t.conns, c)
	t.mu.Unlock()
	h.serving.Add(1) // Done once the socket's Serve (or Start's goroutine) is over
	return nil
}

// leave removes c from its topic, and the topic from the hub (stopping its
// Source) if c was the last socket.
func (h *Hub) leave(c *Conn) {
	t := c.t
	h.mu.Lock()
	t.mu.Lock()
	last := len(t.conns) - 1
	moved := t.conns[last]
	t.conns[c.idx] = moved
	moved.idx = c.idx
	t.conns[last] = nil
	t.conns = t.conns[:last]
	empty := len(t.conns) == 0
	t.mu.Unlock()
	if empty {
		delete(h.topics, t.name)
		t.gone.Store(true)
		t.cancel()
	}
	h.mu.Unlock()
}

// runSource runs the topic's Source until the topic is removed, restarting
// it with backoff when it fails.
func (h *Hub) runSource(ctx context.Context, t *topic) {
	defer h.sources.Done()
	publish := func(f Frame) {
		if !t.gone.Load() {
			t.publish(f)
		}
	}
	backoff := minBackoff
	for {
		start := time.Now()
		err := h.cfg.Source(ctx, t.name, publish)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			h.log.Debug("source finished", "topic", t.name)
			return
		}
		if time.Since(start) >= maxBackoff {
			backoff = minBackoff
		}
		h.log.Warn("source failed; restarting", "topic", t.name, "err", err, "in", backoff)
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// closeRequest is the cause of a socket's context when the hub closes the
// socket: the close code and reason to send, and what Serve returns (nil for
// an orderly close).
type closeRequest struct {
	code   int
	reason string
	err    error
}

func (r *closeRequest) Error() string {
	return fmt.Sprintf("hub: closing socket with %d %q", r.code, r.reason)
}
