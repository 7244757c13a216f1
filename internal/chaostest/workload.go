package chaostest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Pangram is the custom word of every room: each of the 26 letters exactly
// once, so with 26 lives a round ends, won, at its 26th guess and never
// earlier, whatever the order of the guesses.
const Pangram = "cwm fjord bank glyphs vext quiz"

// alphabet is what a player guesses in each room, rotated per room.
const alphabet = "abcdefghijklmnopqrstuvwxyz"

// Attempt is one HTTP request a player sent and what came back.
type Attempt struct {
	Player    string    `json:"player"`
	Kind      string    `json:"kind"` // "create", "guess", or "resend" (an acknowledged guess sent again)
	Frontend  int       `json:"frontend"`
	Room      string    `json:"room,omitempty"`
	Letter    string    `json:"letter,omitempty"`
	Index     int       `json:"index"` // the guess's position in its room
	RequestID string    `json:"request_id,omitempty"`
	Sent      time.Time `json:"sent"`
	Answered  time.Time `json:"answered"`
	Status    int       `json:"status"`         // 0: transport error
	Code      string    `json:"code,omitempty"` // the API's error code
	Version   uint64    `json:"version,omitempty"`
	Body      string    `json:"body,omitempty"` // error replies, cut short
	Err       string    `json:"err,omitempty"`
}

// Acked reports whether the attempt is an acknowledged guess.
func (a Attempt) Acked() bool { return a.Kind == "guess" && a.Status == http.StatusOK }

// Recorder keeps every attempt of every player, in the order answered.
type Recorder struct {
	mu       sync.Mutex
	attempts []Attempt
	waiters  map[*ackWaiter]struct{}
}

type ackWaiter struct {
	after time.Time
	ch    chan Attempt // capacity 1
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{waiters: map[*ackWaiter]struct{}{}} }

func (r *Recorder) add(a Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
	if !a.Acked() {
		return
	}
	for w := range r.waiters {
		if !a.Sent.Before(w.after) {
			w.ch <- a
			delete(r.waiters, w)
		}
	}
}

// Attempts returns a copy of every attempt recorded so far.
func (r *Recorder) Attempts() []Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.attempts)
}

// NextAck returns the first acknowledged guess sent at or after t: one
// already recorded, or the next one to come, waiting until ctx ends.
func (r *Recorder) NextAck(ctx context.Context, t time.Time) (Attempt, error) {
	r.mu.Lock()
	var best *Attempt
	// Attempts are appended as they are answered, so the scan can stop a
	// little before t (the margin covers appends racing each other).
	for i := len(r.attempts) - 1; i >= 0 && !r.attempts[i].Answered.Before(t.Add(-time.Second)); i-- {
		a := &r.attempts[i]
		if a.Acked() && !a.Sent.Before(t) && (best == nil || a.Answered.Before(best.Answered)) {
			best = a
		}
	}
	if best != nil {
		a := *best
		r.mu.Unlock()
		return a, nil
	}
	w := &ackWaiter{after: t, ch: make(chan Attempt, 1)}
	r.waiters[w] = struct{}{}
	r.mu.Unlock()
	select {
	case a := <-w.ch:
		return a, nil
	case <-ctx.Done():
		r.mu.Lock()
		delete(r.waiters, w)
		r.mu.Unlock()
		select {
		case a := <-w.ch:
			return a, nil
		default:
		}
		return Attempt{}, fmt.Errorf("no guess acknowledged since %s: %w", t.Format("15:04:05.000"), ctx.Err())
	}
}

// WriteJSONL writes every attempt as one JSON object per line.
func (r *Recorder) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, a := range r.Attempts() {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return nil
}

// Room is a room whose creation a player saw acknowledged, and the
// guesses acknowledged in it.
type Room struct {
	ID     string
	Player string
	// Order is the letters in the order the player guesses them; guess k
	// is sent only after guess k-1 was acknowledged.
	Order string
	// Acked holds, for each acknowledged guess in order, the room version
	// its reply carried.
	Acked []uint64
}

