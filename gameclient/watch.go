package gameclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// errFirstEventTimeout ends a room stream whose backend does not send the
// room's current state within Config.AttemptTimeout.
var errFirstEventTimeout = errors.New("gameclient: no first event in time")

// roomStream is one open WatchRoom stream, registered by backend address
// so that a backend reported down can have its streams ended.
type roomStream struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// cause reports whether the stream was ended for reason err.
func (s *roomStream) cause(err error) bool {
	return errors.Is(context.Cause(s.ctx), err)
}

// roomWatch is one WatchRoom caller: a sequence of streams, one at a time.
type roomWatch struct {
	c    *Client
	id   string
	last uint64 // highest version delivered (or the caller's fromVersion)
	out  chan *pb.RoomEvent
}

// subscription is a stream that has delivered its first event.
type subscription struct {
	addr   string
	req    *pb.WatchRoomRequest
	start  time.Time
	stream pb.Game_WatchRoomClient
	first  *pb.RoomEvent
	handle *roomStream
}

// WatchRoom watches a room. The returned channel delivers the room's
// current state, then its changes; every event delivered has a higher
// room version than every event delivered before it (and than fromVersion:
// pass the version you already have, or 0). The channel holds one event:
// a consumer that falls behind gets the newest state, not a queue.
//
// One stream is open at a time, preferably on a follower. When it breaks
// (backend killed or reported down, watch lagged, no quorum), the watch is
// reopened on another backend from the last version delivered, with
// backoff (50ms to 1s), until ctx ends or the client is closed; then the
// channel is closed. It is also closed when the room is not found, which
// cannot happen once it has been seen, as rooms are never removed.
//
// WatchRoom itself waits for the first stream to deliver the room's state,
// for at most Config.Timeout, and returns an error if it cannot: the
// room does not exist (Reason NOT_FOUND: a backend that has not applied
// the room first applies the leader's read index, so a room created
// through any node is found), or no backend answered.
func (c *Client) WatchRoom(ctx context.Context, id string, fromVersion uint64) (<-chan *pb.RoomEvent, error) {
	wctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(c.ctx, cancel)
	w := &roomWatch{c: c, id: id, last: fromVersion, out: make(chan *pb.RoomEvent, 1)}
	bo := backoff{min: 50 * time.Millisecond, max: time.Second}

	sctx, scancel := context.WithTimeout(wctx, c.cfg.Timeout)
	sub, err := w.subscribe(sctx, wctx, "", &bo)
	scancel()
	if err != nil {
		stopOnClose()
		cancel()
		if c.ctx.Err() != nil {
			return nil, ErrClosed
		}
		return nil, err
	}
	ok := c.goBackground(func() {
		defer stopOnClose()
		defer cancel()
		w.run(wctx, sub, &bo)
	})
	if !ok {
		w.endStream(sub, nil)
		stopOnClose()
		cancel()
		return nil, ErrClosed
	}
	return w.out, nil
}

// run delivers the events of sub, then of every stream that replaces it,
// until ctx ends or an answer is final.
func (w *roomWatch) run(ctx context.Context, sub *subscription, bo *backoff) {
	defer close(w.out)
	log := w.c.log.With("room", w.id)
	for {
		bo.reset()
		w.deliver(sub.first)
		err := w.pump(ctx, sub)
		if ctx.Err() != nil {
			return
		}
		log.Info("room watch broke; resubscribing on another backend",
			"backend", sub.addr, "last_version", w.last, "err", err)
		if !sleep(ctx, bo.next()) {
			return
		}
		next, err := w.subscribe(ctx, ctx, sub.addr, bo)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("room watch ended", "err", err)
			}
			return
		}
		sub = next
	}
}

// pump delivers the events of sub until its stream breaks.
func (w *roomWatch) pump(ctx context.Context, sub *subscription) error {
	for {
		ev, err := sub.stream.Recv()
		if err != nil {
			err = streamErr(sub, err)
			w.endStream(sub, err)
			if ctx.Err() == nil {
				w.record(sub, nil, err)
				if transportFailure(err) {
					w.c.markFailed(sub.addr)
				}
			}
			return err
		}
		w.record(sub, ev, nil)
		w.deliver(ev)
	}
}

// deliver hands ev to the consumer if it is newer than everything
// delivered before, replacing an older event the consumer has not taken.
func (w *roomWatch) deliver(ev *pb.RoomEvent) {
	if ev.GetRoom() == nil || ev.GetRoom().GetVersion() <= w.last {
		return
	}
	w.last = ev.GetRoom().GetVersion()
	w.c.versions.saw(ev.GetRoom())
	putLatest(w.out, ev)
}

