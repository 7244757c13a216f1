package store

import (
	"sync"

	"github.com/gallows-game/gallows/backend/game"
)

// Change is one applied change to a room.
type Change struct {
	// Room is the state after the change. It is shared: read, never modify.
	Room *game.Room
	// Index is the Raft index of the entry that made the change; zero when
	// the state came from a snapshot restore.
	Index uint64
}

// Subscription receives every change to one room, in order. If the
// subscriber falls more than its buffer behind, C is closed and Err returns
// ErrLagging: Apply never waits for a subscriber.
type Subscription struct {
	// C delivers the changes. It is closed when the subscription ends.
	C <-chan Change

	ch   chan Change
	room string
	subs *subscribers
	mu   sync.Mutex // guards err and closing ch
	err  error
}

// Err reports why C was closed: ErrLagging, ErrClosed or nil after Close.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.subs.remove(s)
	s.end(nil)
}

func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		return
	}
	s.err = err
	close(s.ch)
	s.ch = nil
}

// subscribers are the subscriptions of every room. The FSM publishes
// under its write lock and Subscribe adds under its read lock, so that a
// subscription starts right after the state it is handed; lock guards the
// rest, such as a Close from the subscriber's goroutine.
type subscribers struct {
	lock   sync.Mutex
	byRoom map[string]map[*Subscription]struct{}
	closed error // set by closeAll: later subscriptions are refused with it
}

// add adds sub, unless every subscription has been ended.
func (s *subscribers) add(sub *Subscription) error {
	s.lock.Lock()
	defer s.lock.Unlock()
	if s.closed != nil {
		return s.closed
	}
	m := s.byRoom[sub.room]
	if m == nil {
		m = map[*Subscription]struct{}{}
		s.byRoom[sub.room] = m
	}
	m[sub] = struct{}{}
	return nil
}

func (s *subscribers) remove(sub *Subscription) {
	s.lock.Lock()
	defer s.lock.Unlock()
	if m := s.byRoom[sub.room]; m != nil {
		delete(m, sub)
		if len(m) == 0 {
			delete(s.byRoom, sub.room)
		}
	}
}

// publish hands c to every subscriber of its room without blocking; a
// subscriber whose buffer is full is dropped with ErrLagging.
func (s *subscribers) publish(c Change) {
	s.lock.Lock()
	defer s.lock.Unlock()
	m := s.byRoom[c.Room.Code]
	for sub := range m {
		sub.mu.Lock()
		if sub.ch != nil {
			select {
			case sub.ch <- c:
			default:
				close(sub.ch)
				sub.ch, sub.err = nil, ErrLagging
				delete(m, sub)
			}
		}
		sub.mu.Unlock()
	}
	if m != nil && len(m) == 0 {
		delete(s.byRoom, c.Room.Code)
	}
}

// closeAll ends every subscription with err, and refuses later ones.
func (s *subscribers) closeAll(err error) {
	s.lock.Lock()
	defer s.lock.Unlock()
	s.closed = err
	for room, m := range s.byRoom {
		for sub := range m {
			sub.end(err)
		}
		delete(s.byRoom, room)
	}
}