// WorkloadConfig configures the players.
type WorkloadConfig struct {
	// Frontends are the frontends' base URLs; player i starts on i%len.
	Frontends []string
	// Players is the number of players, each in its own room.
	Players int
	// Think is the pause between a player's acknowledged guess and its next.
	Think time.Duration
	// Logf receives progress and anomalies.
	Logf func(format string, args ...any)
}

// Workload is a set of players guessing steadily through the frontends'
// JSON API. Every player sends one request at a time and retries a failed
// guess (503 or transport error) with the same request id until it is
// acknowledged, moving to the other frontend on transport errors.
type Workload struct {
	cfg    WorkloadConfig
	rec    *Recorder
	http   *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	paused    bool
	resume    chan struct{} // closed when paused turns false
	idle      int           // players parked while paused
	players   []*player
	anomalies []string
}

type player struct {
	w    *Workload
	name string
	home int
	cur  int // frontend in use; only the player's goroutine touches it

	mu    sync.Mutex
	rooms []*Room
	room  *Room // the room being played, also in rooms
}

// StartWorkload starts the players.
func StartWorkload(cfg WorkloadConfig, rec *Recorder) *Workload {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Workload{
		cfg: cfg, rec: rec, ctx: ctx, cancel: cancel,
		http: &http.Client{
			Timeout:   15 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 4 * cfg.Players, IdleConnTimeout: 30 * time.Second},
		},
		resume: make(chan struct{}),
	}
	close(w.resume)
	for i := range cfg.Players {
		p := &player{w: w, name: fmt.Sprintf("p%d", i+1), home: i % len(cfg.Frontends)}
		p.cur = p.home
		w.players = append(w.players, p)
	}
	for _, p := range w.players {
		w.wg.Add(1)
		go p.run()
	}
	return w
}

// Pause lets every player finish its current request (retries included)
// and park; it returns once all are parked, or with ctx's error.
func (w *Workload) Pause(ctx context.Context) error {
	w.mu.Lock()
	if !w.paused {
		w.paused = true
		w.resume = make(chan struct{})
	}
	w.mu.Unlock()
	return poll(ctx, 10*time.Millisecond, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.idle == len(w.players)
	})
}

// Resume lets parked players go on.
func (w *Workload) Resume() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.paused {
		w.paused = false
		close(w.resume)
	}
}

// Stop ends the players, abandoning requests in flight.
func (w *Workload) Stop() {
	w.cancel()
	w.wg.Wait()
	w.http.CloseIdleConnections()
}

// Rooms returns a copy of every room whose creation was acknowledged.
func (w *Workload) Rooms() []Room {
	var out []Room
	for _, p := range w.players {
		p.mu.Lock()
		for _, r := range p.rooms {
			c := *r
			c.Acked = slices.Clone(r.Acked)
			out = append(out, c)
		}
		p.mu.Unlock()
	}
	return out
}

// Players returns each player's name and home frontend.
func (w *Workload) Players() map[string]int {
	out := map[string]int{}
	for _, p := range w.players {
		out[p.name] = p.home
	}
	return out
}

// Anomalies returns the unexpected replies seen so far.
func (w *Workload) Anomalies() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.anomalies)
}

func (w *Workload) anomaly(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.mu.Lock()
	w.anomalies = append(w.anomalies, msg)
	w.mu.Unlock()
	w.cfg.Logf("ANOMALY: %s", msg)
}

// checkpoint parks the player while the workload is paused; false once
// the workload is stopped.
func (w *Workload) checkpoint() bool {
	w.mu.Lock()
	for w.paused {
		w.idle++
		ch := w.resume
		w.mu.Unlock()
		select {
		case <-ch:
		case <-w.ctx.Done():
		}
		w.mu.Lock()
		w.idle--
		if w.ctx.Err() != nil {
			break
		}
	}
	w.mu.Unlock()
	return w.ctx.Err() == nil
}

