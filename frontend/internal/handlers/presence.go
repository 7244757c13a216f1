package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gallows-game/gallows/frontend/internal/session"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Presence timing: the frontend reports the sessions it holds every
// presenceRefresh (and at once on a change; the backends drop a frontend's
// players 10 s after its last report), and each watched room asks the
// backends who is online every presencePoll.
const (
	presenceRefresh = 3 * time.Second
	presencePoll    = time.Second
	presenceTimeout = 2 * time.Second
)

// presence is what this frontend reports: the sessions with a room's
// websocket open, by player and room.
type presence struct {
	epoch   int64
	changed chan struct{}

	mu   sync.Mutex
	seq  uint64
	beat uint64
	held map[heldKey]*held
}

type heldKey struct{ player, room string }

type held struct {
	name    string
	since   time.Time
	sockets int
}

func newPresence() *presence {
	return &presence{epoch: time.Now().UnixNano(), changed: make(chan struct{}, 1), held: map[heldKey]*held{}}
}

// add counts a socket of session s on room; remove uncounts it.
func (p *presence) add(s session.Session, room string) {
	p.mu.Lock()
	k := heldKey{s.ID, room}
	if e := p.held[k]; e != nil {
		e.sockets++
		p.mu.Unlock()
		return
	}
	p.held[k] = &held{name: s.Name, since: time.Now(), sockets: 1}
	p.seq++
	p.mu.Unlock()
	p.signal()
}

func (p *presence) remove(s session.Session, room string) {
	p.mu.Lock()
	k := heldKey{s.ID, room}
	e := p.held[k]
	if e == nil {
		p.mu.Unlock()
		return
	}
	if e.sockets--; e.sockets > 0 {
		p.mu.Unlock()
		return
	}
	delete(p.held, k)
	p.seq++
	p.mu.Unlock()
	p.signal()
}

func (p *presence) signal() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// report is the next report: every entry, a new beat.
func (p *presence) report(frontend string) *pb.PresenceReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.beat++
	// The backends keep one report per reporter: this process, named by
	// its id and its start, so that two frontends started with the same
	// --id do not replace each other's reports, and a restarted one's old
	// report expires on its own.
	r := &pb.PresenceReport{FrontendId: frontend + "@" + strconv.FormatInt(p.epoch, 10), Epoch: p.epoch, Seq: p.seq, Beat: p.beat}
	for k, e := range p.held {
		r.Entries = append(r.Entries, &pb.PresenceEntry{PlayerId: k.player, Name: e.name, RoomId: k.room, SinceMs: e.since.UnixMilli()})
	}
	return r
}

// ReportPresence tells the backends, until ctx ends, which sessions this
// frontend holds: every few seconds, and at once when one comes or goes.
func (h *Handlers) ReportPresence(ctx context.Context) {
	t := time.NewTicker(presenceRefresh)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, presenceTimeout)
		if err := h.cfg.Game.ReportPresence(rctx, h.presence.report(h.cfg.ID)); err != nil && ctx.Err() == nil {
			h.log.Debug("report presence", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.presence.changed:
		}
	}
}

// onlineCache is who is online in every room, as the backends last said:
// asked once for all rooms, at most every presencePoll/2, however many
// rooms this frontend watches.
type onlineCache struct {
	mu    sync.Mutex
	at    time.Time
	ok    bool                       // the last ask was answered
	rooms map[string]map[string]bool // room -> names online
}

// online returns the names online in room, as the backends know it (nil
// if they cannot say now).
func (h *Handlers) online(ctx context.Context, room string) map[string]bool {
	c := &h.onlineCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) >= presencePoll/2 {
		actx, cancel := context.WithTimeout(ctx, presenceTimeout)
		entries, err := h.cfg.Game.Online(actx, "")
		cancel()
		c.at, c.ok = time.Now(), err == nil
		if c.ok {
			c.rooms = map[string]map[string]bool{}
			for _, e := range entries {
				if c.rooms[e.GetRoomId()] == nil {
					c.rooms[e.GetRoomId()] = map[string]bool{}
				}
				c.rooms[e.GetRoomId()][e.GetName()] = true
			}
		}
	}
	if !c.ok {
		return nil
	}
	if names := c.rooms[room]; names != nil {
		return names
	}
	return map[string]bool{}
}

// sameOnline reports whether two online sets are equal.
func sameOnline(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// apiPresence answers GET /api/rooms/{id}/presence: who is online in the
// room, on every frontend.
func (h *Handlers) apiPresence(w http.ResponseWriter, r *http.Request) {
	id := strings.ToUpper(r.PathValue("id"))
	ctx, cancel := context.WithTimeout(r.Context(), presenceTimeout)
	defer cancel()
	entries, err := h.cfg.Game.Online(ctx, id)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	type online struct {
		Player string    `json:"player"`
		Since  time.Time `json:"since"`
	}
	out := struct {
		Online []online `json:"online"`
	}{Online: []online{}}
	for _, e := range entries {
		out.Online = append(out.Online, online{Player: e.GetName(), Since: time.UnixMilli(e.GetSinceMs()).UTC()})
	}
	writeJSON(w, http.StatusOK, out)
}
