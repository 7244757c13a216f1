package limits

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// table is a bounded map from a key (a client IP, a session) to its token
// bucket. It forgets a key untouched for ttl, and, when it holds max keys,
// the least recently used one, so that a flood of new keys (spoofed
// addresses, random tokens) costs a bounded amount of memory. Forgetting a
// key idle for longer than its bucket takes to refill changes nothing: a
// new bucket starts full, as the old one would be.
type table struct {
	rate Rate
	ttl  time.Duration
	max  int

	mu      sync.Mutex
	entries map[string]*list.Element // of *entry
	lru     list.List                // front: most recently used
}

// entry is one key's bucket and when it was last used.
type entry struct {
	key  string
	lim  *rate.Limiter
	last time.Time
}

func newTable(r Rate, ttl time.Duration, max int) *table {
	return &table{rate: r, ttl: ttl, max: max, entries: make(map[string]*list.Element)}
}

// limiter returns key's bucket, made full if the key is new, and marks it
// used at now. It first forgets every key idle for longer than ttl (the
// least recently used keys are at the back, so this stops at the first
// key still in use), then, if the table is full, the least recently used.
func (t *table) limiter(key string, now time.Time) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	for back := t.lru.Back(); back != nil; back = t.lru.Back() {
		e := back.Value.(*entry)
		if now.Sub(e.last) <= t.ttl || e.key == key {
			break
		}
		t.remove(back)
	}
	if el, ok := t.entries[key]; ok {
		e := el.Value.(*entry)
		e.last = now
		t.lru.MoveToFront(el)
		return e.lim
	}
	for len(t.entries) >= t.max {
		t.remove(t.lru.Back())
	}
	e := &entry{key: key, lim: rate.NewLimiter(t.rate.limit(), t.rate.Burst), last: now}
	t.entries[key] = t.lru.PushFront(e)
	return e.lim
}

func (t *table) remove(el *list.Element) {
	t.lru.Remove(el)
	delete(t.entries, el.Value.(*entry).key)
}

// len returns how many keys the table holds.
func (t *table) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}