// wait pauses for d unless the workload stops first.
func (w *Workload) wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.ctx.Done():
	}
}

func (p *player) run() {
	defer p.w.wg.Done()
	for p.w.checkpoint() {
		p.mu.Lock()
		r := p.room
		p.mu.Unlock()
		if r == nil {
			p.create()
			continue
		}
		if p.guess(r) {
			p.w.wait(p.w.cfg.Think)
		}
	}
}

// retryAfter is the pause before retrying after the n-th failure in a row.
func retryAfter(n int) time.Duration {
	return min(50*time.Millisecond<<min(n, 5), time.Second)
}

// create opens a fresh room on the home frontend, retrying, with the same
// request id, until the creation is acknowledged: a creation whose reply
// was lost is answered with its room when retried, so the player's rooms
// are all the rooms there are.
func (p *player) create() {
	p.cur = p.home
	p.mu.Lock()
	id := fmt.Sprintf("%s-room-%d", p.name, len(p.rooms))
	p.mu.Unlock()
	body := map[string]any{"word": Pangram, "player": p.name, "max_lives": 26, "request_id": id}
	for n := 0; p.w.ctx.Err() == nil; n++ {
		a, reply := p.do(Attempt{Kind: "create", RequestID: id}, "/api/rooms", body)
		switch {
		case a.Status == http.StatusCreated:
			if reply.ID == "" || reply.Version != 1 {
				p.w.anomaly("%s: created room %q at version %d, want a code and version 1", p.name, reply.ID, reply.Version)
			}
			p.mu.Lock()
			shift := (len(p.rooms)*7 + len(p.name)) % len(alphabet)
			r := &Room{ID: reply.ID, Player: p.name, Order: alphabet[shift:] + alphabet[:shift]}
			p.rooms = append(p.rooms, r)
			p.room = r
			p.mu.Unlock()
			return
		case a.Status == 0:
			p.cur = 1 - p.cur
		case a.Status == http.StatusServiceUnavailable:
		default:
			p.w.anomaly("%s: create room: %d %s", p.name, a.Status, a.Body)
		}
		p.w.wait(retryAfter(n))
	}
}

// guess sends the room's next letter until it is acknowledged, and
// reports whether it was.
func (p *player) guess(r *Room) bool {
	i := len(r.Acked)
	a, reply, ok := p.sendGuess(p.w.ctx, "guess", r, i)
	switch {
	case !ok:
		return false
	case a.Status == http.StatusOK:
		p.checkReply(r, i, a.Letter, reply)
		p.mu.Lock()
		r.Acked = append(r.Acked, reply.Version)
		if len(r.Acked) == len(r.Order) {
			p.room = nil
		}
		p.mu.Unlock()
		return true
	default:
		p.w.anomaly("%s: guess %q in %s: %d %s", p.name, a.Letter, r.ID, a.Status, a.Body)
		p.mu.Lock()
		p.room = nil // play on in a fresh room
		p.mu.Unlock()
		return false
	}
}

// sendGuess sends guess i of room r, with its request id, until it is
// answered by something other than a transport error (after which the
// player moves to the other frontend) or a 503; ok is false if ctx or the
// workload ended first.
func (p *player) sendGuess(ctx context.Context, kind string, r *Room, i int) (a Attempt, reply roomReply, ok bool) {
	letter := string(r.Order[i])
	base := Attempt{Kind: kind, Room: r.ID, Letter: letter, Index: i,
		RequestID: fmt.Sprintf("%s-%s-%02d", p.name, r.ID, i)}
	body := map[string]any{"player": p.name, "letter": letter, "request_id": base.RequestID}
	for n := 0; ctx.Err() == nil && p.w.ctx.Err() == nil; n++ {
		a, reply = p.do(base, "/api/rooms/"+r.ID+"/guesses", body)
		switch a.Status {
		case 0:
			p.cur = 1 - p.cur
		case http.StatusServiceUnavailable:
		default:
			return a, reply, true
		}
		p.w.wait(retryAfter(n))
	}
	return a, reply, false
}

