package chaostest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gallows-game/gallows/internal/history"
)

// Pangram is the custom word of every room: each of the 26 letters exactly
// once, so with 26 lives a round ends, won, at its 26th guess and never
// earlier, whatever the order of the guesses.
const Pangram = "cwm fjord bank glyphs vext quiz"

// alphabet is what a player guesses in each round, rotated per round.
const alphabet = "abcdefghijklmnopqrstuvwxyz"

// RoundsPerRoom is how many rounds a player plays in a room: once a round
// is won, the player's host session (HostName), the room's host, starts
// the next one (NextRound, with the Pangram again); after the last it
// moves to a fresh room.
const RoundsPerRoom = 2

// The kinds of Attempt.
const (
	// KindCreate creates a room (POST /api/rooms).
	KindCreate = "create"
	// KindGuess guesses a letter (POST /api/rooms/{id}/guesses).
	KindGuess = "guess"
	// KindResend is an acknowledged guess sent again, with its request id,
	// after a check: it must get its first answer.
	KindResend = "resend"
	// KindNextRound starts the next round as the room's host
	// (POST /api/rooms/{id}/rounds).
	KindNextRound = "next_round"
	// KindResendRound is an acknowledged next round sent again after a
	// check: it must get its first answer, the room as that round began.
	KindResendRound = "resend_next_round"
	// KindGet reads a room (GET /api/rooms/{id}, linearizable).
	KindGet = "get"
)

// Attempt is one HTTP request a client (a player or a reader) sent and
// what came back.
type Attempt struct {
	Player    string    `json:"player"` // the client that sent it
	Kind      string    `json:"kind"`   // KindCreate, KindGuess, ...
	Frontend  int       `json:"frontend"`
	Room      string    `json:"room,omitempty"`
	Round     int64     `json:"round,omitempty"` // the round a guess names, or a next round ends
	Letter    string    `json:"letter,omitempty"`
	Index     int       `json:"index"` // the guess's position in its round
	RequestID string    `json:"request_id,omitempty"`
	Resend    bool      `json:"resend,omitempty"` // the same request as an earlier attempt of the client
	Sent      time.Time `json:"sent"`
	Answered  time.Time `json:"answered"`
	Status    int       `json:"status"`         // 0: transport error
	Code      string    `json:"code,omitempty"` // the API's error code
	Version   uint64    `json:"version,omitempty"`
	Body      string    `json:"body,omitempty"` // error replies, cut short
	Err       string    `json:"err,omitempty"`
}

// Acked reports whether the attempt is an acknowledged guess.
func (a Attempt) Acked() bool { return a.Kind == KindGuess && a.Status == http.StatusOK }

// Recorder keeps every attempt of every client, in the order answered.
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

// Room is a room whose creation a player saw acknowledged, and what was
// acknowledged in it.
type Room struct {
	ID     string
	Player string
	// Round is the round being played, from 1.
	Round int64
	// Start is the room's version when the round began: 1 for the first
	// round, the version a NextRound's reply carried for the others.
	Start uint64
	// Order is the letters of the round in the order the player guesses
	// them; guess k is sent only after guess k-1 was acknowledged.
	Order string
	// Acked holds, for each acknowledged guess of the round in order, the
	// room version its reply carried.
	Acked []uint64
	// Earlier counts the guesses acknowledged in the rounds before.
	Earlier int
}

// guessReq is one guess: its room, round, place in the round, letter and
// request id.
type guessReq struct {
	room   string
	round  int64
	index  int
	letter string
	id     string
}

// next is the round's next guess.
func (r *Room) next() guessReq {
	i := len(r.Acked)
	return guessReq{room: r.ID, round: r.Round, index: i, letter: string(r.Order[i]),
		id: fmt.Sprintf("%s-%s-r%d-%02d", r.Player, r.ID, r.Round, i)}
}

// WorkloadConfig configures the players.
type WorkloadConfig struct {
	// Frontends are the frontends' base URLs; player i starts on i%len.
	Frontends []string
	// Players is the number of players, each in its own room.
	Players int
	// Think is the pause between a player's acknowledged write (and the
	// reads that follow it) and its next write.
	Think time.Duration
	// Logf receives progress and anomalies.
	Logf func(format string, args ...any)
}

