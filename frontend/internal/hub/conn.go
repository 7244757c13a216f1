package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Conn is one socket, as seen by Config.OnMessage.
type Conn struct {
	hub    *Hub
	ws     *websocket.Conn
	t      *topic // set by join, before the goroutines start
	idx    int    // position in t.conns, guarded by t.mu
	ctx    context.Context
	cancel context.CancelCauseFunc
	notify chan struct{} // capacity 1: "look at the queue and the latest frame"

	mu        sync.Mutex
	queue     [][]byte    // personal messages (Send), oldest first
	killTimer *time.Timer // closes the TCP connection when a close takes too long
	ended     bool        // Serve is done; no more killTimer

	// Writer goroutine only.
	lastSent uint64
	lastSub  uint64 // the Sub of the frame last sent

	// Reader goroutine only: the socket's rate limit (messages) and its
	// hard cap (messages dropped for rate).
	rate  *rate.Limiter
	drops *rate.Limiter
}

// readerExit is the cause of a socket's context when its reader stopped: the
// peer closed the socket or reading failed.
type readerExit struct{ err error }

func (e *readerExit) Error() string { return "hub: socket reader stopped: " + e.err.Error() }
func (e *readerExit) Unwrap() error { return e.err }

// writeError is the cause of a socket's context when a write failed.
type writeError struct{ err error }

func (e *writeError) Error() string { return "hub: socket write failed: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// Serve runs one upgraded websocket in topic until it closes or ctx ends. It
// first sends the topic's latest frame if its version is greater than since,
// then every newer frame, skipping those superseded before the socket could
// take them. Incoming text messages go to Config.OnMessage. Serve blocks and
// closes ws before it returns; it returns nil on an orderly close (the peer
// closed with 1000, 1001 or no status, ctx ended, the hub closed, or Conn.Close
// with 1000 or 1001) and otherwise an error saying why the socket ended.
//
// An HTTP handler that calls Serve keeps net/http's request and per-connection
// buffers alive as long as the socket; see Start for the cheaper way.
func (h *Hub) Serve(ctx context.Context, topicName string, ws *websocket.Conn, since uint64) error {
	c, err := h.attach(ctx, topicName, ws, since)
	if err != nil {
		return err
	}
	defer h.serving.Done()
	return c.run()
}

// Start is Serve in its own goroutine: it returns at once, and done (if not
// nil) is called with what Serve would have returned when the socket ends (at
// once, with ErrClosed, on a closed hub). The socket has joined the topic
// when Start returns.
//
// HTTP handlers should prefer Start to Serve and return right after it:
// net/http then frees the request and the 8 KiB of buffers it holds for the
// connection, which would otherwise stay as long as the socket
// (BenchmarkFanout1000 measures about 23 KiB per idle socket with Serve,
// 12 to 15 KiB with Start). Since the handler
// returns, ctx must not be the request's context, which ends then: use
// context.WithoutCancel(r.Context()) or a context of the server's lifetime.
func (h *Hub) Start(ctx context.Context, topicName string, ws *websocket.Conn, since uint64, done func(error)) {
	c, err := h.attach(ctx, topicName, ws, since)
	if err != nil {
		if done != nil {
			done(err)
		}
		return
	}
	go func() {
		defer h.serving.Done()
		err := c.run()
		if done != nil {
			done(err)
		}
	}()
}

// attach makes the Conn of ws and joins it to the topic; on a closed hub it
// closes ws with 1001 and returns ErrClosed.
func (h *Hub) attach(ctx context.Context, topicName string, ws *websocket.Conn, since uint64) (*Conn, error) {
	c := &Conn{
		hub:      h,
		ws:       ws,
		notify:   make(chan struct{}, 1),
		lastSent: since,
		rate:     rate.NewLimiter(rate.Limit(h.cfg.RatePerSec), h.cfg.RateBurst),
		drops:    rate.NewLimiter(dropRefill, 3*h.cfg.RateBurst),
	}
	c.ctx, c.cancel = context.WithCancelCause(ctx)
	if err := h.join(c, topicName); err != nil {
		c.cancel(err)
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down")
		_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeGrace))
		_ = ws.Close()
		return nil, err
	}
	h.log.Debug("socket joined", "topic", topicName, "since", since)
	return c, nil
}