// subscribe opens a stream on one backend after another (followers first,
// avoiding exclude) until one delivers its first event, ctx ends, or an
// answer is final. Streams live in parent.
func (w *roomWatch) subscribe(ctx, parent context.Context, exclude string, bo *backoff) (*subscription, error) {
	skip := map[string]bool{}
	if exclude != "" {
		skip[exclude] = true
	}
	var last error
	for {
		addr, ok := w.c.pick(followersFirst, skip)
		if !ok {
			return nil, fmt.Errorf("gameclient: WatchRoom %s: no backend known", w.id)
		}
		sub, err := w.open(ctx, parent, addr)
		if err == nil {
			w.c.markOK(addr)
			return sub, nil
		}
		if errors.Is(err, ErrClosed) {
			return nil, fmt.Errorf("gameclient: WatchRoom %s: %w", w.id, err)
		}
		if ctx.Err() != nil {
			if last == nil {
				last = err
			}
			return nil, fmt.Errorf("gameclient: WatchRoom %s: no backend delivered the room in time: %w", w.id, last)
		}
		last = err
		if w.final(err) {
			return nil, fmt.Errorf("gameclient: WatchRoom %s on %s: %w", w.id, addr, err)
		}
		if transportFailure(err) {
			w.c.markFailed(addr)
		}
		skip[addr] = true
		w.c.log.Debug("room watch: subscribe failed; trying another backend", "room", w.id, "backend", addr, "err", err)
		if !sleep(ctx, bo.next()) {
			return nil, fmt.Errorf("gameclient: WatchRoom %s: no backend delivered the room in time: %w", w.id, last)
		}
	}
}

// final reports whether err ends the watch: a NotFound (a
// backend says so only once it has applied the leader's read index, so it
// knows every room created before), or an error that retrying elsewhere
// cannot fix.
func (w *roomWatch) final(err error) bool {
	switch status.Code(err) {
	case codes.NotFound, codes.InvalidArgument, codes.FailedPrecondition, codes.PermissionDenied,
		codes.Unauthenticated, codes.Unimplemented:
		return true
	}
	return false
}

// open opens one stream on addr and waits for its first event, at most
// Config.AttemptTimeout or until ctx ends.
func (w *roomWatch) open(ctx, parent context.Context, addr string) (*subscription, error) {
	bc, err := w.c.conn(addr)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancelCause(parent)
	sub := &subscription{
		addr: addr,
		// The stream starts no lower than any version of the room this
		// client has returned: the backend waits until it has applied it.
		req:    &pb.WatchRoomRequest{RoomId: w.id, FromVersion: max(w.last, w.c.versions.get(w.id))},
		start:  time.Now(),
		handle: &roomStream{ctx: sctx, cancel: cancel},
	}
	w.c.addStream(addr, sub.handle)
	sub.stream, err = bc.game.WatchRoom(sctx, sub.req)
	if err == nil {
		timer := time.AfterFunc(w.c.cfg.AttemptTimeout, func() { cancel(errFirstEventTimeout) })
		stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
		sub.first, err = sub.stream.Recv()
		timer.Stop()
		stop()
	}
	if err != nil {
		err = streamErr(sub, err)
		w.endStream(sub, err)
		w.record(sub, nil, err)
		return nil, err
	}
	w.record(sub, sub.first, nil)
	return sub, nil
}

// streamErr explains an error of sub's stream: when the client ended the
// stream itself (first-event timeout, backend reported down), the cause
// says why, as a DeadlineExceeded or Unavailable status.
func streamErr(sub *subscription, err error) error {
	if status.Code(err) != codes.Canceled {
		return err
	}
	switch {
	case sub.handle.cause(errFirstEventTimeout):
		return status.Error(codes.DeadlineExceeded, fmt.Sprintf("%s: %v", errFirstEventTimeout, err))
	case sub.handle.cause(errBackendDown):
		return status.Error(codes.Unavailable, fmt.Sprintf("%s: %v", errBackendDown, err))
	}
	return err
}

// endStream cancels sub's stream and forgets it.
func (w *roomWatch) endStream(sub *subscription, err error) {
	w.c.removeStream(sub.addr, sub.handle)
	sub.handle.cancel(err)
}

func (w *roomWatch) record(sub *subscription, ev *pb.RoomEvent, err error) {
	op := Op{Method: pb.Game_WatchRoom_FullMethodName, Request: sub.req, Err: err, Start: sub.start, End: time.Now(), Node: sub.addr}
	if ev != nil {
		op.Reply = ev
	}
	w.c.record(op)
}

// addStream registers an open room stream on addr.
func (c *Client) addStream(addr string, s *roomStream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.streams[addr]
	if m == nil {
		m = map[*roomStream]struct{}{}
		c.streams[addr] = m
	}
	m[s] = struct{}{}
}

// removeStream forgets a room stream.
func (c *Client) removeStream(addr string, s *roomStream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.streams[addr]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(c.streams, addr)
		}
	}
}