// Workload is a set of players playing steadily through the frontends'
// JSON API. Every player sends one request at a time: it guesses, starts a
// room's second round once the first is won, and reads its room (and now
// and then another player's) after each write. It retries a failed write
// (503 or transport error) with the same request until it is
// acknowledged, moving to the other frontend on transport errors. Every
// request is kept in a Recorder, and every guess, next round and read in
// a history.Recorder for the linearizability checker.
type Workload struct {
	cfg    WorkloadConfig
	rec    *Recorder
	hist   *history.Recorder
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
	// token is the player's session (POST /api/players), sent as a
	// bearer token with every guess and read; empty until the player has
	// one. hostToken is the session of HostName(name), which creates the
	// player's rooms (so chose their words and watches) and starts their
	// next rounds. Only the player's goroutine touches them.
	token     string
	hostToken string
	home      int
	cur       int        // frontend in use; only the player's goroutine touches it
	rng       *rand.Rand // only the player's goroutine touches it
	// writes counts the acknowledged writes; only the player's goroutine
	// touches it.
	writes int

	mu    sync.Mutex
	rooms []*Room
	room  *Room // the room being played, also in rooms
	// last is the player's last acknowledged write, for Resend.
	last *ackedWrite
}

// ackedWrite is an acknowledged guess or next round.
type ackedWrite struct {
	kind    string   // KindGuess or KindNextRound
	guess   guessReq // for a guess
	room    string
	round   int64 // for a next round: the round it ended
	version uint64
}