// run serves a joined socket until it ends, and leaves the topic.
func (c *Conn) run() error {
	defer c.cancel(nil)
	ws := c.ws
	// Once the socket is ending for any reason, its TCP connection gets
	// closeGrace to finish the close handshake (or a blocked write).
	stopWatch := context.AfterFunc(c.ctx, func() {
		c.mu.Lock()
		if !c.ended {
			c.killTimer = time.AfterFunc(closeGrace, func() { _ = ws.NetConn().Close() })
		}
		c.mu.Unlock()
	})

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.wake() // send the latest frame if it is newer than since

	readErr := c.readLoop()
	c.cancel(&readerExit{err: readErr})
	if errors.Is(readErr, websocket.ErrReadLimit) {
		// The reader has sent 1009 and left the rest of the message
		// unread: read it away so the peer gets the close frame rather
		// than a reset.
		lingerClose(ws)
	}
	_ = ws.Close()
	<-writerDone

	stopWatch()
	c.mu.Lock()
	c.ended = true
	if c.killTimer != nil {
		c.killTimer.Stop()
	}
	c.mu.Unlock()
	c.hub.leave(c)

	err := c.result()
	c.hub.log.Debug("socket left", "topic", c.t.name, "err", err)
	return err
}

// result is what Serve returns, from the cause of the socket's end.
func (c *Conn) result() error {
	switch cause := context.Cause(c.ctx).(type) {
	case *closeRequest:
		switch {
		case cause.err != nil:
			return cause.err
		case cause.code == websocket.CloseNormalClosure || cause.code == websocket.CloseGoingAway:
			return nil
		default:
			return fmt.Errorf("hub: socket closed by the server with %d %q", cause.code, cause.reason)
		}
	case *writeError:
		return fmt.Errorf("hub: write to socket: %w", cause.err)
	case *readerExit:
		if websocket.IsCloseError(cause.err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
			return nil
		}
		return fmt.Errorf("hub: read from socket: %w", cause.err)
	default:
		return nil // Serve's ctx ended
	}
}

// lingerClose half-closes the TCP connection and discards what the peer still
// sends, for at most closeGrace, before the connection is closed.
func lingerClose(ws *websocket.Conn) {
	nc := ws.NetConn()
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
	_, _ = io.Copy(io.Discard, nc)
}

// readLoop reads messages until the socket fails or closes.
func (c *Conn) readLoop() error {
	cfg := &c.hub.cfg
	ws := c.ws
	ws.SetReadLimit(cfg.ReadLimit)
	_ = ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	})
	for {
		typ, msg, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		_ = ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
		if c.ctx.Err() != nil || typ != websocket.TextMessage {
			continue // closing (waiting for the peer's close frame), or binary
		}
		if !c.allow() {
			continue
		}
		if cfg.OnMessage != nil {
			cfg.OnMessage(c.ctx, c, msg)
		}
	}
}

// allow applies the socket's rate limit, then Config.Admit, to one
// incoming message. A message either refuses is dropped and answered with
// Config.RateLimited, and draws on the socket's drop budget; once that is
// spent the socket is closed with 1008 (policy violation).
func (c *Conn) allow() bool {
	cfg := &c.hub.cfg
	now := time.Now()
	if c.rate.AllowN(now, 1) && (cfg.Admit == nil || cfg.Admit(c.ctx)) {
		return true
	}
	if !c.drops.AllowN(now, 1) {
		c.hub.log.Info("closing socket over rate limit", "topic", c.t.name)
		c.closeWith(websocket.ClosePolicyViolation, "rate limit exceeded", ErrRateLimited)
		return false
	}
	if len(cfg.RateLimited) > 0 {
		c.Send(cfg.RateLimited)
	}
	return false
}