// Resend sends each player's last acknowledged guess again, with its
// request id, and checks that it is answered as it was the first time (the
// same version) rather than applied again or refused as already guessed:
// the record of it must have survived every fault so far on every node.
// Call it while the players are parked.
func (w *Workload) Resend(ctx context.Context) error {
	for _, p := range w.players {
		p.mu.Lock()
		var r *Room
		var i int
		var version uint64
		for _, room := range slices.Backward(p.rooms) {
			if len(room.Acked) > 0 {
				r, i = room, len(room.Acked)-1
				version = room.Acked[i]
				break
			}
		}
		p.mu.Unlock()
		if r == nil {
			continue
		}
		a, reply, ok := p.sendGuess(ctx, "resend", r, i)
		switch {
		case !ok:
			return fmt.Errorf("send %s's guess %d in %s again: %w", p.name, i, r.ID, errors.Join(ctx.Err(), w.ctx.Err()))
		case a.Status != http.StatusOK:
			w.anomaly("%s: guess %q in %s sent again: %d %s, want the first answer", p.name, a.Letter, r.ID, a.Status, a.Body)
		case reply.Version != version:
			w.anomaly("%s: guess %q in %s sent again: answered at version %d, acknowledged at %d", p.name, a.Letter, r.ID, reply.Version, version)
		}
	}
	return nil
}

// checkReply checks an acknowledged guess's reply: the room as it stands
// right after this guess, since only this player plays in it.
func (p *player) checkReply(r *Room, i int, letter string, reply roomReply) {
	want := uint64(i + 2) // version 1 at creation, +1 per guess
	switch {
	case reply.Version != want:
		p.w.anomaly("%s: guess %d (%q) in %s acknowledged at version %d, want %d", p.name, i, letter, r.ID, reply.Version, want)
	case len(reply.Log) != i+1:
		p.w.anomaly("%s: guess %d (%q) in %s: reply log has %d entries, want %d", p.name, i, letter, r.ID, len(reply.Log), i+1)
	case reply.Log[i].Letter != letter || reply.Log[i].Player != p.name:
		p.w.anomaly("%s: guess %d (%q) in %s: reply log ends with %+v", p.name, i, letter, r.ID, reply.Log[i])
	case i == len(alphabet)-1 && reply.Status != "won":
		p.w.anomaly("%s: last guess in %s: status %q, want won", p.name, r.ID, reply.Status)
	}
}

// roomReply is the part of the JSON API's room the players check.
type roomReply struct {
	ID      string `json:"id"`
	Version uint64 `json:"version"`
	Status  string `json:"status"`
	Log     []struct {
		Player string `json:"player"`
		Letter string `json:"letter"`
	} `json:"log"`
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

// do sends one request to the player's current frontend and records it.
func (p *player) do(a Attempt, path string, body any) (Attempt, roomReply) {
	a.Player, a.Frontend = p.name, p.cur
	var reply roomReply
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // the bodies are maps of strings and numbers
	}
	req, err := http.NewRequestWithContext(p.w.ctx, http.MethodPost, p.w.cfg.Frontends[p.cur]+path, bytes.NewReader(b))
	if err != nil {
		panic(err) // the URLs are built from valid parts
	}
	req.Header.Set("Content-Type", "application/json")
	a.Sent = time.Now()
	resp, err := p.w.http.Do(req)
	if err == nil {
		var data []byte
		data, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if err == nil {
			a.Status = resp.StatusCode
			if jerr := json.Unmarshal(data, &reply); jerr != nil {
				a.Body = cut(string(data), 300)
			}
			a.Version, a.Code = reply.Version, reply.Error.Code
			if a.Status >= 300 {
				a.Body = cut(strings.TrimSpace(string(data)), 300)
			}
		}
	}
	a.Answered = time.Now()
	if err != nil {
		a.Status, a.Err = 0, err.Error()
	}
	if p.w.ctx.Err() == nil {
		p.w.rec.add(a)
	}
	return a, reply
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