// StartWorkload starts the players. hist may be nil.
func StartWorkload(cfg WorkloadConfig, rec *Recorder, hist *history.Recorder) *Workload {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Workload{
		cfg: cfg, rec: rec, hist: hist, ctx: ctx, cancel: cancel,
		http: &http.Client{
			Timeout:   15 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 4 * cfg.Players, IdleConnTimeout: 30 * time.Second},
		},
		resume: make(chan struct{}),
	}
	close(w.resume)
	for i := range cfg.Players {
		p := &player{w: w, name: fmt.Sprintf("p%d", i+1), home: i % len(cfg.Frontends),
			rng: rand.New(rand.NewPCG(uint64(i), 0x6a11045))}
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

// Stop ends the players, abandoning requests in flight (a write abandoned
// so is in the history as unknown).
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

// CurrentRooms returns the code of the room each player plays in now, or
// of its last room between two rooms.
func (w *Workload) CurrentRooms() []string {
	var out []string
	for _, p := range w.players {
		p.mu.Lock()
		switch {
		case p.room != nil:
			out = append(out, p.room.ID)
		case len(p.rooms) > 0:
			out = append(out, p.rooms[len(p.rooms)-1].ID)
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
		switch {
		case p.token == "" || p.hostToken == "":
			p.register()
		case r == nil:
			p.create()
		case len(r.Acked) < len(r.Order):
			if p.guess(r) {
				p.afterWrite(r)
			}
		case r.Round < RoundsPerRoom:
			if p.nextRound(r) {
				p.afterWrite(r)
			}
		default:
			p.mu.Lock()
			p.room = nil // play on in a fresh room
			p.mu.Unlock()
		}
	}
}

// afterWrite reads the player's room, and after every fourth write
// another player's, then thinks.
func (p *player) afterWrite(r *Room) {
	p.writes++
	p.read(r.ID)
	if p.writes%4 == 0 {
		if other := p.w.players[p.rng.IntN(len(p.w.players))]; other != p {
			other.mu.Lock()
			room := other.room
			other.mu.Unlock()
			if room != nil {
				p.read(room.ID)
			}
		}
	}
	p.w.wait(p.w.cfg.Think)
}

// read reads a room once. A read that fails is not retried: it changes
// nothing, and the history leaves it out.
func (p *player) read(id string) {
	a, _ := p.do(Attempt{Kind: KindGet, Room: id}, http.MethodGet, "/api/rooms/"+id, nil)
	switch a.Status {
	case 0:
		p.cur = 1 - p.cur
	case http.StatusOK, http.StatusServiceUnavailable:
	default:
		if p.w.ctx.Err() == nil {
			p.w.anomaly("%s: read %s: %d %s", p.name, id, a.Status, a.Body)
		}
	}
}

// retryAfter is the pause before retrying after the n-th failure in a row.
func retryAfter(n int) time.Duration {
	return min(50*time.Millisecond<<min(n, 5), time.Second)
}

// order is the order in which the player guesses the letters of round
// round of its n-th room.
func (p *player) order(n int, round int64) string {
	shift := (n*7 + len(p.name) + int(round-1)*11) % len(alphabet)
	return alphabet[shift:] + alphabet[:shift]
}

// HostName is the name of the session that hosts player's rooms: the
// host of a custom-word room chose the word, so it watches while the
// player guesses.
func HostName(player string) string { return player + "-host" }

// register gets the player a session under its name, and one for its
// rooms' host (POST /api/players), retrying on either frontend until one
// answers: the frontends share their session key, so the sessions work
// on both.
func (p *player) register() {
	for n := 0; p.w.ctx.Err() == nil; n++ {
		name, dst := p.name, &p.token
		if p.token != "" {
			name, dst = HostName(p.name), &p.hostToken
		}
		status, token := p.w.newSession(p.w.ctx, p.cur, name)
		switch {
		case status == http.StatusCreated:
			*dst = token
			return
		case status == 0:
			p.cur = 1 - p.cur
		case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		default:
			p.w.anomaly("%s: new session: %d", p.name, status)
		}
		p.w.wait(retryAfter(n))
	}
}

// newSession asks frontend f for a session named name, and returns the
// answer's status (0: no answer) and token. It is not recorded: it
// changes no room.
func (w *Workload) newSession(ctx context.Context, f int, name string) (int, string) {
	b, err := json.Marshal(map[string]string{"name": name})
	if err != nil {
		panic(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.Frontends[f]+"/api/players", bytes.NewReader(b))
	if err != nil {
		panic(err) // the URLs are built from valid parts
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil && resp.StatusCode == http.StatusCreated {
		return 0, ""
	}
	return resp.StatusCode, out.Token
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
	body := map[string]any{"word": Pangram, "max_lives": 26, "request_id": id}
	for n := 0; p.w.ctx.Err() == nil; n++ {
		a, reply := p.doAs(p.hostToken, Attempt{Kind: KindCreate, RequestID: id, Resend: n > 0}, http.MethodPost, "/api/rooms", body)
		switch {
		case a.Status == http.StatusCreated:
			if reply.ID == "" || reply.Version != 1 || reply.Round != 1 {
				p.w.anomaly("%s: created room %q at version %d round %d, want a code, version 1, round 1", p.name, reply.ID, reply.Version, reply.Round)
			}
			p.mu.Lock()
			r := &Room{ID: reply.ID, Player: p.name, Round: 1, Start: 1, Order: p.order(len(p.rooms), 1)}
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

// guess sends the round's next letter until it is acknowledged, and
// reports whether it was.
func (p *player) guess(r *Room) bool {
	g := r.next()
	a, reply, ok := p.sendGuess(p.w.ctx, KindGuess, g)
	switch {
	case !ok:
		return false
	case a.Status == http.StatusOK:
		p.checkReply(r, g, reply)
		p.mu.Lock()
		r.Acked = append(r.Acked, reply.Version)
		p.last = &ackedWrite{kind: KindGuess, guess: g, room: g.room, version: reply.Version}
		p.mu.Unlock()
		return true
	default:
		p.w.anomaly("%s: guess %q in %s round %d: %d %s", p.name, g.letter, r.ID, r.Round, a.Status, a.Body)
		p.mu.Lock()
		p.room = nil // play on in a fresh room
		p.mu.Unlock()
		return false
	}
}

// nextRound starts the room's next round, as its host, once the round is
// won, and reports whether that was acknowledged.
func (p *player) nextRound(r *Room) bool {
	a, reply, ok := p.sendNextRound(p.w.ctx, KindNextRound, r.ID, r.Round)
	switch {
	case !ok:
		return false
	case a.Status == http.StatusOK:
		want := r.Start + uint64(len(r.Order)) + 1
		if reply.Round != r.Round+1 || reply.Version != want || reply.Status != history.StatusPlaying || len(reply.Guessed) != 0 {
			p.w.anomaly("%s: next round after round %d of %s: round %d version %d %s %v, want round %d version %d playing []",
				p.name, r.Round, r.ID, reply.Round, reply.Version, reply.Status, reply.Guessed, r.Round+1, want)
		}
		p.mu.Lock()
		p.last = &ackedWrite{kind: KindNextRound, room: r.ID, round: r.Round, version: reply.Version}
		r.Earlier += len(r.Acked)
		r.Round++
		r.Start = reply.Version
		r.Acked = nil
		r.Order = p.order(slices.Index(p.rooms, r), r.Round)
		p.mu.Unlock()
		return true
	default:
		p.w.anomaly("%s: next round after round %d of %s: %d %s", p.name, r.Round, r.ID, a.Status, a.Body)
		p.mu.Lock()
		p.room = nil
		p.mu.Unlock()
		return false
	}
}

// sendGuess sends guess g with its request id until it is answered by
// something other than a transport error (after which the player moves to
// the other frontend) or a 503; ok is false if ctx or the workload ended
// first.
func (p *player) sendGuess(ctx context.Context, kind string, g guessReq) (a Attempt, reply roomReply, ok bool) {
	base := Attempt{Kind: kind, Room: g.room, Round: g.round, Letter: g.letter, Index: g.index, RequestID: g.id, Resend: kind == KindResend}
	body := map[string]any{"letter": g.letter, "request_id": g.id, "round": g.round}
	return p.send(ctx, p.token, base, "/api/rooms/"+g.room+"/guesses", body)
}

// sendNextRound asks, as the room's host, for the round after round, as
// sendGuess sends a guess. Sent again, it is answered with the room as
// that next round began.
func (p *player) sendNextRound(ctx context.Context, kind, room string, round int64) (a Attempt, reply roomReply, ok bool) {
	base := Attempt{Kind: kind, Room: room, Round: round, Resend: kind == KindResendRound}
	body := map[string]any{"round": round, "word": Pangram}
	return p.send(ctx, p.hostToken, base, "/api/rooms/"+room+"/rounds", body)
}

// send posts a write until it is answered by something other than a
// transport error or a 503; every attempt after the first is marked as
// the same request sent again.
func (p *player) send(ctx context.Context, token string, base Attempt, path string, body any) (a Attempt, reply roomReply, ok bool) {
	for n := 0; ctx.Err() == nil && p.w.ctx.Err() == nil; n++ {
		a, reply = p.doAs(token, base, http.MethodPost, path, body)
		base.Resend = true
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

// Resend sends each player's last acknowledged write again, a guess with
// its request id or a next round naming the round it ended, and checks
// that it is answered as it was the first time (the same version) rather
// than applied again or refused: the record of it, the player's session,
// must have survived every fault so far on every node. Only the last
// write is sent again: the game keeps one request per player and room,
// and a player's next round replaces its last guess's record. Call it
// while the players are parked.
func (w *Workload) Resend(ctx context.Context) error {
	for _, p := range w.players {
		p.mu.Lock()
		last := p.last
		p.mu.Unlock()
		if last == nil {
			continue
		}
		var a Attempt
		var reply roomReply
		var ok bool
		what := fmt.Sprintf("next round after round %d", last.round)
		if last.kind == KindGuess {
			what = fmt.Sprintf("guess %q", last.guess.letter)
			a, reply, ok = p.sendGuess(ctx, KindResend, last.guess)
		} else {
			a, reply, ok = p.sendNextRound(ctx, KindResendRound, last.room, last.round)
		}
		switch {
		case !ok:
			return fmt.Errorf("send %s's %s in %s again: %w", p.name, what, last.room, errors.Join(ctx.Err(), w.ctx.Err()))
		case a.Status != http.StatusOK:
			w.anomaly("%s: %s in %s sent again: %d %s, want the first answer", p.name, what, last.room, a.Status, a.Body)
		case reply.Version != last.version:
			w.anomaly("%s: %s in %s sent again: answered at version %d, acknowledged at %d", p.name, what, last.room, reply.Version, last.version)
		}
	}
	return nil
}

// Finish ends the run, with the players parked and every fault healed:
// the host of each room starts the room's next round, a write that must
// succeed, and then every room is read once more. The history's lost-write
// check compares every acknowledged write with that last read, which must
// begin after all of them returned.
func (w *Workload) Finish(ctx context.Context) (rooms int, err error) {
	errs := make([]error, len(w.players))
	var wg sync.WaitGroup
	for i, p := range w.players {
		wg.Go(func() { errs[i] = p.finishRooms(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	for i, p := range w.players {
		wg.Go(func() { errs[i] = p.readRooms(ctx) })
	}
	wg.Wait()
	for _, p := range w.players {
		p.mu.Lock()
		rooms += len(p.rooms)
		p.mu.Unlock()
	}
	return rooms, errors.Join(errs...)
}

// finishRooms starts the next round of each of the player's rooms, as
// their host, through its home frontend.
func (p *player) finishRooms(ctx context.Context) error {
	p.mu.Lock()
	rooms := slices.Clone(p.rooms)
	p.room = nil
	p.mu.Unlock()
	p.cur = p.home
	for _, r := range rooms {
		a, reply, ok := p.sendNextRound(ctx, KindNextRound, r.ID, r.Round)
		switch {
		case !ok:
			return fmt.Errorf("%s: last next round of %s: %w", p.name, r.ID, errors.Join(ctx.Err(), p.w.ctx.Err()))
		case a.Status != http.StatusOK:
			return fmt.Errorf("%s: last next round of %s (round %d): %d %s", p.name, r.ID, r.Round, a.Status, a.Body)
		case reply.Round != r.Round+1 || reply.Version <= r.Start:
			p.w.anomaly("%s: last next round of %s after round %d (from version %d): round %d version %d",
				p.name, r.ID, r.Round, r.Start, reply.Round, reply.Version)
		}
		p.mu.Lock()
		r.Earlier += len(r.Acked)
		r.Round, r.Start, r.Acked = r.Round+1, reply.Version, nil
		p.mu.Unlock()
	}
	return nil
}

// readRooms reads each of the player's rooms once more, through the other
// frontend, until a read is answered.
func (p *player) readRooms(ctx context.Context) error {
	p.mu.Lock()
	rooms := slices.Clone(p.rooms)
	p.mu.Unlock()
	p.cur = 1 - p.home
	for _, r := range rooms {
		for n := 0; ; n++ {
			if err := errors.Join(ctx.Err(), p.w.ctx.Err()); err != nil {
				return fmt.Errorf("%s: last read of %s: %w", p.name, r.ID, err)
			}
			a, reply := p.do(Attempt{Kind: KindGet, Room: r.ID}, http.MethodGet, "/api/rooms/"+r.ID, nil)
			if a.Status == http.StatusOK {
				if reply.Version != r.Start || reply.Round != r.Round {
					p.w.anomaly("%s: last read of %s: version %d round %d, want the last next round's version %d round %d",
						p.name, r.ID, reply.Version, reply.Round, r.Start, r.Round)
				}
				break
			}
			switch a.Status {
			case 0:
				p.cur = 1 - p.cur
			case http.StatusServiceUnavailable:
			default:
				return fmt.Errorf("%s: last read of %s: %d %s", p.name, r.ID, a.Status, a.Body)
			}
			p.w.wait(retryAfter(n))
		}
	}
	return nil
}

// checkReply checks an acknowledged guess's reply: the room as it stands
// right after this guess, since only this player writes to it.
func (p *player) checkReply(r *Room, g guessReq, reply roomReply) {
	i := g.index
	want := r.Start + uint64(i) + 1 // +1 per guess of the round
	switch {
	case reply.Version != want:
		p.w.anomaly("%s: guess %d (%q) of round %d in %s acknowledged at version %d, want %d", p.name, i, g.letter, r.Round, r.ID, reply.Version, want)
	case reply.Round != r.Round:
		p.w.anomaly("%s: guess %d (%q) of round %d in %s acknowledged in round %d", p.name, i, g.letter, r.Round, r.ID, reply.Round)
	case len(reply.Log) != i+1:
		p.w.anomaly("%s: guess %d (%q) in %s: reply log has %d entries, want %d", p.name, i, g.letter, r.ID, len(reply.Log), i+1)
	case reply.Log[i].Letter != g.letter || reply.Log[i].Player != p.name:
		p.w.anomaly("%s: guess %d (%q) in %s: reply log ends with %+v", p.name, i, g.letter, r.ID, reply.Log[i])
	case i == len(alphabet)-1 && reply.Status != history.StatusWon:
		p.w.anomaly("%s: last guess of round %d in %s: status %q, want won", p.name, r.Round, r.ID, reply.Status)
	}
}

// roomReply is the part of the JSON API's room the clients check and the
// history records.
type roomReply struct {
	ID      string   `json:"id"`
	Version uint64   `json:"version"`
	Round   int64    `json:"round"`
	Status  string   `json:"status"`
	Guessed []string `json:"guessed"`
	Wrong   []string `json:"wrong"`
	Log     []struct {
		Player string `json:"player"`
		Letter string `json:"letter"`
	} `json:"log"`
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

// do sends one request to the player's current frontend, as the player's
// session, and records it.
func (p *player) do(a Attempt, method, path string, body any) (Attempt, roomReply) {
	return p.doAs(p.token, a, method, path, body)
}

// doAs is do as the session of token: the player's, or its rooms' host's.
// The attempt is the player's either way: the player's goroutine sends it.
func (p *player) doAs(token string, a Attempt, method, path string, body any) (Attempt, roomReply) {
	a.Player, a.Frontend = p.name, p.cur
	return p.w.exchange(a, method, path, body, token)
}

// exchange sends one request to frontend a.Frontend, with token (if not
// empty) as its bearer token, and records it: in the Recorder while the
// workload runs, and in the history.
func (w *Workload) exchange(a Attempt, method, path string, body any, token string) (Attempt, roomReply) {
	var reply roomReply
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			panic(err) // the bodies are maps of strings and numbers
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(w.ctx, method, w.cfg.Frontends[a.Frontend]+path, rd)
	if err != nil {
		panic(err) // the URLs are built from valid parts
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	a.Sent = time.Now()
	resp, err := w.http.Do(req)
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
	if w.ctx.Err() == nil {
		w.rec.add(a)
	}
	if w.hist != nil {
		if op, ok := historyOp(a, reply); ok {
			w.hist.Add(op)
		}
	}
	return a, reply
}

// failCodes are the JSON API's error codes that refuse a request and
// change nothing (history.Fail); every other failure leaves the outcome
// unknown.
var failCodes = map[string]bool{
	"already_guessed": true, "round_over": true, "forbidden": true,
	"invalid_letter": true, "not_found": true, "bad_request": true,
}

// historyOp is what the history records of an attempt: 200 is OK; a 4xx
// with one of failCodes a refusal; a 503, any other 5xx, a transport
// error or a timeout an unknown outcome. Creations are left out (the model
// starts from the created room), and so are reads that failed: they tell
// nothing.
func historyOp(a Attempt, reply roomReply) (history.Op, bool) {
	op := history.Op{Client: a.Player, Room: a.Room, Round: a.Round, Resend: a.Resend, Call: a.Sent, Return: a.Answered}
	switch a.Kind {
	case KindGuess, KindResend:
		op.Kind, op.Player, op.Letter, op.RequestID = history.Guess, a.Player, a.Letter, a.RequestID
	case KindNextRound, KindResendRound:
		// Every room's host is its player's host session (HostName),
		// which starts its rounds; the player guesses.
		op.Kind, op.Player, op.Host = history.NextRound, HostName(a.Player), true
	case KindGet:
		op.Kind, op.Round = history.Get, 0
	default:
		return op, false
	}
	switch {
	case a.Status == http.StatusOK:
		op.Outcome = history.OK
		op.Reply = history.State{Version: reply.Version, Round: reply.Round, Status: reply.Status, Guessed: reply.Guessed}
		if op.Kind == history.Guess {
			op.Hit = !slices.Contains(reply.Wrong, strings.ToLower(a.Letter))
		}
	case a.Status >= 400 && a.Status < 500 && failCodes[a.Code]:
		op.Outcome, op.Code = history.Fail, a.Code
	default:
		op.Outcome = history.Unknown
		op.Code = fmt.Sprintf("%d %s%s", a.Status, a.Code, a.Err)
	}
	if op.Kind == history.Get && op.Outcome != history.OK {
		return op, false
	}
	return op, true
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