// writeLoop is the socket's writer goroutine: it writes personal messages and
// the topic's latest frame when woken, pings, and sends the close frame when
// the hub closes the socket.
func (c *Conn) writeLoop() {
	cfg := &c.hub.cfg
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.ctx.Done():
			c.sendClose()
			return
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				c.writeFailed(fmt.Errorf("ping: %w", err))
				return
			}
		case <-c.notify:
			if err := c.flush(); err != nil {
				c.writeFailed(err)
				return
			}
		}
	}
}

// flush writes the queued personal messages, then the latest frame if this
// socket has not had it yet.
func (c *Conn) flush() error {
	timeout := c.hub.cfg.WriteTimeout
	for _, m := range c.takeQueue() {
		_ = c.ws.SetWriteDeadline(time.Now().Add(timeout))
		if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
			return fmt.Errorf("message: %w", err)
		}
	}
	f := c.t.latest.Load()
	if f == nil || !after(f.Frame, Frame{Version: c.lastSent, Sub: c.lastSub}) {
		return nil
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(timeout))
	if c.hub.plainWrites {
		if err := c.ws.WriteMessage(websocket.TextMessage, f.Data); err != nil {
			return fmt.Errorf("frame %d: %w", f.Version, err)
		}
	} else {
		pm, err := f.prepared()
		if err != nil {
			return fmt.Errorf("prepare frame %d: %w", f.Version, err)
		}
		if err := c.ws.WritePreparedMessage(pm); err != nil {
			return fmt.Errorf("frame %d: %w", f.Version, err)
		}
	}
	c.lastSent, c.lastSub = f.Version, f.Sub
	return nil
}

// writeFailed ends the socket after a failed write, unless it was already
// ending (then the failure is a consequence).
func (c *Conn) writeFailed(err error) {
	if c.ctx.Err() != nil {
		return
	}
	c.hub.log.Debug("socket write failed", "topic", c.t.name, "err", err)
	c.cancel(&writeError{err: err})
	_ = c.ws.NetConn().Close() // unblocks the reader
}

// sendClose sends the close frame when the socket ends on the server's side.
// The reader then waits for the peer's close frame (or the kill timer).
func (c *Conn) sendClose() {
	code, reason := websocket.CloseGoingAway, "server shutting down"
	switch cause := context.Cause(c.ctx).(type) {
	case *readerExit, *writeError:
		return // the peer closed, or the connection is broken
	case *closeRequest:
		code, reason = cause.code, cause.reason
	}
	msg := websocket.FormatCloseMessage(code, reason)
	deadline := time.Now().Add(min(c.hub.cfg.WriteTimeout, closeGrace))
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, deadline)
}

// wake tells the writer to look at the queue and the latest frame.
func (c *Conn) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// takeQueue empties the personal queue.
func (c *Conn) takeQueue() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

// Send queues a message for this socket only (acks, errors), written before
// the next frame. The queue holds 16 messages; when it is full the oldest is
// dropped. Send never blocks; data must not be modified afterwards.
func (c *Conn) Send(data []byte) {
	if c.ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	if len(c.queue) == sendQueueLen {
		n := copy(c.queue, c.queue[1:])
		c.queue[n] = nil
		c.queue = c.queue[:n]
	}
	c.queue = append(c.queue, data)
	c.mu.Unlock()
	c.wake()
}

// Topic returns the socket's topic.
func (c *Conn) Topic() string { return c.t.name }

// Close closes the socket with the close code and reason (e.g.
// websocket.ClosePolicyViolation). It does not wait: Serve returns once the
// peer answered or closeGrace passed. Messages still queued are dropped.
func (c *Conn) Close(code int, reason string) {
	c.closeWith(code, reason, nil)
}

// closeWith ends the socket with a close frame; err is what Serve returns
// (nil: see closeRequest.result in Conn.result).
func (c *Conn) closeWith(code int, reason string, err error) {
	c.cancel(&closeRequest{code: code, reason: reason, err: err})
}
