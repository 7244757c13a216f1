package scores

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"
	"time"
)

// PresenceTTL is how long a frontend's players stay online on a node that
// hears nothing newer from that frontend. Frontends refresh every
// PresenceRefresh.
const (
	PresenceTTL     = 10 * time.Second
	PresenceRefresh = 3 * time.Second
)

// Seen is one session connected to one room through a frontend.
type Seen struct {
	PlayerID string `json:"player_id"`
	Name     string `json:"name"`
	Room     string `json:"room"`
	// Since is when the frontend saw the session connect (its clock, for
	// display only: it orders nothing).
	Since time.Time `json:"since"`
}

// FrontendPresence is what one frontend reports: the sessions it holds,
// versioned by its own counters. Epoch tells a restarted frontend from
// its earlier self; Seq grows when Entries change, Beat on every refresh.
// A report with a later (Epoch, Seq) replaces the entries; a later
// (Epoch, Beat) proves the frontend alive.
type FrontendPresence struct {
	Epoch   int64  `json:"epoch"`
	Seq     uint64 `json:"seq"`
	Beat    uint64 `json:"beat"`
	Entries []Seen `json:"entries,omitempty"`
}

// Presence is who is online, as one node knows it: every frontend's
// latest report, and when this node last saw each frontend's beat go up
// (its own monotonic clock, so a skewed wall clock cannot keep anyone
// online or drop them early).
type Presence struct {
	now func() time.Time

	mu        sync.Mutex
	frontends map[string]*FrontendPresence
	lastBeat  map[string]time.Time
}

// NewPresence returns an empty presence table; now is the local clock
// (nil: time.Now).
func NewPresence(now func() time.Time) *Presence {
	if now == nil {
		now = time.Now
	}
	return &Presence{now: now, frontends: map[string]*FrontendPresence{}, lastBeat: map[string]time.Time{}}
}

// Merge takes frontend's report; it reports whether the report was news
// (a later beat or later entries), which is what gossip spreads on.
func (p *Presence) Merge(frontend string, r FrontendPresence) bool {
	p.mu.Lock()
	cur := p.frontends[frontend]
	news := false
	switch {
	case cur == nil:
		cp := r
		cp.Entries = slices.Clone(r.Entries)
		p.frontends[frontend] = &cp
		news = true
	case r.Epoch > cur.Epoch:
		*cur = FrontendPresence{Epoch: r.Epoch, Seq: r.Seq, Beat: r.Beat, Entries: slices.Clone(r.Entries)}
		news = true
	case r.Epoch == cur.Epoch:
		if r.Seq > cur.Seq {
			cur.Seq, cur.Entries = r.Seq, slices.Clone(r.Entries)
			news = true
		}
		if r.Beat > cur.Beat {
			cur.Beat = r.Beat
			news = true
		}
	}
	if news {
		p.lastBeat[frontend] = p.now()
	}
	p.mu.Unlock()
	return news
}

// All returns every frontend's report, for anti-entropy.
func (p *Presence) All() map[string]FrontendPresence {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]FrontendPresence, len(p.frontends))
	for id, r := range p.frontends {
		out[id] = *r
	}
	return out
}

// Online lists the sessions online in room ("" for every room): those of
// frontends whose beat this node saw go up within PresenceTTL, one entry
// per player (the earliest Since), sorted by name.
func (p *Presence) Online(room string) []Seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	byPlayer := map[string]Seen{}
	for id, r := range p.frontends {
		if now.Sub(p.lastBeat[id]) > PresenceTTL {
			continue
		}
		for _, s := range r.Entries {
			if room != "" && s.Room != room {
				continue
			}
			key := s.Room + "\x00" + s.PlayerID
			if have, ok := byPlayer[key]; !ok || s.Since.Before(have.Since) {
				byPlayer[key] = s
			}
		}
	}
	out := make([]Seen, 0, len(byPlayer))
	for _, s := range byPlayer {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Seen) int {
		if c := cmp.Compare(a.Room, b.Room); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.PlayerID, b.PlayerID)
	})
	return out
}

// Forget drops frontends silent for ten times PresenceTTL, so that the
// table stays bounded by the frontends that run.
func (p *Presence) Forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for id := range p.frontends {
		if now.Sub(p.lastBeat[id]) > 10*PresenceTTL {
			delete(p.frontends, id)
			delete(p.lastBeat, id)
		}
	}
}

// versions returns each frontend's (Epoch, Seq, Beat), for anti-entropy.
func (p *Presence) versions() map[string]FrontendPresence {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]FrontendPresence, len(p.frontends))
	for id, r := range p.frontends {
		out[id] = FrontendPresence{Epoch: r.Epoch, Seq: r.Seq, Beat: r.Beat}
	}
	return out
}

// root hashes every frontend's (Epoch, Seq): beats are left out, so that
// a live frontend's refreshes do not make anti-entropy exchange digests.
func (p *Presence) root() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := fnv.New64a()
	for _, id := range slices.Sorted(maps.Keys(p.frontends)) {
		r := p.frontends[id]
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", id, r.Epoch, r.Seq)
	}
	return h.Sum64()
}

// newer returns this node's reports that are later than those in theirs
// (by Epoch, Seq or Beat), and the frontends whose reports in theirs are
// later than this node's.
func (p *Presence) newer(theirs map[string]FrontendPresence) (mine map[string]FrontendPresence, wanted []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	mine = map[string]FrontendPresence{}
	for id, r := range p.frontends {
		if t, ok := theirs[id]; !ok || later(*r, t) {
			mine[id] = *r
		}
	}
	for id, t := range theirs {
		if r, ok := p.frontends[id]; !ok || later(t, *r) {
			wanted = append(wanted, id)
		}
	}
	slices.Sort(wanted)
	return mine, wanted
}

// get returns the reports of the given frontends.
func (p *Presence) get(ids []string) map[string]FrontendPresence {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]FrontendPresence{}
	for _, id := range ids {
		if r, ok := p.frontends[id]; ok {
			out[id] = *r
		}
	}
	return out
}

// later reports whether a is a later report of a frontend than b.
func later(a, b FrontendPresence) bool {
	if a.Epoch != b.Epoch {
		return a.Epoch > b.Epoch
	}
	return a.Seq > b.Seq || a.Beat > b.Beat
}
